"""Words → comparable terms for keyword (BM25) search, per language.

Each word is lowercased, its look-alike Latin letters are read as Cyrillic (as at ingest),
"ё" is read as "е", stop-words are dropped and the rest is stemmed by the rules of its
language: Snowball for Russian and English (PyStemmer), ``kazakh_stemmer`` for Kazakh. The
language of a Cyrillic word is that of its passage (or query), except that a word with
Kazakh-only letters is always Kazakh; Latin words are English; numbers stay as they are.

Kazakh stems are then folded to the Russian keyboard's letters (қ→к, ә→а, і→и …), because
people often type Kazakh without its own letters ("Казакстан" for "Қазақстан").

References to an article ("ст. 49", "статьи 49", "49-бап", "Article 49", and the heading
"Статья 49" itself) also give the language-neutral term "art:49", so a question that cites
an article finds it, and the common abbreviations of Kazakhstan's codes (ГК, УК, КоАП …)
are read as the codes' names, which are in the titles of the documents.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from ingest.language import KAZAKH_LETTERS
from ingest.normalize import repair_lookalikes

from .kazakh_stemmer import stem as stem_kazakh
from .stopwords import STOPWORDS

# Bump when the terms produced for a text change: stored terms are then recomputed.
ANALYZER_VERSION = "3"

_WORD = re.compile(r"\w+")
_KAZAKH_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
_SNOWBALL = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}
_NUMBER = r"(\d+(?:-\d+)?)"
_ARTICLE_REFERENCES = re.compile(
    rf"(?:\bст\.?|\bстат(?:ья|ьи|ье|ью|ьей|ей|ьям|ьями|ьях)|\barticles?|\barts?\.?)\s*{_NUMBER}"
    rf"|{_NUMBER}-(?:бап|баб)",
    re.IGNORECASE,
)
# Codes of Kazakhstan by the abbreviations lawyers write (the names are in document titles).
_ABBREVIATIONS = {
    "гк": "гражданский кодекс",
    "гпк": "гражданский процессуальный кодекс",
    "ук": "уголовный кодекс",
    "упк": "уголовно процессуальный кодекс",
    "коап": "кодекс об административных правонарушениях",
    "аппк": "административный процедурно процессуальный кодекс",
    "тк": "трудовой кодекс",
    "зк": "земельный кодекс",
}


def _word_language(word: str, lang: str) -> str:
    if word.isdigit():
        return "number"
    if word.isascii():
        return "en"
    if lang == "kk" or not KAZAKH_LETTERS.isdisjoint(word):
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
    """The terms of ``text`` (a passage or a query in language ``lang``)."""
    text = repair_lookalikes(text).lower().replace("ё", "е")
    words = [w for word in _WORD.findall(text) for w in _ABBREVIATIONS.get(word, word).split()]
    terms = [term for word in words if (term := _term(word, lang)) is not None]
    articles = (a or b for a, b in _ARTICLE_REFERENCES.findall(text))
    return terms + [f"art:{number}" for number in articles]
