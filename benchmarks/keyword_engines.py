"""Koshqon's keyword index against SQLite FTS5 over the same analysed terms, on a collection
built by benchmarks/scale.py: build time and BM25 top-100 query time (docs/scale.md).

    .venv/bin/python -m benchmarks.keyword_engines --data-dir /tmp/scale-100k
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.machine import percentile
from benchmarks.scale import queries
from index import indexes as snapshots
from index.analysis import analyze
from index.catalog import Catalog
from index.store import CATALOG_FILE


def timed_queries(search, asked) -> dict:
    times = []
    for lang, text in asked:
        started = time.perf_counter()
        search(lang, analyze(text, lang))
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    arguments = parser.parse_args()
    catalog = Catalog(arguments.data_dir / CATALOG_FILE)
    asked = queries()

    started = time.perf_counter()
    indexes = snapshots.build(catalog, 384)
    own_build = time.perf_counter() - started
    own = timed_queries(
        lambda lang, terms: indexes.partitions[lang].keywords.search(terms, 100), asked
    )

    with tempfile.TemporaryDirectory() as scratch:
        fts = sqlite3.connect(Path(scratch) / "fts.sqlite")
        fts.execute(
            "CREATE VIRTUAL TABLE passages USING fts5(lang UNINDEXED, terms, "
            "tokenize = \"unicode61 remove_diacritics 0 tokenchars ':-'\")"
        )
        started = time.perf_counter()
        rows = catalog._reader().execute("SELECT id, lang, terms FROM chunks")
        fts.executemany("INSERT INTO passages (rowid, lang, terms) VALUES (?, ?, ?)", rows)
        fts.commit()
        fts_build = time.perf_counter() - started

        def fts_search(lang: str, terms: list[str]):
            match = " OR ".join(f'"{t}"' for t in set(terms))
            return fts.execute(
                "SELECT rowid, bm25(passages) FROM passages WHERE terms MATCH ? AND lang = ? "
                "ORDER BY bm25(passages) LIMIT 100",
                (match, lang),
            ).fetchall()

        sqlite_fts = timed_queries(fts_search, asked)
    print(f"passages: {catalog.counts()[1]:,}; queries: {len(asked)} (kk, ru, en)")
    print(f"koshqon segments: built in {own_build:.0f} s (with the dense indexes), top-100 {own}")
    print(f"SQLite FTS5: built in {fts_build:.0f} s, top-100 {sqlite_fts}")


if __name__ == "__main__":
    main()
