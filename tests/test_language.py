"""How ``detect_language`` labels Kazakh, Russian, English and other text.

The last test measures accuracy on real evaluation sets with ``benchmarks/language_accuracy.py``.
"""

import pytest

from benchmarks.language_accuracy import REQUIRED_ACCURACY, corpora_dir, evaluate, load_sets
from ingest.language import SUPPORTED_LANGUAGES, UNDETERMINED, detect_language


def test_supported_languages():
    assert SUPPORTED_LANGUAGES == ("kk", "ru", "en")


@pytest.mark.parametrize(
    "text",
    [
        "Қазақстан Республикасының Конституциясы",
        "Біз ертең Алматыға барамыз.",
        "Сен барасың ба?",
    ],
)
def test_kazakh_with_kazakh_letters(text):
    assert detect_language(text) == "kk"


@pytest.mark.parametrize(
    "text",
    [
        "Мен мектепке барамын.",  # pronoun "мен", 1st person ending -мын
        "Ол келе жатыр.",  # pronoun "ол", auxiliary "жатыр"
        "Бала ойнап жатыр.",  # -ып/-ап gerund
        "Бул жаман емес.",  # copula "емес" ("бұл" typed without ұ)
    ],
)
def test_kazakh_without_kazakh_only_letters(text):
    assert detect_language(text) == "kk"


@pytest.mark.parametrize(
    "text",
    [
        "Бiлгiм келмейдi.",  # Latin i (U+0069) for Kazakh і (U+0456)
        "Сiз кiмсiз?",  # only the Latin i's tell it from Russian
        "Мeн кaзaкпын.",  # Latin e and a
    ],
)
def test_kazakh_typed_with_latin_lookalikes(text):
    assert detect_language(text) == "kk"


@pytest.mark.parametrize(
    "text",
    [
        "Я не знаю, где он живёт.",
        "Трудовой кодекс Республики Казахстан",
        "Где находится Алматы?",
        "Привет!",  # no evidence either way: Russian
    ],
)
def test_russian(text):
    assert detect_language(text) == "ru"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Что такое Engineering News-Record?", "ru"),
        ("Как установить Windows 11?", "ru"),
        ("Ол Python-ды жақсы біледі.", "kk"),
        ("Python бағдарламалау тілі туралы кітап", "kk"),
    ],
)
def test_latin_names_inside_cyrillic_text(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Where is the migration law?",
        "The Constitution of the Republic of Kazakhstan",
        "Hello",
        # langdetect alone calls these Swedish and Afrikaans
        "Tom almost never gets sick.",
        "Sugar is soluble in water.",
    ],
)
def test_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Der Vertrag wird zwischen den beiden Parteien schriftlich geschlossen.", "de"),
        ("Le gouvernement a présenté hier un nouveau projet de loi sur l'immigration.", "fr"),
        ("Я живу в Києві і працюю вчителем.", "uk"),
        ("Беларусь — гэта краіна ў Еўропе.", "be"),
        ("Η Ελλάδα είναι μια χώρα στη νότια Ευρώπη.", "el"),
        ("这是一个用于语言识别的测试句子。", "zh"),
    ],
)
def test_other_languages_when_clear(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "2024-01-01", "123 456", "— ?!", "😀"])
def test_no_letters_is_undetermined(text):
    assert detect_language(text) == UNDETERMINED == "und"


def test_deterministic():
    text = "Le gouvernement a présenté hier un nouveau projet de loi sur l'immigration."
    assert {detect_language(text) for _ in range(5)} == {"fr"}


def test_accuracy_on_real_evaluation_sets():
    corpora = corpora_dir()
    if corpora is None:
        pytest.skip("../shared/corpora not found (set KOSHQON_CORPORA to its path)")
    sets = load_sets(corpora)
    sizes = {s.name: len(s.texts) for s in sets}
    assert sizes["KazQAD questions"] == 764
    assert sizes["XQuAD ru questions"] == sizes["XQuAD en questions"] == 1190
    assert sizes["Tatoeba kaz-eng kaz"] == 575 and sizes["Tatoeba rus-eng rus"] == 1000
    results = [evaluate(eval_set) for eval_set in sets]
    below = {
        r.eval_set.name: (round(r.accuracy, 4), r.errors[:3])
        for r in results
        if r.accuracy < REQUIRED_ACCURACY
    }
    assert not below
