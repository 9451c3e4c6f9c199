"""``koshqon eval``: run the tasks, write docs/evaluation.md (or the tuning table).

The reported variants are fixed; the sweep variants are only ever scored on the development
halves, and the default fusion was chosen from them (docs/evaluation-tuning.md).
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from index.embedder import Embedder
from index.search import DEFAULT_FUSION, Fusion
from ingest.chunking import Chunker

from .cache import CachedEmbedder
from .report import full_table, headline_table
from .runner import Variant, evaluate
from .tasks import TASKS

METHOD = """\
## How this is measured

Every corpus is ingested through Koshqon's own path (`ingest.pipeline.prepare`: normalisation,
language detection, 256-token passages) into a real store (SQLite catalog, FAISS, BM25), and
every question goes through `index.search` for 100 passages, which are grouped into units
(the first passage of a unit gives its rank). Questions are split into a development half and
a test half by a hash of their id; only the development half was used to choose settings
(`koshqon eval --quick --sweep` → docs/evaluation-tuning.md).

- **xquad**: 240 paragraphs, 1,190 questions, en and ru. "mixed" indexes all 480 paragraphs
  and counts both language versions as relevant (R@10 is the share of the two found).
  "en→ru among en" indexes the Russian version of the even-numbered articles and the English
  version of the others, and asks the English questions about the Russian ones: the answer
  exists only in Russian, next to English distractors.
- **kazqad**: the 764 KazQAD validation questions against its 697 distinct passages.
- **law-titles**: the article-aligned law pairs; the Kazakh title against the Russian
  articles and the reverse, heading lines removed from the article text.
- **tatoeba**: kk→en and ru→en sentence matching (acc@1 = R@1).
- **legalrag**: the real Russian legal questions over the Russian texts of the laws they
  cite, ingested as whole files; a hit counts for the article named in its heading path.
  Hit@10: any gold article in the top 10.

Variants: **keyword** is BM25 over stemmed terms; **dense** is the embedding model alone;
**naive RRF** fuses them without language handling; **hybrid (default)** is what Koshqon
serves: per-language standard-score fusion, keyword evidence only within the query's language.
Baselines and targets are those of issue 3 (a plain implementation on the same data).
"""

NAIVE_RRF = Fusion(method="rrf", balance_languages=False, cross_keyword_weight=1.0)
REPORTED = [
    Variant("keyword", "keyword"),
    Variant("dense", "dense"),
    Variant("naive RRF", "hybrid", NAIVE_RRF),
    Variant("hybrid (default)", "hybrid", DEFAULT_FUSION),
]
SWEEP = [
    Variant("dense", "dense"),
    Variant("keyword", "keyword"),
    Variant("naive RRF", "hybrid", NAIVE_RRF),
    Variant("rrf per-language", "hybrid", Fusion(method="rrf")),
    Variant("zscore, one ranking", "hybrid", Fusion(balance_languages=False)),
    *(
        Variant(f"zscore per-language kw={w}", "hybrid", Fusion(keyword_weight=w))
        for w in (0.5, 1.0, 1.5, 2.0)
    ),
    Variant("+ other-language BM25 0.2", "hybrid", Fusion(cross_keyword_weight=0.2)),
    Variant("+ dense-seeded BM25 0.3", "hybrid", Fusion(feedback_weight=0.3)),
]


def run(
    corpora: Path,
    tasks: list[str],
    embedder: Embedder,
    chunker: Chunker,
    cache: Path,
    output: Path,
    quick: bool,
    sweep: bool,
    command: str,
    log=print,
) -> Path:
    started = time.perf_counter()
    cached = CachedEmbedder(embedder, cache / f"{embedder.model_id.replace('/', '_')}.sqlite")
    settings = [s for task in tasks for s in TASKS[task](corpora, quick)]
    variants = SWEEP if sweep else REPORTED
    results = evaluate(settings, variants, cached, chunker, log)
    names = [v.name for v in variants]
    half = "dev" if sweep else "test"
    minutes = (time.perf_counter() - started) / 60
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs"
    notes = [f"- {s.task} {s.name}: {note}" for s in settings for note in s.notes]
    text = "\n\n".join(
        [
            f"# Retrieval evaluation{' (tuning, development halves)' if sweep else ''}",
            f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d}: model "
            f"`{embedder.model_id}`, {'quick sample' if quick else 'full sets'}, "
            f"{minutes:.1f} min ({machine}). Figures are means "
            f"over the questions of the {half} half.",
            METHOD,
            f"## Headline ({half} half)",
            headline_table(results, names, half),
            "Notes:\n" + "\n".join(dict.fromkeys(notes)) if notes else "",
            f"## All metrics, {half} half",
            full_table(results, half),
            *([] if sweep else ["## All metrics, development half", full_table(results, "dev")]),
        ]
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    return output
