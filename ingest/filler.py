"""Passages that list rather than say: tables of contents ("Алғысөз ........ 7"), a law's
opening list of its article titles, word lists and indexes ("бұғазы LOCATION"). They
share words with many questions and answer none, so search puts them after every other
match (index/search.py). Tables of figures are not lists: their lines hold numbers."""

from __future__ import annotations

import re

from .chunking import division_heading

CONTENTS_TITLES = ("Оглавление", "Содержание", "Мазмұны", "Contents", "Table of contents")
CONTENTS = re.compile(rf"^(?:{'|'.join(CONTENTS_TITLES)})$", re.I)
LEADER = re.compile(r"(?:\.{4,}|…{2,}|(?:\. ){3,}|_{4,}|\s{4,})\s*\d{1,4}\s*$")  # "... 7"
SHORT_WORDS = 2  # a word list's line: a term and its tag, without figures
MIN_LINES = 4  # fewer lines are a heading with its first words, not a list
LISTING = 0.75  # share of the text in listing lines that makes a passage a list


def lists(text: str) -> bool:
    """Whether a passage is a table of contents, a list of headings or a word list."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    if any(CONTENTS.match(line) for line in lines) and any(map(LEADER.search, lines)):
        return True  # a table of contents, however much of it OCR misread
    listing = [len(line) for line in lines if _lists(line)]
    if len(listing) == len(lines):
        return True  # titles alone, the end of a table of contents
    # by characters: a sentence's last word wrapped onto a line of its own is no list
    return len(lines) >= MIN_LINES and sum(listing) >= LISTING * sum(map(len, lines))


def _lists(line: str) -> bool:
    return division_heading(line) or bool(LEADER.search(line)) or _term(line) or line.isdigit()


def _term(line: str) -> bool:
    return len(line.split()) <= SHORT_WORDS and not any(c.isdigit() for c in line)
