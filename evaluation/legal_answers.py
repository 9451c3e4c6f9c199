"""Answers and "nothing found" on the laws of legal-dev, and on questions nothing answers.

    .venv/bin/python -m evaluation.legal_answers   # writes docs/answers-legal.md (about 10
                                                   # minutes warm on 2 cores)

The 60 legal-dev questions are asked of their eleven files through ``index.answer``:
**answered** is the share not "not_found", **gold** the share whose cited sentences come
from a gold article (judged as `koshqon eval` judges a hit). The questions of
evaluation/data/unanswerable.jsonl (off-topic, and on-topic but absent from every file,
in kk, ru and en) are asked of the same files: every answer given is wrong. The same
off-topic questions are searched in XQuAD's and KazQAD's collections beside those
collections' own questions: **flagged** is the share of searches with ``no_match``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from index.answer import answer
from index.search import search

from .cache import cached_model
from .runner import build_store, normalised_anchors, units_of
from .tasks import TASKS

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
UNANSWERABLE = Path(__file__).with_name("data") / "unanswerable.jsonl"
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "answers-legal.md"
SEARCHED = 200  # of each collection's own questions, for the flagged share


def main() -> None:
    started = time.time()
    embedder, chunker = cached_model()
    unanswerable = [json.loads(line) for line in UNANSWERABLE.read_text().splitlines()]
    off_topic = [q["question"] for q in unanswerable if q["kind"] == "off-topic"]
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        legal = TASKS["legal-dev"](CORPORA, False)[0]
        store, _ = build_store(legal, embedder, chunker, Path(folder) / "legal")
        answered = gold = flagged = 0
        for question in legal.questions:
            given = answer(store, question.text)
            flagged += search(store, question.text).no_match
            if given.status != "answered":
                continue
            answered += 1
            anchors = normalised_anchors(question.anchors)
            units = {u for c in given.citations for u in units_of(c.hit, True, anchors)}
            gold += bool(units & set(question.relevant))
        wrong = [q for q in unanswerable if answer(store, q["question"]).status == "answered"]
        n = len(legal.questions)
        lines += [
            "| collection | questions | answered | cite a gold article | flagged no_match |",
            "|---|---|---|---|---|",
            f"| legal-dev | {n} | {answered / n:.3f} | {gold / n:.3f} | {flagged / n:.3f} |",
            f"| legal-dev, unanswerable questions | {len(unanswerable)} "
            f"| {len(wrong)} answered | — | — |",
            "",
            "Unanswerable questions answered: "
            + (", ".join(f"{q['id']} ({q['question']})" for q in wrong) or "none"),
            "",
            "| collection | its questions flagged | off-topic questions flagged |",
            "|---|---|---|",
            f"| legal-dev | {flagged / n:.3f} | {rate(store, off_topic):.3f} |",
        ]
        seen = set()
        for setting in TASKS["xquad"](CORPORA, True) + TASKS["kazqad"](CORPORA, True):
            if setting.corpus in seen:
                continue
            seen.add(setting.corpus)
            store, _ = build_store(setting, embedder, chunker, Path(folder) / str(len(seen)))
            own = [q.text for q in setting.questions[:SEARCHED]]
            name = setting.corpus.replace("|", "/")
            lines.append(f"| {name} | {rate(store, own):.3f} | {rate(store, off_topic):.3f} |")
    minutes = (time.time() - started) / 60
    OUTPUT.write_text(
        '# Answers on the laws, and "nothing found"\n\n'
        f"Written by `.venv/bin/python -m evaluation.legal_answers` on "
        f"{datetime.now(UTC):%Y-%m-%d}: model `{embedder.model_id}`, {minutes:.1f} min.\n\n"
        + (__doc__ or "").split("\n\n", 2)[2]
        + "\n"
        + "\n".join(lines)
        + "\n"
    )
    print(f"Wrote {OUTPUT}", file=sys.stderr)


def rate(store, questions: list[str]) -> float:
    return sum(search(store, q).no_match for q in questions) / len(questions)


if __name__ == "__main__":
    main()
