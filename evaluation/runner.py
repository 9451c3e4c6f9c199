"""Runs the tasks through Koshqon's own path: each corpus is ingested with ``prepare`` into a
real ``Store`` (catalog, FAISS, BM25) and every question goes through ``index.search``."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from index.embedder import Embedder
from index.search import Fusion, Hit, Mode, search
from index.store import Store
from ingest.chunking import Chunker
from ingest.models import Metadata
from ingest.pipeline import prepare

from .metrics import CUTOFF, mean_scores, score
from .tasks import Setting

CANDIDATES = 100  # passages fetched per question before they are grouped into units
_ARTICLE = re.compile(r"Статья (\S+)$")


@dataclass(frozen=True)
class Variant:
    """One way of searching, as a row label in the results."""

    name: str
    mode: Mode
    fusion: Fusion = Fusion()


@dataclass(frozen=True)
class Result:
    task: str
    setting: str
    variant: str
    half: str
    questions: int
    scores: dict[str, float]


def unit_of(hit: Hit, article_units: bool) -> str | None:
    stem = Path(hit.citation.filename).stem
    if not article_units:
        return stem
    heading = (hit.citation.heading or "").rsplit(" › ", 1)[-1]
    match = _ARTICLE.search(heading)
    return f"{stem}#{match.group(1)}" if match else None


def ranked_units(hits: list[Hit], article_units: bool) -> list[str]:
    units = dict.fromkeys(u for h in hits if (u := unit_of(h, article_units)) is not None)
    return list(units)[:CUTOFF]


def build_store(setting: Setting, embedder: Embedder, chunker: Chunker, folder: Path):
    """Ingest the setting's corpus; returns the store and each unit's stored unit (identical
    texts are stored once, so duplicates map to the first)."""
    store = Store(folder, embedder)
    prepared = [
        prepare(p.text.encode("utf-8"), f"{p.unit}.txt", Metadata(title=p.title), chunker)
        for p in setting.passages
    ]
    added = store.add_many(prepared)
    canonical = {
        p.unit: Path(a.document.filename).stem for p, a in zip(setting.passages, added, strict=True)
    }
    return store, canonical


def evaluate(
    settings: Iterable[Setting],
    variants: list[Variant],
    embedder: Embedder,
    chunker: Chunker,
    log=print,
) -> list[Result]:
    results: list[Result] = []
    stores: dict[str, tuple[Store, dict[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="koshqon-eval-") as scratch:
        for setting in settings:
            started = time.perf_counter()
            if setting.corpus not in stores:
                folder = Path(scratch) / f"store-{len(stores)}"
                stores[setting.corpus] = build_store(setting, embedder, chunker, folder)
            store, canonical = stores[setting.corpus]
            embedder.embed([q.text for q in setting.questions], "query")  # one batch, cached
            lang_of = (
                {canonical.get(p.unit, p.unit): p.lang for p in setting.passages}
                if setting.question_lang
                else None
            )
            for variant in variants:
                per_half: dict[str, list[dict[str, float]]] = {"dev": [], "test": []}
                for question in setting.questions:
                    found = search(
                        store, question.text, CANDIDATES, mode=variant.mode, fusion=variant.fusion
                    )
                    relevant = frozenset(canonical.get(u, u) for u in question.relevant)
                    ranked = ranked_units(found.results, setting.article_units)
                    per_half[question.half].append(
                        score(ranked, relevant, lang_of, setting.question_lang)
                    )
                for half, scores in per_half.items():
                    results.append(
                        Result(
                            setting.task,
                            setting.name,
                            variant.name,
                            half,
                            len(scores),
                            mean_scores(scores),
                        )
                    )
            log(
                f"{setting.task} {setting.name}: {len(setting.passages)} passages, "
                f"{len(setting.questions)} questions, {time.perf_counter() - started:.0f} s"
            )
        for store, _ in stores.values():
            store.close()
    return results
