"""Language identification for Kazakh, Russian and English text.

langdetect has no Kazakh profile (it calls Kazakh ``ru`` or ``uk``) and is unreliable on short
Russian sentences, so Cyrillic text is decided here by explainable rules instead:

1. Latin look-alikes inside Cyrillic words are read as the Cyrillic letters they imitate
   (real Kazakh text often writes Latin ``i`` for ``і``: "Бiлгiм келмейдi"); the repair is
   ``ingest.normalize.repair_lookalikes``, the same one applied to ingested text.
2. Script: Cyrillic if it has a quarter of the letters (Latin names are common inside Russian
   and Kazakh sentences), else Latin; text mostly in other scripts goes to langdetect. Latin
   text is English unless it has few English function words, is long enough, and langdetect
   is confident that it is another language (alone, it calls short English "af" or "nl").
3. In Cyrillic text each word votes ``kk`` or ``ru``: Kazakh-only letters, Kazakh function
   words and suffixes that Russian spelling never produces, against Russian function words,
   letters and endings. Ukrainian, Belarusian and Serbian letters give ``uk``/``be``/``sr``.

The word lists are common function words from grammar books, not words taken from evaluation
data. ``benchmarks/language_accuracy.py`` measures the result on real kk/ru/en sets.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from .normalize import repair_lookalikes

SUPPORTED_LANGUAGES = ("kk", "ru", "en")
UNDETERMINED = "und"

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # letters, with apostrophes inside

# Letters of the Kazakh alphabet that Russian lacks. "і" is shared with Ukrainian and
# Belarusian, which are recognised first by their own letters.
KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_OTHER_CYRILLIC = {"uk": frozenset("єїґ"), "be": frozenset("ў"), "sr": frozenset("јљњђћџ")}

# Kazakh words without Kazakh-only letters: pronouns, copulas, particles, postpositions.
_KAZAKH_WORDS = frozenset(
    "мен сен ол олар оны осы сол мына мынау ана анау бар жок емес ма ме ба бе па пе деп деген "  # noqa: SIM905
    "екен еді болды болып болса болады бола керек жатыр отыр ал егер онда сонда мында неше неге "
    "туралы".split()
)
# Spellings that Russian orthography rules out: "жы"/"шы" (Russian writes жи/ши), word-initial
# "ы", and Kazakh endings: present tense (-ады, -йды), personal endings (-мын, -быз, -сыз),
# negative present (-майды), -ып gerund, -ген participle, -мен "with", plural + case (-лардан).
_KAZAKH_SPELLING = re.compile(
    r"жы|шы|^ы|[ай]ды$|[мбп][ыі][нз]$|сыз$|[мбп][ае]й(д|м|с[ың]|т[ыі]н)|[ыі]п$|[гк]ен$|[мбп]ен$"
    r"|(лар|лер|дар|дер|тар|тер)(д|т|ым)"
)

_RUSSIAN_WORDS = frozenset(
    "и в во на я он она оно они мы вы ты что чтобы как это этот эта эти то так с со к ко по за "  # noqa: SIM905
    "из от до для у о об но а же ли бы был была было были есть мой моя мои твой его её ее их "
    "меня мне тебя тебе него нее неё ему им нас нам вас вам кто где когда почему зачем который "
    "которая которое которые очень уже ещё еще все всё весь вся только если или при про над под "
    "без через между здесь там тут сейчас можно нужно надо нет сколько какой какая какие "
    "чем".split()
)
# Letters that Kazakh uses only inside Russian loanwords (ё ъ щ ь, so also the infinitive -ть)
# and frequent Russian inflections: reflexive -ся, adjective, pronoun and verb endings.
_RUSSIAN_SPELLING = re.compile(r"[ёъщь]|ся$|(ого|его|ому|ему|ый|ий|ое|ые|ую|ая|ие|ют|ят)$")

# Frequent English words that are mostly rare in other Latin-script languages (so not "a",
# "in", "die", "was", "no"), including the contractions of everyday English.
_ENGLISH_WORDS = frozenset(
    "the of and to you that it he she they we i me my your his her its our their them him for "  # noqa: SIM905
    "on with as at by from about into this these those what which who whom when where why how "
    "is are were be been have has had do does did not but or if will would can could should "
    "than then there some all an i'm it's don't doesn't didn't can't won't i'll i've you're "
    "let's that's isn't aren't".split()
)


def detect_language(text: str) -> str:
    """Return "kk", "ru", "en", another ISO 639-1 code, or "und" when there are no letters.

    >>> detect_language("Бiлгiм келмейдi.")
    'kk'
    >>> detect_language("Что такое Engineering News-Record?")
    'ru'
    >>> detect_language("2024-01-01")
    'und'
    """
    words = _WORD.findall(repair_lookalikes(unicodedata.normalize("NFC", text)))
    by_script: dict[str, list[str]] = {"cyrillic": [], "latin": [], "other": []}
    for word in words:
        by_script[_script(word[0])].append(word)
    letters = {script: sum(map(len, ws)) for script, ws in by_script.items()}
    if not any(letters.values()):
        return UNDETERMINED
    # Latin names and terms are common inside Russian and Kazakh sentences ("Что такое
    # Engineering News-Record?"), so a quarter of the letters is enough for Cyrillic.
    if letters["cyrillic"] * 3 >= letters["latin"] and letters["cyrillic"] >= letters["other"]:
        return _cyrillic_language([w.lower() for w in by_script["cyrillic"]])
    if letters["latin"] >= letters["other"]:
        return _latin_language(text, [w.lower() for w in by_script["latin"]])
    return _langdetect(text, min_probability=0.0) or UNDETERMINED


@cache
def _script(char: str) -> str:
    """The char's script as named by Unicode: "cyrillic", "latin" or "other"."""
    name = unicodedata.name(char, "")
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    return "latin" if name.startswith("LATIN") else "other"


