"""How ``index.kazakh_stemmer.stem`` reduces Kazakh words, and what the stop-word lists hold.

The rules, their order and the measurements behind them are described in the module docstring.
"""

import pytest

from index.kazakh_stemmer import stem
from index.stopwords import STOPWORDS

# Inflected forms of one word, with the stem they all share.
SAME_WORD = [
    ("заң", ["заң", "заңы", "заңның", "заңдар", "заңдарының", "заңға", "заңда", "заңнан"]),
    ("мемлекет", ["мемлекет", "мемлекеттің", "мемлекеттері", "мемлекетке", "мемлекеттен"]),
    ("азамат", ["азамат", "азаматтар", "азаматтардың", "азаматқа", "азаматы"]),
    ("азаматтық", ["азаматтық", "азаматтығы", "азаматтықтың"]),  # "civil", "citizenship"
    ("кітап", ["кітап", "кітаптарымыздан", "кітабы", "кітапта", "кітаптың"]),
    ("бала", ["бала", "балалар", "балаларға", "баласы", "баланың"]),
    ("қала", ["қала", "қаласында", "қалада", "қаланың", "қалалардағы"]),
    ("ел", ["ел", "елдің", "елде", "елдер", "елімізде"]),
    ("үй", ["үй", "үйде", "үйлер", "үйдің"]),
    ("негіз", ["негіз", "негізі", "негізінде", "негізгі"]),  # -гі "main"
    ("бар", ["бару", "барады", "барды", "бармады", "бармайды", "барған", "барып"]),
    ("жаз", ["жазу", "жазуы", "жазды", "жазылмаған", "жазылған"]),
    ("бер", ["беру", "береді", "берілген", "берілмейді"]),
    ("организм", ["организм", "организмдер", "организмнің"]),  # и takes front endings
]


@pytest.mark.parametrize(("expected", "forms"), SAME_WORD, ids=[g[0] for g in SAME_WORD])
def test_inflected_forms_share_a_stem(expected, forms):
    assert {form: stem(form) for form in forms} == dict.fromkeys(forms, expected)


# -лық/-дық/-тық make new words ("state", "civil"), so they are kept, not removed.
@pytest.mark.parametrize(
    ("derived", "base"),
    [("мемлекеттік", "мемлекет"), ("азаматтық", "азамат"), ("қылмыстық", "қылмыс")],
)
def test_derivational_suffixes_make_a_different_stem(derived, base):
    assert stem(derived) == derived
    assert stem(derived) != stem(base)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ана", "ара"),  # "mother" vs "bee": -на is a dative only after -сы/-ы
        ("ат", "ал"),
        ("орта", "ор"),  # -та follows voiceless consonants only, so "middle" keeps it
        ("жаз", "жас"),
        ("адам", "ада"),  # a bare -м is not read as "my"
    ],
)
def test_different_words_keep_different_stems(first, second):
    assert stem(first) != stem(second)


@pytest.mark.parametrize("root", ["ат", "ал", "бер", "ел", "үй", "су", "іс", "ой", "заң", "орта"])
def test_short_roots_are_left_whole(root):
    assert stem(root) == root


@pytest.mark.parametrize(
    "word",
    ["түркістан", "гектар"],  # back -тан, -тар cannot follow the front "і", "е"
)
def test_vowel_harmony_protects_look_alikes(word):
    assert stem(word) == word


@pytest.mark.parametrize(
    ("word", "expected"),
    [("кітабы", "кітап"), ("азаматтығы", "азаматтық"), ("жүрегі", "жүрек")],
)
def test_voiced_consonant_left_at_the_end_is_spelled_voiceless(word, expected):
    assert stem(word) == expected


SAMPLE = [
    "", "а", "у", "да", "ны", "лар", "ға", "мен", "ыңыз", "ма", "еді", "ата", "тау",
    "кітаптарымыздан", "жазылмаған", "бармайды", "2020", "law", "1990жылы",
]  # fmt: skip


@pytest.mark.parametrize("word", SAMPLE)
def test_stem_is_a_non_empty_beginning_of_the_word(word):
    result = stem(word)
    assert result or not word
    # the stem is the word's beginning, apart from a last б/г/ғ written п/к/қ
    assert word.startswith(result[:-1])


@pytest.mark.parametrize("word", SAMPLE + [f for _, forms in SAME_WORD for f in forms])
def test_stemming_a_stem_changes_nothing(word):
    assert stem(stem(word)) == stem(word)


@pytest.mark.parametrize("word", ["2020", "law", "court"])
def test_words_without_kazakh_endings_come_back_unchanged(word):
    assert stem(word) == word


def test_stop_word_languages():
    assert set(STOPWORDS) == {"kk", "ru", "en"}


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("kk", ["және", "мен", "бұл", "осы", "ол", "үшін", "туралы", "бойынша", "қандай", "еді"]),
        ("ru", ["и", "в", "что", "это", "который", "также", "еще", "ее", "все"]),
        ("en", ["the", "of", "and", "is", "which", "what", "don"]),
    ],
)
def test_stop_words_hold_function_words(lang, words):
    assert set(words) <= STOPWORDS[lang]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("kk", ["заң", "құқық", "мемлекет", "азамат", "сот", "жыл", "бала", "екі"]),
        ("ru", ["закон", "право", "суд", "гражданин", "нельзя", "два", "год"]),
        ("en", ["law", "right", "court", "citizen", "state", "two"]),
    ],
)
def test_stop_words_leave_out_content_words(lang, words):
    assert not set(words) & STOPWORDS[lang]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_stop_words_are_lowercase_and_written_with_e_not_yo(lang):
    assert all(word == word.lower() and "ё" not in word for word in STOPWORDS[lang])
