"""The evaluation tasks, read from ../shared/corpora: corpora of passages and questions whose
relevant passages are known.

Each task yields settings (a question language against a corpus). A passage's ``unit`` is
what relevance refers to: a whole passage for most tasks, an article of a law for legalrag,
where the laws are ingested as whole files and the article is read from the hit's heading.
Every question falls, by a hash of its id, into a fixed development half (for tuning) or a
test half (reported); translations of one question share an id and so a half.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import legalrag


@dataclass(frozen=True)
class Passage:
    unit: str
    text: str
    title: str
    lang: str = ""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    relevant: frozenset[str]
    # (unit, text): a hit whose passage contains the text counts for that unit too (a
    # chunk of an article that its heading does not name)
    anchors: tuple[tuple[str, str], ...] = ()
    fixed_half: str | None = None  # a set not to be split (legal-dev: all reported)

    @property
    def half(self) -> str:
        if self.fixed_half:
            return self.fixed_half
        return "dev" if int(hashlib.sha1(self.id.encode()).hexdigest(), 16) % 2 == 0 else "test"


@dataclass(frozen=True)
class Setting:
    task: str
    name: str
    corpus: str  # settings with the same corpus name share one index
    passages: tuple[Passage, ...]
    questions: tuple[Question, ...]
    article_units: bool = False  # units are "file#article", read from hit headings
    any_relevant: bool = False  # a question is answered by any of its relevant units
    notes: tuple[str, ...] = field(default=())
    question_lang: str | None = None  # set where the reader metrics are measured


def _gzip_json(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f) if path.name.endswith(".json.gz") else [json.loads(x) for x in f]


def _sample(items: list, size: int | None, seed: str) -> list:
    if size is None or len(items) <= size:
        return items
    return random.Random(seed).sample(items, size)


# --- XQuAD: 240 paragraphs, 1,190 questions, the same in English and Russian ----------------
def xquad_data(corpora: Path):
    """Per language, the paragraphs as passages and the questions as (id, text, paragraph,
    answer); and each paragraph's article."""
    folder = corpora / "eval" / "xquad"
    passages: dict[str, list[Passage]] = {}
    questions: dict[str, list[tuple[str, str, str, str]]] = {}
    article_of: dict[str, str] = {}
    for lang in ("en", "ru"):
        passages[lang], questions[lang] = [], []
        for a, article in enumerate(_gzip_json(folder / f"xquad.{lang}.json.gz")["data"]):
            for p, paragraph in enumerate(article["paragraphs"]):
                pid = f"{a}-{p}"
                article_of[pid] = str(a)
                title = article["title"].replace("_", " ")
                unit = f"xquad-{lang}-{pid}"
                passages[lang].append(Passage(unit, paragraph["context"], title, lang))
                for qa in paragraph["qas"]:
                    answer = qa["answers"][0]["text"]
                    questions[lang].append((qa["id"], qa["question"].strip(), pid, answer))
    return passages, questions, article_of


