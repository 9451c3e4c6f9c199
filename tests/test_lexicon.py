"""The Kazakh↔Russian lexicon that lets keyword search cross between the two versions of a
law (index/lexicon.py), and how it is induced from aligned articles (evaluation/lexicon.py)."""

from __future__ import annotations

from evaluation.lexicon import induce
from index.analysis import analyze
from index.lexicon import LEXICON_FILE, translate


def test_kazakh_legal_words_translate_into_russian_stems_and_back():
    assert "гражда" in translate(analyze("азамат", "kk"), "kk", "ru")  # citizen
    assert "шарт" in translate(analyze("договор", "ru"), "ru", "kk")  # contract
    assert "сот" in translate(analyze("суд", "ru"), "ru", "kk")  # court


def test_a_language_pair_without_a_lexicon_translates_to_nothing():
    assert translate(analyze("азамат", "kk"), "kk", "en") == []
    assert translate(["no-such-stem"], "kk", "ru") == []


def test_the_shipped_file_has_both_directions_and_four_fields_per_line():
    lines = LEXICON_FILE.read_text(encoding="utf-8").splitlines()
    assert all(len(line.split("\t")) == 4 for line in lines)
    assert {tuple(line.split("\t")[::2]) for line in lines} == {("kk", "ru"), ("ru", "kk")}


def test_words_that_occur_in_the_same_aligned_articles_are_paired():
    articles = [
        {"kk": "Жер учаскесі беріледі.", "ru": "Земельный участок предоставляется."},
        {"kk": "Жер салығы төленеді.", "ru": "Земельный налог уплачивается."},
        {"kk": "Банк лицензиясы беріледі.", "ru": "Лицензия банка выдаётся."},
        {"kk": "Банк шоты ашылады.", "ru": "Счёт банка открывается."},
    ]
    lexicon = induce(articles, "kk", "ru", min_count=2, min_dice=0.5, per_term=1)
    assert lexicon[analyze("жер", "kk")[0]] == analyze("земельный", "ru")
    assert lexicon[analyze("банк", "kk")[0]] == analyze("банка", "ru")
