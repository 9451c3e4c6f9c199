"""Words → comparable terms for keyword (BM25) search, per language.

Each word is lowercased, its look-alike Latin letters are read as Cyrillic (as at ingest),
"ё" is read as "е", stop-words are dropped and the rest is stemmed by the rules of its
language: Snowball for Russian and English (PyStemmer), ``kazakh_stemmer`` for Kazakh. The
language of a Cyrillic word is that of its passage (or query), except that a word with
Kazakh-only letters is always Kazakh; Latin words are English; numbers stay as they are.

Kazakh stems are then folded to the Russian keyboard's letters (қ→к, ә→а, і→и …), because
people often type Kazakh without its own letters ("казак тили" for "қазақ тілі").
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from ingest.normalize import repair_lookalikes

from .kazakh_stemmer import stem as stem_kazakh
from .stopwords import STOPWORDS

# Bump when the terms produced for a text change: stored terms are then recomputed.
ANALYZER_VERSION = "1"

_WORD = re.compile(r"\w+")
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_KAZAKH_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
_SNOWBALL = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}


def _word_language(word: str, lang: str) -> str:
    if word.isdigit():
        return "number"
    if word.isascii():
        return "en"
    if lang == "kk" or not _KAZAKH_LETTERS.isdisjoint(word):
        return "kk"
    return "ru"


@lru_cache(maxsize=500_000)
def _term(word: str, lang: str) -> str | None:
    """The term for one lowercased word in a text of language ``lang`` (None: a stop-word)."""
    word_lang = _word_language(word, lang)
    if word_lang == "number":
        return word
    if word in STOPWORDS[word_lang]:
        return None
    if word_lang == "kk":
        return stem_kazakh(word).translate(_KAZAKH_FOLD)
    return _SNOWBALL[word_lang].stemWord(word)


def analyze(text: str, lang: str) -> list[str]:
    """The terms of ``text`` (a passage or a query in language ``lang``), in order."""
    words = _WORD.findall(repair_lookalikes(text).lower().replace("ё", "е"))
    return [term for word in words if (term := _term(word, lang)) is not None]