def xquad(corpora: Path, quick: bool) -> list[Setting]:
    passages, questions, article_of = xquad_data(corpora)

    def ask(q_lang: str, corpus_langs: tuple[str, ...], keep=lambda pid: True) -> tuple:
        chosen = [q for q in questions[q_lang] if keep(q[2])]
        return tuple(
            Question(qid, text, frozenset(f"xquad-{lang}-{pid}" for lang in corpus_langs))
            for qid, text, pid, _ in _sample(chosen, 300 if quick else None, f"xquad-{q_lang}")
        )

    # Distractor setting: the Russian version of half the articles, the English version of
    # the other half; English questions about the first half must cross languages.
    in_russian = {a for a in set(article_of.values()) if int(a) % 2 == 0}
    distractors = tuple(
        p
        for lang in ("en", "ru")
        for p in passages[lang]
        if (article_of[p.unit.split("-", 2)[2]] in in_russian) == (lang == "ru")
    )
    en, ru = tuple(passages["en"]), tuple(passages["ru"])
    return [
        Setting("xquad", "en→en", "xquad en", en, ask("en", ("en",))),
        Setting("xquad", "ru→ru", "xquad ru", ru, ask("ru", ("ru",))),
        Setting("xquad", "en→ru", "xquad ru", ru, ask("en", ("ru",))),
        Setting("xquad", "ru→en", "xquad en", en, ask("ru", ("en",))),
        Setting(
            "xquad",
            "ru→mixed",
            "xquad en+ru",
            en + ru,
            ask("ru", ("en", "ru")),
            notes=("both language versions of the paragraph are relevant",),
            question_lang="ru",
        ),
        Setting(
            "xquad", "en→mixed", "xquad en+ru", en + ru, ask("en", ("en", "ru")), question_lang="en"
        ),
        Setting(
            "xquad",
            "en→ru among en",
            "xquad ru|en split",
            distractors,
            ask("en", ("ru",), keep=lambda pid: article_of[pid] in in_russian),
            notes=("half the articles in Russian, the other half in English as distractors",),
        ),
        # No filler: the answer is only in the question's language, the other language
        # holds other articles; its passages in the top 10 are filler.
        Setting(
            "xquad",
            "en→en among ru",
            "xquad ru|en split",
            distractors,
            ask("en", ("en",), keep=lambda pid: article_of[pid] not in in_russian),
            notes=("the English half of the split corpus: Russian passages are unrelated",),
            question_lang="en",
        ),
        Setting(
            "xquad",
            "ru→ru among en",
            "xquad ru|en split",
            distractors,
            ask("ru", ("ru",), keep=lambda pid: article_of[pid] in in_russian),
            question_lang="ru",
        ),
    ]


# --- KazQAD: Kazakh questions against the distinct passages of its validation set ----------
def kazqad_data(corpora: Path) -> tuple[list[dict], dict[str, Passage]]:
    """The validation rows, and each distinct context as a passage."""
    path = corpora / "eval/kazqad/data/reading-comprehension"
    rows = _gzip_json(path / "kazqad-reading-comprehension-v1.0-kk-validation.jsonl.gz")
    units: dict[str, Passage] = {}
    for row in rows:
        if row["context"] not in units:
            unit = f"kazqad-{len(units)}"
            units[row["context"]] = Passage(unit, row["context"], row["title"], "kk")
    return rows, units


def kazqad(corpora: Path, quick: bool) -> list[Setting]:
    rows, units = kazqad_data(corpora)
    questions = tuple(
        Question(row["id"], row["question"].strip(), frozenset({units[row["context"]].unit}))
        for row in _sample(rows, 300 if quick else None, "kazqad")
    )
    xquad_passages = xquad_data(corpora)[0]
    others = tuple(xquad_passages["en"] + xquad_passages["ru"])
    return [
        Setting("kazqad", "kk→kk", "kazqad", tuple(units.values()), questions),
        Setting(
            "kazqad",
            "kk→kk among en+ru",
            "kazqad + xquad en+ru",
            tuple(units.values()) + others,
            questions,
            notes=("the 480 XQuAD paragraphs in English and Russian as unrelated passages",),
            question_lang="kk",
        ),
    ]


# Laws whose aligned articles train the domain adapter (evaluation/adaptation.py): no scored
# setting holds their articles, pairs or questions. Few legalrag questions cite them.
TRAINING_LAWS = frozenset(
    {
        "law_on_advertising",  # in fact the Law "On the Securities Market"
        "law_on_citizen_bankruptcy",
        "law_on_credit_bureaus",
        "law_on_currency_regulation",
        "law_on_legal_entities_registration",
        "law_on_microfinance",
        "law_on_rehabilitation_bankruptcy",
        "law_on_road_traffic",
    }
)


ARTICLE_PAIRS = "eval/derived/kz_laws_ru_kk_article_pairs.jsonl.gz"


def article_pairs(corpora: Path) -> tuple[list[dict], list[dict]]:
    """The aligned ru/kk article pairs: (those of the training laws, those of the others)."""
    pairs = _gzip_json(corpora / ARTICLE_PAIRS)
    return (
        [p for p in pairs if p["law"] in TRAINING_LAWS],
        [p for p in pairs if p["law"] not in TRAINING_LAWS],
    )


