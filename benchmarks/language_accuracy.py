"""Accuracy of ``ingest.language.detect_language`` on real kk/ru/en sets, next to langdetect's.

Run from the repository root:

    .venv/bin/python benchmarks/language_accuracy.py

It prints a table and rewrites ``docs/language.md``. The sets are read from ``../shared/corpora``
(relative to the repository root) or from the folder named by ``KOSHQON_CORPORA``; without them
the script says so and exits 0. ``tests/test_language.py`` imports the loaders and ``evaluate``.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the ``ingest`` package importable
    sys.path.insert(0, str(ROOT))

from ingest.language import detect_language  # noqa: E402

KAZQAD = (
    "kazqad/data/reading-comprehension/kazqad-reading-comprehension-v1.0-kk-validation.jsonl.gz"
)
COMMAND = ".venv/bin/python benchmarks/language_accuracy.py"
REQUIRED_ACCURACY = 0.98


@dataclass(frozen=True)
class EvalSet:
    """Texts that are all in one language."""

    name: str
    lang: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    eval_set: EvalSet
    accuracy: float
    errors: tuple[tuple[str, str], ...]  # (predicted label, text)


def corpora_dir() -> Path | None:
    """The shared corpora folder: $KOSHQON_CORPORA, else ../shared/corpora; None if absent."""
    path = Path(os.environ.get("KOSHQON_CORPORA") or ROOT.parent / "shared" / "corpora")
    return path if (path / "eval").is_dir() else None


def load_sets(corpora: Path) -> list[EvalSet]:
    """KazQAD (kk), XQuAD (ru, en) questions and passages, Tatoeba sentences (kk, ru, en)."""
    evaluation = corpora / "eval"
    with gzip.open(evaluation / KAZQAD, "rt", encoding="utf-8") as lines:
        kazqad = [json.loads(line) for line in lines if line.strip()]
    sets = [
        EvalSet("KazQAD questions", "kk", tuple(row["question"] for row in kazqad)),
        EvalSet("KazQAD passages", "kk", _distinct(row["context"] for row in kazqad)),
    ]
    for lang in ("ru", "en"):
        with gzip.open(evaluation / f"xquad/xquad.{lang}.json.gz", "rt", encoding="utf-8") as f:
            paragraphs = [p for article in json.load(f)["data"] for p in article["paragraphs"]]
        questions = tuple(qa["question"] for p in paragraphs for qa in p["qas"])
        sets.append(EvalSet(f"XQuAD {lang} questions", lang, questions))
        contexts = _distinct(p["context"] for p in paragraphs)
        sets.append(EvalSet(f"XQuAD {lang} passages", lang, contexts))
    for pair, stem, lang in (("kaz-eng", "kaz", "kk"), ("rus-eng", "rus", "ru")):
        for suffix, code in ((stem, lang), ("eng", "en")):
            path = evaluation / f"tatoeba_laser/tatoeba.{pair}.{suffix}"
            lines = path.read_text(encoding="utf-8").splitlines()
            sets.append(EvalSet(f"Tatoeba {pair} {suffix}", code, tuple(filter(None, lines))))
    return sets


def _distinct(texts) -> tuple[str, ...]:
    return tuple(dict.fromkeys(texts))


def evaluate(eval_set: EvalSet, detect: Callable[[str], str] = detect_language) -> Result:
    """Share of texts labelled with the set's language, and the misses."""
    errors = []
    for text in eval_set.texts:
        label = detect(text)
        if label != eval_set.lang:
            errors.append((label, text))
    accuracy = 1 - len(errors) / len(eval_set.texts)
    return Result(eval_set, accuracy, tuple(errors))


def langdetect_language(text: str) -> str:
    """langdetect's own label (seed 0), taken as is: the baseline."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return "und"


def render_markdown(rows: list[tuple[Result, Result]]) -> str:
    table = [
        "| set | lang | N | detect_language | langdetect 1.0.9 |",
        "|---|---|---:|---:|---:|",
    ]
    for ours, baseline in rows:
        s = ours.eval_set
        table.append(
            f"| {s.name} | {s.lang} | {len(s.texts)} | {ours.accuracy:.3f} "
            f"| {baseline.accuracy:.3f} |"
        )
    errors = []
    for ours, _ in rows:
        for label, text in ours.errors[:4]:
            short = " ".join(text.replace("\ufeff", "").split())[:110]
            errors.append(f"- {ours.eval_set.name} ({ours.eval_set.lang}) → `{label}`: {short}")
    return DOC_TEMPLATE.format(
        date=datetime.date.today().isoformat(),
        command=COMMAND,
        table="\n".join(table),
        errors="\n".join(errors) or "- none",
        total=sum(len(ours.errors) for ours, _ in rows),
        required=REQUIRED_ACCURACY,
    )


DOC_TEMPLATE = """\
# Language identification

