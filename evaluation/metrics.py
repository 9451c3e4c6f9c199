"""Ranking metrics over units (deduplicated, best first) and a set of relevant units."""

from __future__ import annotations

import math
from statistics import fmean

CUTOFF = 10
METRICS = ("R@1", "R@10", "Hit@10", "MRR@10", "nDCG@10")


def score(ranked: list[str], relevant: frozenset[str]) -> dict[str, float]:
    """Recall at 1 and 10 (share of the relevant units found), Hit@10 (any found),
    MRR@10 and binary nDCG@10."""
    top = ranked[:CUTOFF]
    found = [unit in relevant for unit in top]
    first = next((rank for rank, hit in enumerate(found, 1) if hit), None)
    dcg = sum(1 / math.log2(rank + 1) for rank, hit in enumerate(found, 1) if hit)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), CUTOFF) + 1))
    return {
        "R@1": sum(found[:1]) / len(relevant),
        "R@10": sum(found) / len(relevant),
        "Hit@10": float(first is not None),
        "MRR@10": 1 / first if first else 0.0,
        "nDCG@10": dcg / ideal,
    }


def mean_scores(per_question: list[dict[str, float]]) -> dict[str, float]:
    return (
        {m: round(fmean(s[m] for s in per_question), 3) for m in METRICS}
        if per_question
        else dict.fromkeys(METRICS, float("nan"))
    )
