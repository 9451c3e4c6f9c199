"""Suffix-stripping stemmer for Kazakh in Cyrillic script, for BM25 keyword search.

Kazakh is agglutinative: a word is a root followed by suffixes in a fixed order, e.g.
``кітап-тар-ымыз-дан`` "from our books" or ``жаз-ыл-ма-ған`` "not written". The stemmer removes
them from the right, one grammatical slot (layer) at a time, in the reverse of that order:

1. person endings of predicates: -мын/-бын/-пын, -сың, -сыз, -мыз/-быз/-пыз, and -ды/-ты
   (past tense; after a vowel also the present tense: бара-ды, табыла-ды);
2. case: genitive -ның/-дың/-тың, accusative -ны/-ды/-ты/-н, dative -ға/-қа/-на, locative
   -да/-та/-нда, ablative -дан/-тан/-нан, instrumental -мен/-бен/-пен(ен), attributive
   -дағы/-ндағы and -ғы/-қы (негізгі, алғашқы);
3. possessive: 3rd person -сы/-ы, 1st person plural -мыз/-ымыз;
4. plural: -лар/-дар/-тар;
5. verb forms: past participle -ған/-қан, gerund -ып, verbal noun -у;
6. only after a verb ending: the -а/-й of the present tense (бара-ды), negation -ма/-ба/-па,
   passive -ыл.

Each layer removes at most one suffix, the longest that fits; then the whole pass runs again
until nothing changes, so that a word and its inflected forms get the same stem even where
the grammar is ambiguous (бірінші and біріншісі both give бірінш). Suffixes are written in
their back-vowel form (-лар); the front-vowel twin (-лер) is derived. A suffix only goes if

- the rest keeps ``MIN_STEM`` letters and a vowel, so two-letter roots (ел, үй, іс, ат) stay
  and still lose their endings (елдің → ел);
- its first consonant suits the letter before it, as Kazakh sound rules demand: -лар follows
  vowels and р/й/у, -дар follows л/м/н/ң/з/ж, -тар voiceless consonants, so орта "middle"
  keeps its "та" while кітапта loses it (measured: without this check recall drops);
- its vowel suits the last vowel of the rest (front ә е ө ү і э, back а о ұ ы я); и is
  neutral, as Russian loans take front endings after it (организмдер). This keeps the back
  -тан of Түркістан and the plural look-alike of гектар.

A б/г/ғ uncovered at the end is written п/к/қ, as Kazakh spells it when nothing follows
(кітабы → кітап, азаматтығы → азаматтық).

Not removed, by measurement on KazQAD questions (recall fell or did not rise) and for legal
meaning: derivational -лық/-дық/-тық (мемлекеттік "state", азаматтық "civil" stay apart from
мемлекет, азамат), -шы, -лы, equative -дай/-ша, 1st/2nd person singular possessives -ым/-м,
-ың/-ң (bare -м/-ң would eat roots such as адам and заң).

Known limits: there is no dictionary, so a root that ends like a suffix loses it (кесте
"table" → кес, Қазақстан → қазақс, басы "its head" → ба, as -сы after a vowel is the commoner
reading); homonyms merge (заңды "legal" and "the law" → заң); participles in -атын/-йтын keep
-ат/-йт (баратын → барат, as the same letters end nouns: мемлекетін → мемлекет); verbs are
cut to the root their verbal noun shows (оқу, оқиды → оқ); stems are index keys, not words.
"""

from __future__ import annotations

from functools import lru_cache

MIN_STEM = 2

_VOWELS = "аәеёоөұүыіэюя"  # and и, у, which end a word like the consonants й, у
_HAS_VOWEL = frozenset(_VOWELS + "иу")
# The last vowel decides harmony; и is neutral, у after a vowel is a consonant (тау).
_HARMONY = dict.fromkeys("аоұыяёю", "b") | dict.fromkeys("әеөүіэ", "f") | {"и": ""}

# Which letter may stand before a suffix: vowels, the glides and р, л (ь of loans: стиль),
# nasals, з/ж, voiceless consonants (final б в г д of Russian loans sound voiceless too).
_V = _VOWELS
_R = "йуир"
_L = "ль"
_N = "мнң"
_Z = "зж"
_K = "бвгғдкқпстфхһцчшщъ"
_VOICED = _V + _R + _L + _N + _Z
_CONSONANT = _R + _L + _N + _Z + _K
_ANY = _V + _CONSONANT
_POSSESSIVE_3 = "ыі"  # after the 3rd person possessive, cases take -н-: қаласы-нда

_TO_FRONT = str.maketrans("аоұығқ", "еөүігк")
_DEVOICE = {"б": "п", "г": "к", "ғ": "қ"}

