"""Kazakh↔Russian legal vocabulary, so keyword search reaches the other language's version of
a law: "тұрғын үй" finds "жилищ…", "кепілдік" finds "гарант…".

The pairs of stems were induced from the article-aligned Kazakh and Russian texts of eight
laws that no scored evaluation uses (evaluation/lexicon.py, which measures them), and are
shipped as ``lexicons/kk-ru.tsv``: one line per source stem, with its translations.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

LEXICON_FILE = Path(__file__).with_name("lexicons") / "kk-ru.tsv"


@cache
def _pairs() -> dict[tuple[str, str], dict[str, list[str]]]:
    """(source language, target language) → source stem → target stems."""
    pairs: dict[tuple[str, str], dict[str, list[str]]] = {}
    for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines():
        source, stem, target, translations = line.split("\t")
        pairs.setdefault((source, target), {})[stem] = translations.split(" ")
    return pairs


def translate(terms: list[str], source: str, target: str) -> list[str]:
    """The target language's stems for the source language's; [] for a pair it lacks."""
    table = _pairs().get((source, target), {})
    return [translation for term in terms for translation in table.get(term, ())]
