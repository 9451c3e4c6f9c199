"""A title for a document that came without one: its first line, when that line names it,
else its file name made readable.

Official texts of Kazakhstan's laws (adilet) open with editorial notes before the law:
"Вниманию пользователей!", "Примечание ИЗПИ!", "Қолданушылар назарына!", "Ескерту. …",
a table of contents. Those are skipped; the title is the first line before the first
chapter or article that reads as a name: a paragraph that starts with a capital or a
digit, has at most TITLE_WORDS words, and does not end like a sentence or a note ("Закон
Республики Казахстан от 21 мая 2013 года № 94-V. / О персональных данных и их защите" is one
paragraph, and one title).
"""

from __future__ import annotations

import re
from pathlib import PurePath

from .chunking import division_heading
from .filler import CONTENTS_TITLES

PARAGRAPHS_SEARCHED = 20
TITLE_WORDS = 25
MAX_TITLE_CHARS = 200
# Editorial notes of the official legal texts and tables of contents, in kk, ru and en.
_NOTE = re.compile(
    r"^(Вниманию пользователей|Примечание|Сноска|Қолданушылар назарына|Ескерту|ЗҚАИ|РЦПИ|ИЗПИ"
    r"|Для удобства пользования|Введен|Вводится|Порядок введения|Пресс-релиз|Баспасөз-релиз"
    rf"|{'|'.join(CONTENTS_TITLES)})",
    re.IGNORECASE,
)
_CAPITAL = re.compile(r"^[\"«“(]?[0-9A-ZА-ЯЁӘҒҚҢӨҰҮҺІ]")


def title_from_text(text: str) -> str | None:
    """The paragraph naming the document near its start, or None."""
    for paragraph in re.split(r"\n\s*\n", text.lstrip(), maxsplit=PARAGRAPHS_SEARCHED)[:-1]:
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if not lines:
            continue
        if any(division_heading(line) for line in lines):
            return None  # the body has begun
        candidate = " ".join(" ".join(lines).lstrip("#").split())
        if _looks_like_title(candidate):
            return candidate
    return None


def _looks_like_title(line: str) -> bool:
    return (
        len(line) <= MAX_TITLE_CHARS
        and 2 <= len(line.split()) <= TITLE_WORDS
        and bool(_CAPITAL.match(line))
        and not _NOTE.match(line)
        and line[-1] not in ".!:;,"
        and sum(c.isalpha() for c in line) >= 3
    )


def title_from_filename(filename: str) -> str:
    """ "law_on_personal_data_protection.txt" → "Law on personal data protection"."""
    words = PurePath(filename).stem.replace("_", " ").split()
    return " ".join(words)[:1].upper() + " ".join(words)[1:] if words else filename
