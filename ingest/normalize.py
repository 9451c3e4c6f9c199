"""Text clean-up applied to every extracted page before chunking and language detection.

The cleaned text is what the catalog stores and what citations point into, so every step
here is meant to keep the words a reader sees while removing what only gets in the way of
search: invisible characters, line-break hyphenation, and Latin letters typed in place of
their Cyrillic twins (the Kazakh Constitution texts write Latin "i" for "і" and "ə" for "ә").
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile("[\ufeff\u00ad\u200b\u2060\u180e]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES = re.compile("[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_HYPHENATED = re.compile(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[a-zа-яёәғқңөұүһі])")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_WORD = re.compile(r"[^\W\d_]+")
MOJIBAKE_SHARE = 0.5

# Latin letters that look exactly like Cyrillic ones, and back.
_LATIN_TO_CYRILLIC = dict(zip("aceopxyiəhACEHKMOPTXBIƏ", "асеорхуіәһАСЕНКМОРТХВІӘ", strict=True))
_CYRILLIC_TO_LATIN = {cyr: lat for lat, cyr in _LATIN_TO_CYRILLIC.items()}


def _is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def _repair_lookalikes(word: str) -> str:
    """Rewrite a mixed-script word in the script of its unambiguous letters."""
    cyrillic = latin = False
    for char in word:
        if _is_cyrillic(char):
            cyrillic = cyrillic or char not in _CYRILLIC_TO_LATIN
        else:
            latin = latin or char not in _LATIN_TO_CYRILLIC
    if cyrillic and not latin:
        return "".join(_LATIN_TO_CYRILLIC.get(c, c) for c in word)
    if latin and not cyrillic:
        return "".join(_CYRILLIC_TO_LATIN.get(c, c) for c in word)
    return word


def repair_lookalikes(text: str) -> str:
    """Fix words that mix Latin and Cyrillic letters (e.g. "Бiз" with Latin i → "Біз")."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        mixed = any(_is_cyrillic(c) for c in word) and not all(_is_cyrillic(c) for c in word)
        return _repair_lookalikes(word) if mixed else word

    return _WORD.sub(fix, text)


def _windows_byte(char: str) -> bytes | None:
    for encoding in ("cp1252", "latin-1"):
        try:
            return char.encode(encoding)
        except UnicodeEncodeError:
            continue
    return None


def repair_mojibake(text: str) -> str:
    """Russian or Kazakh text whose cp1251 bytes were read as Latin-1/cp1252 (a broken PDF
    text layer: "ÔÅÄÅÐÀËÜÍÎÅ" for "ФЕДЕРАЛЬНОЕ") is decoded again. Only when most letters
    are in the Latin-1 range À–ÿ, which no real Latin-script text does."""
    letters = [c for c in text if c.isalpha()]
    accented = sum(1 for c in letters if "\u00c0" <= c <= "\u00ff")
    if not letters or accented / len(letters) < MOJIBAKE_SHARE:
        return text
    raw = [_windows_byte(c) for c in text]
    if any(b is None for b in raw):
        return text
    return b"".join(raw).decode("cp1251", errors="replace")


def normalize_text(text: str) -> str:
    """NFC, cp1251 mojibake re-decoded, no BOM/soft hyphens/controls, words re-joined across
    line breaks, tidy spacing."""
    text = repair_mojibake(unicodedata.normalize("NFC", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _HYPHENATED.sub("", text)
    text = repair_lookalikes(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = "\n".join(lines)
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()