def _cyrillic_language(words: list[str]) -> str:
    """Kazakh against Russian word votes; a tie (no evidence either way) goes to Russian."""
    letters = set("".join(words))
    if not letters & KAZAKH_LETTERS.difference("і"):
        # Ukrainian, Belarusian and Serbian letters, unless they are a stray word or two
        # (a typo, a mis-decoded name) in a long text.
        for code, marks in _OTHER_CYRILLIC.items():
            if 20 * sum(bool(marks.intersection(w)) for w in words) >= len(words):
                return code
    kazakh, russian = _votes(words)
    return "kk" if kazakh > russian else "ru"


def _votes(words: list[str]) -> tuple[int, int]:
    """Words that only Kazakh spells so, and words that only Russian does."""
    kazakh = russian = 0
    for word in words:
        # Kazakh suffixes on a Russian loan ("Шаньның") make a Kazakh word, never the reverse.
        if (
            KAZAKH_LETTERS.intersection(word)
            or word in _KAZAKH_WORDS
            or _KAZAKH_SPELLING.search(word)
        ):
            kazakh += 1
        elif word in _RUSSIAN_WORDS or _RUSSIAN_SPELLING.search(word):
            russian += 1
    return kazakh, russian


def undecided(text: str) -> bool:
    """Cyrillic text in which no word is Kazakh or Russian by its spelling ("кандастар",
    "миграция"): ``detect_language`` calls it Russian, but it may be either. Search then
    asks the collection's own vocabulary (index/search.py)."""
    words = [
        w.lower() for w in _WORD.findall(repair_lookalikes(unicodedata.normalize("NFC", text)))
    ]
    if not words or detect_language(text) != "ru":
        return False
    return _votes([w for w in words if _script(w[0]) == "cyrillic"]) == (0, 0)


def _latin_language(text: str, words: list[str]) -> str:
    """English unless it has few English function words, is long enough, and langdetect is sure."""
    english = sum(word.replace("’", "'") in _ENGLISH_WORDS for word in words)
    if 5 * english >= len(words) or sum(map(len, words)) < 30:
        return "en"
    return _langdetect(text, min_probability=0.9) or "en"


def _langdetect(text: str, min_probability: float) -> str | None:
    """langdetect's best guess (seeded, so deterministic) if its probability is high enough."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _langdetect_factory().create()
    detector.append(text)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return None
    if best.prob < min_probability:
        return None
    return best.lang.split("-")[0]


@cache
def _langdetect_factory():
    """Load langdetect's profiles once, into a private factory with a fixed seed."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = 0
    return factory