# --- law-titles: an article's title in one language against the articles in the other -------
_FRAGMENT = re.compile(r"^[^А-ЯЁӘҒҚҢӨҰҮҺІA-Z0-9]")


def _body(article: str) -> str:
    """The article without its heading line ("Статья 5. …" / "5-бап. …")."""
    return article.split("\n", 1)[1].strip() if "\n" in article else ""


def _usable(pair: dict) -> bool:
    """Empty titles, titles caught from cross-references (they start in lower case) and
    articles without a body (deletion notices) are not a fair test."""
    titles_ok = all(
        len(pair[t].strip()) >= 3 and not _FRAGMENT.match(pair[t].strip())
        for t in ("ru_title", "kk_title")
    )
    return titles_ok and all(len(_body(pair[lang])) >= 40 for lang in ("ru", "kk"))


def law_titles(corpora: Path, quick: bool) -> list[Setting]:
    training, held_out = article_pairs(corpora)
    pairs = training + held_out
    usable = [p for p in held_out if _usable(p)]
    note = (
        f"{len(pairs) - len(held_out)} pairs of the adapter's training laws left out; "
        f"{len(held_out) - len(usable)} of {len(held_out)} others excluded (empty or fragment "
        "titles, no article body)"
    )
    usable = _sample(usable, 300 if quick else None, "law-titles")

    def article(p: dict, lang: str) -> Passage:
        name = p["law"].replace("_", " ")
        return Passage(f"law-{lang}-{p['law']}-{p['article']}", _body(p[lang]), name, lang)

    def title(p: dict, lang: str, *targets: str) -> Question:
        relevant = frozenset(f"law-{target}-{p['law']}-{p['article']}" for target in targets)
        return Question(f"{p['law']}-{p['article']}", p[f"{lang}_title"].strip(), relevant)

    # Distractor setting: the Russian articles of half the laws, the Kazakh articles of the
    # others; Kazakh titles of the first half must cross into Russian.
    laws = sorted({p["law"] for p in usable})
    in_russian = set(laws[::2])
    settings = [
        Setting(
            "law-titles",
            f"{q_lang}→{c_lang}",
            f"law articles {c_lang}",
            tuple(article(p, c_lang) for p in usable),
            tuple(title(p, q_lang, c_lang) for p in usable),
            notes=(note,),
        )
        for q_lang, c_lang in (("kk", "ru"), ("ru", "kk"))
    ]
    settings.append(
        Setting(
            "law-titles",
            "kk→ru among kk",
            "law articles ru|kk split",
            tuple(article(p, "ru" if p["law"] in in_russian else "kk") for p in usable),
            tuple(title(p, "kk", "ru") for p in usable if p["law"] in in_russian),
            notes=("the Russian articles of half the laws, the Kazakh ones of the others",),
        )
    )
    both = tuple(article(p, lang) for p in usable for lang in ("kk", "ru"))
    for q_lang, other in (("kk", "ru"), ("ru", "kk")):
        settings.append(  # own language first: both versions indexed, both relevant
            Setting(
                "law-titles",
                f"{q_lang}→kk+ru",
                "law articles kk+ru",
                both,
                tuple(title(p, q_lang, "kk", "ru") for p in usable),
                notes=("both language versions of every article indexed and relevant",),
                question_lang=q_lang,
            )
        )
        settings.append(  # no filler: the other language holds only other laws
            Setting(
                "law-titles",
                f"{q_lang}→{q_lang} among {other}",
                "law articles ru|kk split",
                tuple(article(p, "ru" if p["law"] in in_russian else "kk") for p in usable),
                tuple(
                    title(p, q_lang, q_lang)
                    for p in usable
                    if (p["law"] in in_russian) == (q_lang == "ru")
                ),
                question_lang=q_lang,
            )
        )
    return settings


