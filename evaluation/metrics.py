"""Ranking metrics over units (deduplicated, best first) and a set of relevant units."""

from __future__ import annotations

import math
from statistics import fmean

CUTOFF = 10
RANKING_METRICS = ("R@1", "R@10", "Hit@10", "MRR@10", "nDCG@10", "both@10")
# What a reader sees when the collection holds several languages (settings that name the
# question's language): whether the first relevant hit (when there is one in the top 10) is
# in the question's language, the
# recall of that language's version, precision at 5, and the share of the top 10 taken by
# languages that hold nothing relevant (filler).
READER_METRICS = ("own-first", "own R@10", "P@5", "filler@10")
METRICS = RANKING_METRICS + READER_METRICS


def score(
    ranked: list[str],
    relevant: frozenset[str],
    lang_of: dict[str, str] | None = None,
    question_lang: str | None = None,
    any_relevant: bool = False,
) -> dict[str, float]:
    """Recall at 1 and 10 (share of the relevant units found; with ``any_relevant``,
    whether any is: a question answered by either language version of an article), Hit@10
    (any found), MRR@10, binary nDCG@10 and both@10 (every version found, for questions
    with several); with the units' languages and the question's, the reader metrics too
    (NaN otherwise)."""
    top = ranked[:CUTOFF]
    found = [unit in relevant for unit in top]
    first = next((rank for rank, hit in enumerate(found, 1) if hit), None)
    dcg = sum(1 / math.log2(rank + 1) for rank, hit in enumerate(found, 1) if hit)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), CUTOFF) + 1))

    def recall(hits: int) -> float:
        return float(hits > 0) if any_relevant else hits / len(relevant)

    return {
        "R@1": recall(sum(found[:1])),
        "R@10": recall(sum(found)),
        "Hit@10": float(first is not None),
        "MRR@10": 1 / first if first else 0.0,
        "nDCG@10": dcg / ideal,
        "both@10": float(sum(found) == len(relevant)) if len(relevant) > 1 else float("nan"),
    } | reader_scores(top, relevant, lang_of, question_lang)


def reader_scores(
    top: list[str],
    relevant: frozenset[str],
    lang_of: dict[str, str] | None,
    question_lang: str | None,
) -> dict[str, float]:
    if lang_of is None or question_lang is None:
        return dict.fromkeys(READER_METRICS, float("nan"))
    first = next((unit for unit in top if unit in relevant), None)
    own = {unit for unit in relevant if lang_of.get(unit) == question_lang}
    relevant_langs = {lang_of.get(unit) for unit in relevant}
    return {
        # among questions with a relevant hit in the top 10; "own R@10" counts the misses
        "own-first": float(lang_of.get(first) == question_lang) if first else float("nan"),
        "own R@10": len(own.intersection(top)) / len(own) if own else float("nan"),
        "P@5": sum(unit in relevant for unit in top[:5]) / 5,
        "filler@10": (
            sum(lang_of.get(unit) not in relevant_langs for unit in top) / len(top) if top else 0.0
        ),
    }


def mean_scores(per_question: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the questions it applies to (NaN where none)."""
    means = {}
    for metric in METRICS:
        values = [s[metric] for s in per_question if not math.isnan(s[metric])]
        means[metric] = round(fmean(values), 3) if values else float("nan")
    return means
