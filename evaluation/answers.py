"""How often ``index.answer`` answers right, and how often it rightly says "not_found".

    .venv/bin/python -m evaluation.answers        # writes docs/answers.md (about 15 minutes
                                                  # cold on 2 cores, 2 warm)

For XQuAD (en and ru, and across: the question in one language, the paragraphs in the
other) and KazQAD, each question is answered twice through Koshqon's own store and search:
over the whole corpus (right when a sentence of the answer contains the gold answer
string), and with the paragraph that holds the answer filtered out (right when the status is
"not_found"). The threshold below which the answer is "not_found" is chosen on the
development half to maximise the mean of the two rates; the test half is reported.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.answer import Answer, Answering, compose
from index.search import Filters, search
from ingest.normalize import normalize_text

from .cache import cached_model
from .runner import build_store
from .tasks import Question, Setting, _sample, kazqad_data, xquad_data

SAMPLE = 300  # questions per setting (both halves)
HEADER = (
    "| setting | test questions | answered (test) | not_found (test) "
    "| answered, never not_found (test) | answered (dev) | not_found (dev) |\n"
    "|---|---|---|---|---|---|---|"
)
GRID = dict(rank_bonus=(0.02, 0.05), other_language_bonus=(0.0, 0.03, 0.06, 0.09))


@dataclass(frozen=True)
class Asked:
    """One question's two answers (all sentences kept: the threshold is applied later)."""

    half: str
    gold: str
    full: Answer
    without_gold: Answer


def _gold_in(result: Answer, gold: str, threshold: float) -> bool:
    gold = normalize_text(gold).casefold()
    return result.best_score >= threshold and any(
        gold in c.sentence.casefold() for c in result.citations if c.score >= threshold
    )


def rates(asked: list[Asked], threshold: float) -> tuple[float, float]:
    found = np.mean([_gold_in(a.full, a.gold, threshold) for a in asked])
    refused = np.mean([a.without_gold.best_score < threshold for a in asked])
    return float(found), float(refused)


def xquad_settings(corpora: Path) -> list[tuple[Setting, dict[str, str]]]:
    """(setting, question id → gold answer in the corpus language) for en/ru and across."""
    passages, questions, _ = xquad_data(corpora)
    gold = {lang: {qid: answer for qid, _, _, answer in questions[lang]} for lang in questions}

    def setting(q_lang: str, c_lang: str) -> tuple[Setting, dict[str, str]]:
        chosen = _sample(questions[q_lang], SAMPLE, f"answers-xquad-{q_lang}")
        asked = tuple(
            Question(qid, text, frozenset({f"xquad-{c_lang}-{pid}"}))
            for qid, text, pid, _ in chosen
        )
        name = f"{q_lang}→{c_lang}"
        corpus = tuple(passages[c_lang])
        return Setting("xquad", name, f"xquad {c_lang}", corpus, asked), gold[c_lang]

    return [setting(q, c) for q in ("en", "ru") for c in ("en", "ru")]


def kazqad_setting(corpora: Path) -> tuple[Setting, dict[str, str]]:
    rows, units = kazqad_data(corpora)
    chosen = _sample(rows, SAMPLE, "answers-kazqad")
    questions = tuple(
        Question(row["id"], row["question"].strip(), frozenset({units[row["context"]].unit}))
        for row in chosen
    )
    gold = {row["id"]: row["answers"]["text"][0] for row in chosen}
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
                search(store, question.text, Answering.passages).results,
                search(store, question.text, Answering.passages, without).results,
            )
        )
    return found


def main() -> None:
    corpora = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/corpora")
    started = time.perf_counter()
    cached, chunker = cached_model("answers")
    settings = [*xquad_settings(corpora), kazqad_setting(corpora)]
    loose = replace(Answering(), min_score=-1.0)  # keep every sentence; thresholds come after
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
            for bonus in GRID["rank_bonus"]:
                for across in GRID["other_language_bonus"]:
                    variant = replace(loose, rank_bonus=bonus, other_language_bonus=across)
                    results[name][(bonus, across)] = [
                        Asked(
                            question.half,
                            gold[question.id],
                            compose(store, question.text, full, variant),
                            compose(store, question.text, without, variant),
                        )
                        for question, full, without in found
                    ]
            print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    write_report(results, corpora, time.perf_counter() - started)


def _mean_rate(per_setting: list[list[Asked]], threshold: float) -> float:
    return float(np.mean([np.mean(rates(asked, threshold)) for asked in per_setting]))


def write_report(results, corpora: Path, seconds: float) -> None:
    def half(asked: list[Asked], name: str) -> list[Asked]:
        return [a for a in asked if a.half == name]

    thresholds = np.round(np.arange(0.70, 0.95, 0.005), 3)
    best = max(
        (
            (_mean_rate([half(r[variant], "dev") for r in results.values()], t), variant, t)
            for variant in next(iter(results.values()))
            for t in thresholds
        ),
    )
    _, (bonus, across), threshold = best
    rows = []
    for name, by_variant in results.items():
        dev = rates(half(by_variant[(bonus, across)], "dev"), threshold)
        test = rates(half(by_variant[(bonus, across)], "test"), threshold)
        count = len(half(by_variant[(bonus, across)], "test"))
        ceiling = rates(half(by_variant[(bonus, across)], "test"), -1.0)[0]
        rows.append(
            f"| {name} | {count} | {test[0]:.3f} | {test[1]:.3f} | {ceiling:.3f} "
            f"| {dev[0]:.3f} | {dev[1]:.3f} |"
        )
    text = f"""# Answers

Written by `.venv/bin/python -m evaluation.answers` on {datetime.now(UTC):%Y-%m-%d}
({seconds / 60:.0f} min on 2 CPUs, {SAMPLE} sampled questions per setting, split into
development and test halves by a hash of the question id).

Each question is answered twice by `index.answer` (hybrid search, top {Answering.passages}
passages, at most {Answering.sentences} sentences): over the whole corpus — **answered** is the
share whose answer contains the gold answer string — and with the gold paragraph filtered
out — **not_found** is the share rightly answered "not_found". Cross-lingual settings ask in
one language over paragraphs in the other; the gold string is then the other language's.

"Answered, never not_found" is the share when every question gets its best sentences,
whatever their score: the ceiling that the threshold trades against not_found.

Chosen on the development halves (the mean of the two rates over all settings): threshold
`min_score = {threshold}`, `rank_bonus = {bonus}`, `other_language_bonus = {across}`
(grid: {GRID}; thresholds 0.70–0.95 by 0.005).

{HEADER}
{chr(10).join(rows)}
"""
    output = Path(__file__).resolve().parent.parent / "docs" / "answers.md"
    output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