# --- Tatoeba: sentence matching against the English sentences -------------------------------
def tatoeba(corpora: Path, quick: bool) -> list[Setting]:
    folder = corpora / "eval/tatoeba_laser"
    settings = []
    for code, lang in (("kaz", "kk"), ("rus", "ru")):
        english = (folder / f"tatoeba.{code}-eng.eng").read_text("utf-8").splitlines()
        other = (folder / f"tatoeba.{code}-eng.{code}").read_text("utf-8").splitlines()
        passages = tuple(
            Passage(f"tatoeba-{code}-{i}", s.strip(), "Tatoeba") for i, s in enumerate(english)
        )
        questions = tuple(
            Question(f"{code}-{i}", s.strip(), frozenset({f"tatoeba-{code}-{i}"}))
            for i, s in enumerate(other)
        )
        settings.append(
            Setting("tatoeba", f"{lang}→en", f"tatoeba {code}-eng en", passages, questions)
        )
    return settings


QUICK_LAW_BYTES = 400_000  # the laws of the quick legalrag sample


# --- legalrag: real legal questions, answered by articles of the Russian law texts ----------
def legal_questions(corpora: Path, quick: bool) -> list[Setting]:
    questions, report = legalrag.load_questions(corpora)
    kept = [q for q in questions if not {s for s, _ in q.gold} & TRAINING_LAWS]
    notes = (*report.summary(), f"{len(questions) - len(kept)} citing training laws left out")
    questions = kept
    files = [f for f in legalrag.law_files(corpora) if f.stem not in TRAINING_LAWS]
    if quick:  # the smaller laws only, and the questions answered entirely by them
        files = [f for f in files if f.stat().st_size <= QUICK_LAW_BYTES]
        stems = {f.stem for f in files}
        questions = [q for q in questions if {s for s, _ in q.gold} <= stems]
        questions = _sample(questions, 150, "legalrag")
    passages = tuple(Passage(f.stem, f.read_text("utf-8"), legalrag.law_title(f)) for f in files)
    return [
        Setting(
            "legalrag",
            "ru→ru",
            "legalrag laws",
            passages,
            tuple(
                Question(q.id, q.text, frozenset(f"{s}#{a}" for s, a in q.gold)) for q in questions
            ),
            article_units=True,
            notes=notes,
        )
    ]


# --- legal-dev: 60 checked kk/ru/en questions over nine law files and two distractors ------
LEGAL_DEV = "eval/legal-dev"


def legal_dev(corpora: Path, quick: bool) -> list[Setting]:
    """The questions of eval/legal-dev against its eleven files, ingested whole; a hit
    counts for a gold article when it comes from that file and its heading names the
    article or its text holds the gold's verbatim passage (the set's README). Every
    question is reported (it is a development set: never tuned on alone)."""
    folder = corpora / LEGAL_DEV
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines()]
    files = sorted({gold["file"] for row in rows for gold in row["gold"]})
    files += [f for f in LEGAL_DEV_DISTRACTORS if f not in files]
    passages = tuple(
        Passage(Path(f).stem, (corpora / f).read_text("utf-8"), Path(f).stem.replace("_", " "))
        for f in files
    )

    def question(row: dict) -> Question:
        units = [(f"{Path(g['file']).stem}#{g['article']}", g["must_contain"]) for g in row["gold"]]
        return Question(
            row["id"],
            row["question"],
            frozenset(unit for unit, _ in units),
            anchors=tuple(units),
            fixed_half="test",
        )

    def setting(name: str, chosen: list[dict], lang: str | None = None) -> Setting:
        return Setting(
            "legal-dev",
            name,
            "legal-dev",
            passages,
            tuple(question(row) for row in chosen),
            article_units=True,
            any_relevant=True,
            notes=("the English Constitution (two texts) is the only English: a distractor",),
            question_lang=lang,
        )

    by_lang = {lang: [r for r in rows if r["lang"] == lang] for lang in ("en", "kk", "ru")}
    return [
        setting("all", rows),
        setting("cross-lingual", [r for r in rows if r["cross_lingual"]]),
        *(setting(f"{lang}→", chosen, lang) for lang, chosen in by_lang.items()),
    ]


