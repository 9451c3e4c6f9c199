"""The results as Markdown: a headline table next to the baselines and targets of issue 3,
then every metric for both halves."""

from __future__ import annotations

import math
from collections import defaultdict

from .metrics import METRICS
from .runner import Result

# (task, setting) -> the metrics that matter for it
HEADLINE = {
    ("xquad", "en→ru"): ("R@1", "R@10"),
    ("xquad", "ru→en"): ("R@1", "R@10"),
    ("xquad", "ru→mixed"): ("R@10", "own-first", "own R@10"),
    ("kazqad", "kk→kk"): ("R@10", "MRR@10"),
    ("law-titles", "kk→ru"): ("R@10",),
    ("law-titles", "ru→kk"): ("R@10",),
    ("tatoeba", "kk→en"): ("R@1",),
    ("tatoeba", "ru→en"): ("R@1",),
    ("legalrag", "ru→ru"): ("Hit@10", "MRR@10"),
    # issue 9: what a reader sees in a collection of several languages
    ("xquad", "en→mixed"): ("own-first", "own R@10", "R@10"),
    ("law-titles", "kk→kk+ru"): ("own-first", "own R@10", "R@10"),
    ("law-titles", "ru→kk+ru"): ("own-first", "own R@10", "R@10"),
    ("xquad", "en→en among ru"): ("P@5", "filler@10", "R@10"),
    ("xquad", "ru→ru among en"): ("P@5", "filler@10", "R@10"),
    ("law-titles", "kk→kk among ru"): ("P@5", "filler@10", "R@10"),
    ("law-titles", "ru→ru among kk"): ("P@5", "filler@10", "R@10"),
    ("kazqad", "kk→kk among en+ru"): ("P@5", "filler@10", "R@10"),
    # issue 23: the answer only in another language, beside unrelated text in the reader's
    ("xquad", "en→ru among en"): ("R@1", "R@10"),
    ("law-titles", "kk→ru among kk"): ("R@10",),
    ("legal-dev", "all"): ("R@1", "R@10", "MRR@10", "both@10"),
    ("legal-dev", "cross-lingual"): ("R@1", "R@10", "MRR@10"),
    ("legal-dev", "en→"): ("R@10", "MRR@10"),
    ("legal-dev", "kk→"): ("R@10", "MRR@10"),
    ("legal-dev", "ru→"): ("R@10", "MRR@10"),
}
DEFAULT_HEADLINE = ("R@1", "R@10")
# Issue 3's plain baselines (BM25 on lowercase words; mE5-small over article/paragraph
# chunks; naive RRF of stemmed BM25 and dense), measured on the test halves elsewhere.
BASELINES = {
    ("xquad", "en→ru", "R@1"): (0.092, 0.808, 0.280),
    ("xquad", "en→ru", "R@10"): (0.195, 0.987, 0.980),
    ("xquad", "ru→en", "R@1"): (0.114, 0.800, 0.791),
    ("xquad", "ru→en", "R@10"): (0.166, 0.976, 0.979),
    ("xquad", "ru→mixed", "R@10"): (0.505, 0.763, 0.539),
    ("kazqad", "kk→kk", "R@10"): (0.732, 0.781, 0.899),
    ("kazqad", "kk→kk", "MRR@10"): (0.489, 0.504, 0.605),
    ("law-titles", "kk→ru", "R@10"): (0.022, 0.514, 0.471),
    ("law-titles", "ru→kk", "R@10"): (0.029, 0.545, 0.493),
    ("tatoeba", "kk→en", "R@1"): (0.007, 0.779, 0.777),
    ("tatoeba", "ru→en", "R@1"): (0.003, 0.923, 0.923),
    ("legalrag", "ru→ru", "Hit@10"): (0.188, 0.239, 0.304),
    ("legalrag", "ru→ru", "MRR@10"): (0.086, 0.120, 0.150),
}
TARGETS = {
    ("xquad", "en→ru", "R@1"): 0.82,
    ("xquad", "ru→en", "R@1"): 0.82,
    ("xquad", "ru→mixed", "R@10"): 0.90,
    ("kazqad", "kk→kk", "R@10"): 0.93,
    ("kazqad", "kk→kk", "MRR@10"): 0.66,
    ("law-titles", "kk→ru", "R@10"): 0.60,
    ("law-titles", "ru→kk", "R@10"): 0.60,
    ("legalrag", "ru→ru", "Hit@10"): 0.40,
    ("legalrag", "ru→ru", "MRR@10"): 0.20,
    ("xquad", "en→ru among en", "R@1"): 0.79,
    ("xquad", "en→ru among en", "R@10"): 0.99,
    ("law-titles", "kk→ru among kk", "R@10"): 0.50,
    ("legal-dev", "all", "R@10"): 0.85,
    ("legal-dev", "all", "MRR@10"): 0.60,
    ("legal-dev", "cross-lingual", "R@10"): 0.80,
    ("legal-dev", "en→", "R@10"): 0.75,
    ("legal-dev", "kk→", "R@10"): 0.75,
    ("legal-dev", "ru→", "R@10"): 0.75,
    **{
        (task, setting, "own-first"): 0.95
        for task, setting in (
            ("xquad", "ru→mixed"),
            ("xquad", "en→mixed"),
            ("law-titles", "kk→kk+ru"),
            ("law-titles", "ru→kk+ru"),
        )
    },
}
MAX_FILLER = 0.05  # issue 9: the most of the top 10 that unrelated languages may take


def _cell(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.3f}"


def headline_table(results: list[Result], variants: list[str], half: str = "test") -> str:
    table = defaultdict(dict)
    counts = {}
    for r in results:
        if r.half == half:
            table[(r.task, r.setting)][r.variant] = r.scores
            counts[(r.task, r.setting)] = r.questions
    header = (
        ["task", "setting", "n", "metric", "baseline BM25", "baseline dense", "baseline RRF"]
        + variants
        + ["target"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (task, setting), by_variant in table.items():
        for metric in HEADLINE.get((task, setting), DEFAULT_HEADLINE):
            baseline = BASELINES.get((task, setting, metric), (None, None, None))
            row = [task, setting, str(counts[(task, setting)]), metric]
            row += [_cell(b) for b in baseline]
            row += [_cell(by_variant.get(v, {}).get(metric)) for v in variants]
            target = TARGETS.get((task, setting, metric))
            row.append(f"≤ {MAX_FILLER:.2f}" if metric == "filler@10" else _cell(target))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def full_table(results: list[Result], half: str) -> str:
    header = ["task", "setting", "variant", "n", *METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        if r.half == half:
            row = [r.task, r.setting, r.variant, str(r.questions)]
            lines.append("| " + " | ".join(row + [_cell(r.scores[m]) for m in METRICS]) + " |")
    return "\n".join(lines)