`ingest.language.detect_language(text)` returns `kk`, `ru`, `en`, another ISO 639-1 code when
the text is clearly another language, or `und` when it has no letters. It is deterministic.

## Why not langdetect alone

langdetect 1.0.9 has no Kazakh profile: it calls Kazakh text `ru` or `uk`. On short sentences
it also calls Russian `bg`, `mk` or `uk` and English `af`, `nl`, `fr`... The table shows both.

## Method

1. Latin look-alikes (a c e o p x y i, and capitals) inside a word that also has a letter only
   Cyrillic has are read as Cyrillic (`ingest.normalize.repair_lookalikes`): real Kazakh text
   often types Latin `i` for `і` ("Бiлгiм келмейдi.").
2. Script: Cyrillic when it holds at least a quarter of the Latin and Cyrillic letters (Latin
   names are common inside Russian and Kazakh sentences: "Что такое Engineering News-Record?"),
   else Latin; text mostly in another script is labelled by langdetect.
3. Latin text is `en` when at least one word in five is a common English function word (the,
   is, you, what, don't…) or when it has under 30 letters. Otherwise langdetect (seeded) may
   name another language if its probability is at least 0.9; if not, `en`.
4. Cyrillic text without Kazakh-only letters is `uk` (є ї ґ), `be` (ў) or `sr` (ј љ њ ђ ћ џ)
   when such a letter is in at least one word in twenty. Otherwise every word votes:
   - Kazakh: a Kazakh-only letter (ә ғ қ ң ө ұ ү һ і), a common Kazakh word written without
     them (мен, ол, бар, емес, керек, деп…), or a spelling that Russian never has (жы, шы,
     word-initial ы, endings -ады, -мын, -сыз, -майды, -ып, -ген, -мен, -лардан…);
   - Russian, if the word has no Kazakh evidence (a Kazakh suffix on a Russian loan makes a
     Kazakh word): a common function word (и, в, что, как, это, который…), a letter that Kazakh
     uses only in Russian loans (ё ъ щ ь), or a Russian ending (-ся, -ого, -ый, -ая, -ют…).

   More Kazakh votes give `kk`; otherwise `ru`, so a text with no evidence either way is `ru`.

The word lists are common function words and suffixes from grammar, not words taken from the
evaluation sets; nothing is trained. The rules were checked on sentences from the laws in
`legal/` (another domain). They were not all written blind, though: the -ады and -мен endings,
the Kazakh-suffix-wins rule, the quarter-Cyrillic rule and the English function words were
added after looking at the kinds of errors on these sets, so treat the figures as development
figures, not as a held-out test.

## Accuracy ({date})

Reproduce with `{command}`
(it reads `../shared/corpora`, or `$KOSHQON_CORPORA`). `tests/test_language.py` requires at
least {required} on every set. langdetect's labels are compared as they are (seed 0).

{table}

## Remaining errors

Typical causes: one- or two-word Kazakh sentences with no Kazakh letter, function word or
telltale suffix ("Рахмет!") fall to the Russian default; Kazakh words whose endings also occur
in Russian (-ты, -лы, as in "Доминантты") give no vote; a short English sentence with no common
function word can still be taken for another language by langdetect. Kazakh written in the
Latin alphabet is not recognised (it comes out `en` or another Latin-script language).

Up to four examples per set ({total} errors in all):

{errors}
"""


def main() -> int:
    corpora = corpora_dir()
    if corpora is None:
        print("../shared/corpora not found (set KOSHQON_CORPORA); nothing to measure.")
        return 0
    rows = []
    for eval_set in load_sets(corpora):
        rows.append((evaluate(eval_set), evaluate(eval_set, langdetect_language)))
        ours, baseline = rows[-1]
        print(
            f"{eval_set.name:28} {eval_set.lang}  N={len(eval_set.texts):5}  "
            f"ours {ours.accuracy:.3f}  langdetect {baseline.accuracy:.3f}"
        )
    doc = ROOT / "docs" / "language.md"
    doc.write_text(render_markdown(rows), encoding="utf-8")
    print(f"wrote {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
