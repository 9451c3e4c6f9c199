"""A bilingual Kazakh/Russian legal lexicon induced from aligned articles, measured as a
cross-language keyword search on the laws it was not induced from.

    KOSHQON_DATA_DIR=/tmp/evaldata .venv/bin/python -m evaluation.lexicon
    .venv/bin/python -m evaluation.lexicon --write index/lexicons/kk-ru.tsv   # the shipped one

A Kazakh stem and a Russian stem translate each other when they occur in the same aligned
articles far more often than apart (Dice coefficient over articles). Induced from the
adapter's training laws only; scored on the law-titles test half of the other laws: a title
in one language against the article bodies in the other, by keyword search with the
translated title, by dense search, and by both fused.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from index.analysis import analyze
from index.keyword import KeywordIndex

from .adaptation import training_pairs
from .tasks import TRAINING_LAWS, Question, _body, _usable, article_pairs


def induce(
    pairs: list[dict], source: str, target: str, min_count: int, min_dice: float, per_term: int
) -> dict[str, list[str]]:
    """Each source stem's most associated target stems."""
    term_sets = [(set(analyze(p[source], source)), set(analyze(p[target], target))) for p in pairs]
    df_source = Counter(t for s, _ in term_sets for t in s)
    df_target = Counter(t for _, s in term_sets for t in s)
    together = Counter((a, b) for s, t in term_sets for a in s for b in t)
    candidates: dict[str, list[tuple[float, str]]] = {}
    for (a, b), count in together.items():
        dice = 2 * count / (df_source[a] + df_target[b])
        if count >= min_count and dice >= min_dice:
            candidates.setdefault(a, []).append((dice, b))
    return {
        a: [b for _, b in sorted(found, reverse=True)[:per_term]] for a, found in candidates.items()
    }


def translate(text: str, lang: str, lexicon: dict[str, list[str]]) -> list[str]:
    return [b for a in analyze(text, lang) for b in lexicon.get(a, [])]


def write(corpora: Path, path: Path, min_count: int, min_dice: float, per_term: int) -> int:
    """The shipped lexicon (index/lexicon.py), both directions, from the training laws."""
    pairs = training_pairs(corpora)
    lines = [
        f"{source}\t{stem}\t{target}\t{' '.join(translations)}"
        for source, target in (("kk", "ru"), ("ru", "kk"))
        for stem, translations in sorted(
            induce(pairs, source, target, min_count, min_dice, per_term).items()
        )
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def _zscore(scores: dict[int, float]) -> dict[int, float]:
    values = np.array(list(scores.values()))
    std = values.std() or 1.0
    return {i: (s - values.mean()) / std for i, s in scores.items()}


def measure(corpora: Path, min_count: int, min_dice: float, per_term: int) -> list[str]:
    from .cache import cached_model

    training, held_out = article_pairs(corpora)
    train = [p for p in training if _usable(p)]
    test = [p for p in held_out if _usable(p)]
    embedder, _ = cached_model()
    lines = [
        f"lexicon induced from {len(train)} aligned articles of {len(TRAINING_LAWS)} laws; "
        f"scored on {len(test)} articles of the other laws (test half of the titles)",
        "",
        "| titles → articles | terms translated | keyword (lexicon) R@10 | dense R@10 | "
        "dense + lexicon R@10 | dense MRR | dense + lexicon MRR |",
        "|---|---|---|---|---|---|---|",
    ]
    for source, target in (("kk", "ru"), ("ru", "kk")):
        lexicon = induce(train, source, target, min_count, min_dice, per_term)
        keyword = KeywordIndex()
        keyword.add(range(len(test)), [analyze(_body(p[target]), target) for p in test])
        bodies = embedder.embed([_body(p[target]) for p in test], "passage")
        asked = [
            i
            for i, p in enumerate(test)
            if Question(f"{p['law']}-{p['article']}", "", frozenset()).half == "test"
        ]
        titles = [test[i][f"{source}_title"].strip() for i in asked]
        queries = embedder.embed(titles, "query")
        found = {"keyword": [], "dense": [], "fused": []}
        translated = 0
        for i, title, query in zip(asked, titles, queries, strict=True):
            terms = translate(title, source, lexicon)
            translated += bool(terms)
            sparse_hits = dict(keyword.search(terms, 100))
            cosines = bodies @ query
            top = np.argsort(-cosines)[:100]
            dense_hits = {int(j): float(cosines[j]) for j in top}
            fused = _zscore(dense_hits)
            for j, z in _zscore(sparse_hits).items() if sparse_hits else ():
                fused[j] = fused.get(j, min(fused.values())) + z
            for name, hits in (("keyword", sparse_hits), ("dense", dense_hits), ("fused", fused)):
                order = sorted(hits, key=hits.get, reverse=True)
                found[name].append(order.index(i) + 1 if i in order else None)

        def recall(ranks):
            return sum(r is not None and r <= 10 for r in ranks) / len(ranks)

        def mrr(ranks):
            return sum(1 / r for r in ranks if r is not None and r <= 10) / len(ranks)

        lines.append(
            f"| {source}→{target} ({len(asked)}) | {translated / len(asked):.2f} | "
            f"{recall(found['keyword']):.3f} | {recall(found['dense']):.3f} | "
            f"{recall(found['fused']):.3f} | {mrr(found['dense']):.3f} | "
            f"{mrr(found['fused']):.3f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--min-dice", type=float, default=0.3)
    parser.add_argument("--per-term", type=int, default=2)
    parser.add_argument("--write", type=Path, help="write the lexicon here instead")
    args = parser.parse_args()
    options = (args.min_count, args.min_dice, args.per_term)
    if args.write:
        print(f"{write(args.corpora, args.write, *options)} stems written to {args.write}")
    else:
        print("\n".join(measure(args.corpora, *options)))


if __name__ == "__main__":
    main()