# Each layer: (suffix in its back-vowel form, letters allowed before it). A suffix ending in
# "=" has no front twin and ignores vowel harmony (-мен "with" follows every vowel).
_PERSON = (
    ("мын", _V + _R + _L + _N), ("бын", _Z), ("пын", _K),
    ("мыз", _V + _R + _L + _N), ("быз", _Z), ("пыз", _K),
    ("сың", _ANY), ("сыз", _ANY),
    ("ды", _VOICED), ("ты", _K),
)  # fmt: skip
_CASE = (
    ("ның", _V + _N), ("дың", _R + _L + _Z), ("тың", _K),
    ("ны", _V), ("ды", _R + _L + _N + _Z), ("ты", _K), ("н=", _POSSESSIVE_3),
    ("ға", _VOICED), ("қа", _K), ("на", _POSSESSIVE_3),
    ("да", _VOICED), ("та", _K), ("нда", _POSSESSIVE_3),
    ("дан", _V + _R + _L + _Z), ("тан", _K), ("нан", _N + _POSSESSIVE_3),
    ("мен=", _V + _R + _L + _N), ("бен=", _Z), ("пен=", _K),
    ("менен=", _V + _R + _L + _N), ("бенен=", _Z), ("пенен=", _K),
    ("дағы", _VOICED), ("тағы", _K), ("ндағы", _POSSESSIVE_3),
    ("ғы", _R + _L + _N + _Z), ("қы", _K),
)  # fmt: skip
_POSSESSIVE = (("сы", _V), ("ы", _CONSONANT), ("мыз", _V), ("ымыз", _CONSONANT))
_PLURAL = (("лар", _V + _R), ("дар", _L + _N + _Z), ("тар", _K))
_VERB = (("ған", _VOICED), ("қан", _K), ("ып", _CONSONANT), ("у=", _ANY))
# Only tried after a verb ending, since nouns end in -а, -ма, -ыл too (бала, хабарлама, ауыл).
# The first layer only after the present tense -ды: it holds -ма as well, so that the past
# negative бар-ма-ды loses -ма, not just its -а.
_AFTER_VERB = (
    (("а", _CONSONANT), ("й=", "ае"), ("и=", _CONSONANT),
     ("ма", _V + _R + _L), ("ба", _N + _Z), ("па", _K)),
    (("ма", _V + _R + _L), ("ба", _N + _Z), ("па", _K)),
    (("ыл", _CONSONANT),),
)  # fmt: skip
_VERB_SIGNS = frozenset(("ған", "ген", "қан", "кен", "ып", "іп", "у"))
# -ды after a vowel, и or a negative -май is a verb (бара-ды, оқи-ды, бар-ма-й-ды, жаса-ды),
# never a case: the accusative after a vowel is -ны.
_PRESENT = ("ды", "ді")
_BEFORE_PRESENT = frozenset(_V + "и")
_NEGATIVE_PRESENT = ("май", "мей", "бай", "бей", "пай", "пей")

Table = dict[str, tuple[tuple[str, str], ...]]


def _table(entries: tuple[tuple[str, str], ...]) -> Table:
    """Index a layer by written suffix: (letters allowed before it, "b"/"f"/"" harmony)."""
    table: dict[str, list[tuple[str, str]]] = {}
    for suffix, before in entries:
        if suffix.endswith("="):
            forms = [(suffix[:-1], "")]
        else:
            forms = [(suffix, "b"), (suffix.translate(_TO_FRONT), "f")]
        for form, harmony in forms:
            table.setdefault(form, []).append((before, harmony))
    return {form: tuple(rules) for form, rules in table.items()}


_LAYERS = tuple(_table(layer) for layer in (_PERSON, _CASE, _POSSESSIVE, _PLURAL, _VERB))
_VERB_LAYERS = tuple(_table(layer) for layer in _AFTER_VERB)
_LONGEST = max(len(suffix) for table in _LAYERS + _VERB_LAYERS for suffix in table)


def _harmony(stem: str) -> str:
    """Harmony of the stem: "b" (last vowel back), "f" (front) or "" (и, or no vowel)."""
    for letter in reversed(stem):
        harmony = _HARMONY.get(letter)
        if harmony is not None:
            return harmony
    return ""


def _devoice(stem: str) -> str:
    """Write a final б/г/ғ as п/к/қ, the way the word is spelled when nothing follows."""
    return stem[:-1] + _DEVOICE[stem[-1]] if stem[-1:] in _DEVOICE else stem


def _strip(word: str, table: Table) -> str:
    """Remove the longest suffix of the table that the rest of the word allows."""
    for size in range(min(_LONGEST, len(word) - MIN_STEM), 0, -1):
        rules = table.get(word[-size:])
        if rules is None:
            continue
        stem = word[:-size]
        if _HAS_VOWEL.isdisjoint(stem):
            continue
        harmony = _harmony(stem)
        for before, suffix_harmony in rules:
            if stem[-1] in before and (not suffix_harmony or harmony in ("", suffix_harmony)):
                return _devoice(stem)
    return word


def _stem_once(word: str) -> str:
    """One pass through the layers, each removing at most one suffix."""
    first_verb_layer = len(_VERB_LAYERS)  # none, unless a verb ending is seen
    for table in _LAYERS:
        stripped = _strip(word, table)
        if stripped != word:
            ending = word[len(stripped) :]
            if ending in _PRESENT and (
                stripped[-1] in _BEFORE_PRESENT or stripped.endswith(_NEGATIVE_PRESENT)
            ):
                first_verb_layer = 0
            elif ending in _VERB_SIGNS:
                first_verb_layer = min(first_verb_layer, 1)
            word = stripped
    for table in _VERB_LAYERS[first_verb_layer:]:
        word = _strip(word, table)
    return word


@lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """The stem of one lowercase Kazakh word; never empty unless the word is.

    >>> [stem(w) for w in ("кітаптарымыздан", "қаласында", "жазылмаған", "ат")]
    ['кітап', 'қала', 'жаз', 'ат']
    """
    current = _devoice(word)
    while (stripped := _stem_once(current)) != current:
        current = stripped
    return current
