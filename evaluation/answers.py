"""How often ``index.answer`` answers right, and how often it rightly says "not_found".

    .venv/bin/python -m evaluation.answers        # writes docs/answers.md (about 15 minutes
                                                  # cold on 2 cores, 2 warm)

With another model configured (KOSHQON_MODEL) it writes docs/answers-MODEL.md.

For XQuAD (en and ru, across: the question in one language, the paragraphs in the other,
and mixed: both language versions of every paragraph indexed) and KazQAD, each question is
answered twice through Koshqon's own store and search: over the whole corpus (right when a
sentence of the answer contains the gold answer string), and with the paragraphs that hold
the answer filtered out (right when the status is "not_found"). In the mixed settings a
third rate counts answers given in the question's language, which exists there. The
threshold below which the answer is "not_found" and the bonuses are chosen on the
development half to maximise the mean over settings of each setting's harmonic mean of its
rates; the test half is reported.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.answer import Answer, Answering, compose
from index.model_build import DEFAULT_MODEL_ID
from index.search import Filters, search
from ingest.normalize import normalize_text

from .cache import cached_model
from .runner import build_store
from .tasks import Question, Setting, _sample, kazqad_data, xquad_data

SAMPLE = 300  # questions per setting (both halves)
HEADER = (
    "| setting | test questions | answered (test) | not_found (test) "
    "| in the question's language (test) "
    "| answered, never not_found (test) | answered (dev) | not_found (dev) |\n"
    "|---|---|---|---|---|---|---|---|"
)
GRID = dict(
    rank_bonus=(0.02,),
    language_bonus=(0.04, 0.08, 0.12),
    other_language_bonus=(0.09, 0.12, 0.18),
    search_weight=(0.0, 0.02, 0.05),
)
THRESHOLDS = np.round(np.arange(0.30, 0.95, 0.005), 3)  # cosine plus bonuses


@dataclass(frozen=True)
class Asked:
    """One question's two answers (all sentences kept: the threshold is applied later)."""

    half: str
    gold: tuple[str, ...]  # the answer string, in each language of the corpus
    full: Answer
    without_gold: Answer
    own_language: str | None = None  # set where the question's language version exists


def _kept(result: Answer, threshold: float) -> list:
    return [c for c in result.citations if c.score >= threshold]


def _gold_in(result: Answer, gold: tuple[str, ...], threshold: float) -> bool:
    golds = [normalize_text(g).casefold() for g in gold]
    return any(g in c.sentence.casefold() for c in _kept(result, threshold) for g in golds)


def _in_own_language(a: Asked, threshold: float) -> bool:
    kept = _kept(a.full, threshold)
    return bool(kept) and all(c.hit.lang == a.own_language for c in kept)


def rates(asked: list[Asked], threshold: float) -> tuple[float, ...]:
    """Answered, not_found, and (where the question's language version exists) the share
    of answers given in that language."""
    found = np.mean([_gold_in(a.full, a.gold, threshold) for a in asked])
    refused = np.mean([a.without_gold.best_score < threshold for a in asked])
    answered = [a for a in asked if a.own_language and _kept(a.full, threshold)]
    if not answered:
        return float(found), float(refused)
    own = np.mean([_in_own_language(a, threshold) for a in answered])
    return float(found), float(refused), float(own)


Gold = dict[str, tuple[str, ...]]  # question id → the answer string in each corpus language


def xquad_settings(corpora: Path) -> list[tuple[Setting, Gold]]:
    """(setting, gold answers) for en/ru, across, and mixed (both versions indexed)."""
    passages, questions, _ = xquad_data(corpora)
    gold = {lang: {qid: answer for qid, _, _, answer in questions[lang]} for lang in questions}

    def setting(q_lang: str, c_langs: tuple[str, ...]) -> tuple[Setting, Gold]:
        chosen = _sample(questions[q_lang], SAMPLE, f"answers-xquad-{q_lang}")
        asked = tuple(
            Question(qid, text, frozenset(f"xquad-{c}-{pid}" for c in c_langs))
            for qid, text, pid, _ in chosen
        )
        name = f"{q_lang}→{'+'.join(c_langs)}"
        corpus = tuple(p for c in c_langs for p in passages[c])
        mixed = len(c_langs) > 1
        return (
            Setting(
                "xquad",
                name,
                f"xquad {'+'.join(c_langs)}",
                corpus,
                asked,
                question_lang=q_lang if mixed else None,
            ),
            {qid: tuple(gold[c][qid] for c in c_langs) for qid, *_ in chosen},
        )

    pairs = [(q, (c,)) for q in ("en", "ru") for c in ("en", "ru")]
    return [setting(q, c) for q, c in pairs + [("en", ("en", "ru")), ("ru", ("en", "ru"))]]


def kazqad_setting(corpora: Path) -> tuple[Setting, Gold]:
    rows, units = kazqad_data(corpora)
    chosen = _sample(rows, SAMPLE, "answers-kazqad")
    questions = tuple(
        Question(row["id"], row["question"].strip(), frozenset({units[row["context"]].unit}))
        for row in chosen
    )
    gold = {row["id"]: (row["answers"]["text"][0],) for row in chosen}
    return Setting("kazqad", "kk→kk", "kazqad", tuple(units.values()), questions), gold