# --- legal-refs: questions that cite an article by number and code, in the usual forms ------
# per law file: how a reader cites its article N, in Russian, Kazakh and English
CITED_AS = {
    "code_of_administrative_offenses": (
        "статья {n} КоАП", "ст. {n} КоАП РК",
        "что говорит статья {n} Кодекса об административных правонарушениях",
        "Әкімшілік құқық бұзушылық туралы кодекстің {n}-бабы",
        "Article {n} of the Code of Administrative Offences",
        "art. {n} administrative offenses code",
    ),
    "criminal_code": (
        "ст. {n} УК РК", "статья {n} Уголовного кодекса", "Қылмыстық кодекстің {n}-бабы",
        "Қылмыстық кодекс, {n}-бап", "Article {n} of the Criminal Code",
    ),
    "labor_code": (
        "ст. {n} ТК РК", "статья {n} Трудового кодекса", "Еңбек кодексінің {n}-бабы",
        "Article {n} of the Labour Code", "Labor Code art {n}",
    ),
    "code_on_marriage_and_family": (
        "статья {n} Кодекса о браке и семье", "ст. {n} КоБС",
        "Неке және отбасы туралы кодекстің {n}-бабы",
        "Article {n} of the Code on Marriage and Family",
    ),
    "law_on_military_service": (
        "статья {n} Закона о воинской службе", "Әскери қызмет туралы заңның {n}-бабы",
        "Article {n} of the Law on Military Service",
    ),
    "law_on_personal_data_protection": (
        "статья {n} Закона о персональных данных", "Дербес деректер туралы заңның {n}-бабы",
        "Article {n} of the Law on Personal Data",
    ),
    "law_on_consumer_protection": (
        "ст. {n} Закона о защите прав потребителей",
        "Тұтынушылардың құқықтарын қорғау туралы заңның {n}-бабы",
        "Article {n} of the Law on Consumer Protection",
    ),
}  # fmt: skip
REFERENCES_PER_LAW = 48
_HEADING = re.compile(r"^\s*(?:Статья (\d+(?:-\d+)*)\.|(\d+(?:-\d+)*)-бап\.)", re.MULTILINE)


def legal_refs(corpora: Path, quick: bool) -> list[Setting]:
    """References to articles of the laws of legal-dev and the Labour Code, in the forms
    of ``CITED_AS`` (Russian, Kazakh and English, abbreviations and full names, mixed),
    each answered by that article (in either language version of a law that has two);
    and references to articles past each law's last, which must find nothing first."""
    laws = corpora / "legal" / "kz_laws_ru_kk"
    passages = list(legal_dev(corpora, quick)[0].passages)
    labour = laws / "labor_code.txt"
    passages.append(Passage(labour.stem, labour.read_text("utf-8"), "labor code"))
    versions = {p.unit.removesuffix("_kz"): [] for p in passages}
    for passage in passages:
        versions[passage.unit.removesuffix("_kz")].append(passage)
    questions = []
    for stem, forms in CITED_AS.items():
        numbers = sorted(
            {a or b for p in versions[stem] for a, b in _HEADING.findall(p.text)},
            key=lambda n: tuple(int(x) for x in n.split("-")),
        )
        chosen = _sample(numbers, 12 if quick else REFERENCES_PER_LAW, f"refs-{stem}")
        for i, number in enumerate(chosen):
            form = forms[i % len(forms)]
            relevant = frozenset(f"{p.unit}#{number}" for p in versions[stem])
            questions.append(Question(f"{stem}-{number}", form.format(n=number), relevant))
    return [
        Setting(
            "legal-refs",
            "cited article",
            "legal-refs",
            tuple(passages),
            tuple(questions),
            article_units=True,
            any_relevant=True,
            notes=(f"{len(questions)} references to {len(CITED_AS)} laws, forms mixed",),
        )
    ]


LEGAL_DEV_DISTRACTORS = (
    "legal/constitution_kk_ru_en/constitution_en__Dumi7417-oll-1.txt",
    "legal/constitution_kk_ru_en/constitution_kk__akerkeittt-constitution_ai.txt",
)


TASKS: dict[str, Callable[[Path, bool], list[Setting]]] = {
    "xquad": xquad,
    "kazqad": kazqad,
    "law-titles": law_titles,
    "tatoeba": tatoeba,
    "legalrag": legal_questions,
    "legal-dev": legal_dev,
    "legal-refs": legal_refs,
}
