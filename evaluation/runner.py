"""Runs the tasks through Koshqon's own path: each corpus is ingested with ``prepare`` into a
real ``Store`` (catalog, FAISS, BM25) and every question goes through ``index.search``."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from index.embedder import Embedder
from index.parallel import article_number
from index.search import Fusion, Hit, Mode, search
from index.store import Store
from ingest.chunking import Chunker
from ingest.models import Metadata
from ingest.normalize import normalize_text
from ingest.pipeline import prepare

from .metrics import CUTOFF, mean_scores, score
from .tasks import Setting

CANDIDATES = 100  # passages fetched per question before they are grouped into units


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


def units_of(hit: Hit, article_units: bool, anchors=()) -> list[str]:
    """What a hit counts for: its document, or with ``article_units`` the article its
    heading names ("Статья 10", "10-бап", "Article 10"), and any anchor's unit whose
    text it holds (an article's chunk that its heading does not name)."""
    stem = Path(hit.citation.filename).stem
    if not article_units:
        return [stem]
    number = article_number((hit.citation.heading or "").rsplit(" › ", 1)[-1])
    found = [f"{stem}#{number}"] if number else []
    if not anchors:
        return found
    text = " ".join(hit.text.split())
    return found + [
        unit for unit, anchor in anchors if unit.startswith(f"{stem}#") and anchor in text
    ]


def ranked_units(hits: list[Hit], article_units: bool, anchors=()) -> list[str]:
    units = dict.fromkeys(u for h in hits for u in units_of(h, article_units, anchors))
    return list(units)[:CUTOFF]


def normalised_anchors(anchors) -> tuple[tuple[str, str], ...]:
    """Anchor texts as the collection stores text (normalised, spaces collapsed)."""
    return tuple((unit, " ".join(normalize_text(text).split())) for unit, text in anchors)


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
                    anchors = normalised_anchors(question.anchors)
                    ranked = ranked_units(found.results, setting.article_units, anchors)
                    per_half[question.half].append(
                        score(
                            ranked, relevant, lang_of, setting.question_lang, setting.any_relevant
                        )
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