def ask_all(setting: Setting, store, canonical) -> list[tuple[Question, list, list]]:
    """Each question's evidence over the whole corpus and without its gold paragraph."""
    documents = {Path(d.filename).stem: d.id for d in store.catalog.documents()}
    everything = set(documents.values())
    found = []
    for question in setting.questions:
        held_out = {documents[canonical.get(u, u)] for u in question.relevant}
        without = Filters(document_ids=sorted(everything - held_out))
        found.append(
            (
                question,
                search(store, question.text, Answering.passages),
                search(store, question.text, Answering.passages, without),
            )
        )
    return found


def main() -> None:
    corpora = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/corpora")
    started = time.perf_counter()
    cached, chunker = cached_model()
    settings = [*xquad_settings(corpora), kazqad_setting(corpora)]
    # every sentence kept: the thresholds are applied afterwards
    loose = replace(Answering.for_model(cached.model_id), min_score=-1.0)
    results: dict[str, dict[tuple, list[Asked]]] = {}
    with tempfile.TemporaryDirectory(prefix="koshqon-answers-") as scratch:
        stores = {}
        for setting, gold in settings:
            if setting.corpus not in stores:
                folder = Path(scratch) / f"store-{len(stores)}"
                stores[setting.corpus] = build_store(setting, cached, chunker, folder)
            store, canonical = stores[setting.corpus]
            name = f"{setting.task} {setting.name}"
            found = ask_all(setting, store, canonical)
            results[name] = {}
            for bonus, own, across, weight in itertools.product(*GRID.values()):
                variant = replace(
                    loose,
                    rank_bonus=bonus,
                    language_bonus=own,
                    other_language_bonus=across,
                    search_weight=weight,
                )
                results[name][(bonus, own, across, weight)] = [
                    Asked(
                        question.half,
                        gold[question.id],
                        compose(store, question.text, full.results, variant, None, lang),
                        compose(store, question.text, without.results, variant, None, lang),
                        setting.question_lang,
                    )
                    for question, full, without in found
                    for lang in [full.query_lang]
                ]
            print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    write_report(results, cached.model_id, time.perf_counter() - started)


def _mean_rate(per_setting: list[list[Asked]], threshold: float) -> float:
    """The mean over settings of each setting's harmonic mean of its rates: refusing every
    question (not_found 1, answered 0) must not look half right."""
    return float(np.mean([_harmonic(rates(asked, threshold)) for asked in per_setting]))


def _harmonic(values: tuple[float, ...]) -> float:
    return 0.0 if min(values) <= 0 else len(values) / sum(1 / v for v in values)


def write_report(results, model_id: str, seconds: float) -> None:
    def half(asked: list[Asked], name: str) -> list[Asked]:
        return [a for a in asked if a.half == name]

    best = max(
        (
            (_mean_rate([half(r[variant], "dev") for r in results.values()], t), variant, t)
            for variant in next(iter(results.values()))
            for t in THRESHOLDS
        ),
    )
    _, (bonus, own, across, weight), threshold = best
    rows = []
    for name, by_variant in results.items():
        chosen = by_variant[(bonus, own, across, weight)]
        dev = rates(half(chosen, "dev"), threshold)
        test = rates(half(chosen, "test"), threshold)
        count = len(half(chosen, "test"))
        ceiling = rates(half(chosen, "test"), -100.0)[0]
        in_language = f"{test[2]:.3f}" if len(test) > 2 else "—"
        rows.append(
            f"| {name} | {count} | {test[0]:.3f} | {test[1]:.3f} | {in_language} "
            f"| {ceiling:.3f} | {dev[0]:.3f} | {dev[1]:.3f} |"
        )
    text = f"""# Answers

Written by `KOSHQON_MODEL={model_id} .venv/bin/python -m evaluation.answers` on
{datetime.now(UTC):%Y-%m-%d}
({seconds / 60:.0f} min on 2 CPUs, {SAMPLE} sampled questions per setting, split into
development and test halves by a hash of the question id).

Each question is answered twice by `index.answer` (hybrid search, top {Answering.passages}
passages, at most {Answering.sentences} sentences): over the whole corpus — **answered** is the
share whose answer contains the gold answer string — and with the gold paragraph filtered
out — **not_found** is the share rightly answered "not_found". Cross-lingual settings ask in
one language over paragraphs in the other; the gold string is then the other language's.
Mixed settings ("en→en+ru") index both language versions of every paragraph: either gold
string counts, and **in the question's language** is the share of answers whose sentences
are all in the question's language.

Scores are the cosine between the question and the sentence read after its passage's
heading, plus the bonuses below, plus `search_weight` times the hybrid score of the
sentence's passage (how far it stands above its language's background; index/answer.py).

"Answered, never not_found" is the share when every question gets its best sentences,
whatever their score: the ceiling that the threshold trades against not_found.

Chosen on the development halves (the mean over settings of the harmonic mean of each
setting's rates, so that refusing everything scores nothing): threshold
`min_score = {threshold}`, `rank_bonus = {bonus}`, `language_bonus = {own}`,
`other_language_bonus = {across}`, `search_weight = {weight}`
(grid: {GRID}; thresholds {THRESHOLDS[0]}–{THRESHOLDS[-1]} by 0.005).

{HEADER}
{chr(10).join(rows)}
"""
    name = "answers.md" if model_id == DEFAULT_MODEL_ID else f"answers-{Path(model_id).name}.md"
    output = Path(__file__).resolve().parent.parent / "docs" / name
    output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
