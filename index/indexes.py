"""The search indexes: per language, a dense (FAISS) and a keyword (BM25) index, and each
language's background similarity; all of them caches of the catalog, at one point of its
change log.

Languages are partitioned when passages are written, so a search ranks each language in its
own index and never groups passages per query. On disk the indexes are a **snapshot plus
the catalog's change log**: a snapshot is saved now and then (every ``SNAPSHOT_EVERY``
changes, or 5% of the collection), and opening loads the latest one and replays the
changes made since, by any process. A write therefore never rewrites an index file; a
partition untouched since the last snapshot is linked into the next one, not copied. A
snapshot is written into a fresh folder and made current by renaming one small file, so a
crash leaves the previous one whole; a snapshot that cannot be read, or that belongs to
another catalog, is rebuilt from the catalog.

    DATA/index/CURRENT              name of the current snapshot folder
    DATA/index/snapshot-SEQ-ID/     manifest.json, background.npz, per language i:
                                    vectors-i.faiss, keywords-i/
    DATA/index/segments/            keyword base segments, shared by snapshots
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .calibration import Background
from .catalog import Catalog
from .keyword import KeywordIndex, remove_unused
from .vectors import VectorIndex

SNAPSHOT_EVERY = 20_000  # changes after which a snapshot is saved …
SNAPSHOT_SHARE = 0.05  # … or this share of the collection, if more (bulk imports)
FORMAT = 2
log = logging.getLogger("koshqon.index")


class LogForgotten(Exception):
    """The change log was pruned past these indexes: reload or rebuild them."""


@dataclass
class Partition:
    """One language's passages: their vectors and their keyword terms."""

    vectors: VectorIndex
    keywords: KeywordIndex
    saved_as: Path | None = None  # the FAISS file of the last snapshot, while unchanged

    def __len__(self) -> int:
        return len(self.keywords)


@dataclass
class Indexes:
    dim: int
    partitions: dict[str, Partition] = field(default_factory=dict)
    background: Background | None = None
    seq: int = 0  # the last change of the catalog's log that these indexes include
    saved_seq: int = -1  # the change the last snapshot was saved at

    def __post_init__(self):
        self.background = self.background or Background(self.dim)

    def __len__(self) -> int:
        return sum(len(p) for p in self.partitions.values())

    def ids(self) -> np.ndarray:
        """Every chunk id held by the dense indexes, sorted."""
        found = [p.vectors.ids() for p in self.partitions.values()]
        return np.sort(np.concatenate(found)) if found else np.zeros(0, np.int64)

    def keyword_ids(self) -> np.ndarray:
        """Every chunk id held by the keyword indexes, sorted."""
        found = [p.keywords.ids() for p in self.partitions.values()]
        return np.sort(np.concatenate(found)) if found else np.zeros(0, np.int64)

    def snapshot_due(self) -> bool:
        pending = self.seq - self.saved_seq
        return self.saved_seq < 0 or pending >= max(SNAPSHOT_EVERY, SNAPSHOT_SHARE * len(self))

    def sizes(self) -> dict[str, int]:
        return {lang: len(p) for lang, p in self.partitions.items() if len(p)}

    def _partition(self, lang: str) -> Partition:
        if lang not in self.partitions:
            self.partitions[lang] = Partition(VectorIndex(self.dim), KeywordIndex())
        return self.partitions[lang]

    # --- changes --------------------------------------------------------------------------
    def add(self, ids, langs: list[str], vectors: np.ndarray, term_lists) -> None:
        for lang, rows in _by_language(langs).items():
            partition = self._partition(lang)
            partition.vectors.add(ids[rows], vectors[rows])
            partition.keywords.add(ids[rows], [term_lists[r] for r in rows])
            partition.saved_as = None
        self.background.add(vectors, langs)

    def remove(self, ids: np.ndarray, langs: list[str]) -> None:
        for lang, rows in _by_language(langs).items():
            partition = self.partitions.get(lang)
            if partition is None:
                continue
            held = ids[rows][partition.keywords.holds(ids[rows])]
            self.background.remove(partition.vectors.vectors_of(held), [lang] * len(held))
            partition.vectors.remove(held)
            partition.keywords.remove(held)
            partition.saved_as = None

    def reterm(self, ids, langs: list[str], term_lists) -> None:
        for lang, rows in _by_language(langs).items():
            keywords = self._partition(lang).keywords
            held = keywords.holds(ids[rows])
            keywords.add(ids[rows][held], [term_lists[r] for r in rows[held]])

    def catch_up(self, catalog: Catalog) -> int:
        """Replay the catalog's changes made since ``seq``; the number replayed. Raises
        LogForgotten if another process dropped some of them meanwhile."""
        changes = catalog.changes_since(self.seq)
        if catalog.forgotten() > self.seq:  # read after them: none was dropped before
            raise LogForgotten(f"the change log no longer reaches back to {self.seq}")
        if not changes:
            return 0
        added, removed, retermed = {}, {}, {}
        for _, chunk_id, lang, op in changes:
            if op == "add":
                added[chunk_id] = lang
            elif op == "remove":
                retermed.pop(chunk_id, None)
                if added.pop(chunk_id, None) is None:
                    removed[chunk_id] = lang
            elif chunk_id not in added:
                retermed[chunk_id] = lang
        if removed:
            self.remove(np.fromiter(removed, np.int64), list(removed.values()))
        new = np.fromiter(added, np.int64, count=len(added))
        for lang, rows in _by_language(list(added.values())).items():
            if lang in self.partitions:  # added by a build that read them already
                ids = new[rows]
                for held in ids[self.partitions[lang].keywords.holds(ids)].tolist():
                    del added[held]
        for ids, langs, vectors, term_lists in catalog.passages(sorted(added)):
            self.add(ids, langs, vectors, term_lists)
        for ids, langs, _, term_lists in catalog.passages(sorted(retermed)):
            self.reterm(ids, langs, term_lists)
        self.seq = changes[-1][0]
        return len(changes)

    # --- reading -------------------------------------------------------------------------
    def vectors_of(self, lang: str, ids) -> np.ndarray:
        return self.partitions[lang].vectors.vectors_of(ids)


def _by_language(langs: list[str]) -> dict[str, np.ndarray]:
    rows = defaultdict(list)
    for row, lang in enumerate(langs):
        rows[lang].append(row)
    return {lang: np.array(r, dtype=np.int64) for lang, r in rows.items()}


def build(catalog: Catalog, dim: int) -> Indexes:
    """Every index from the catalog's stored vectors and terms (no snapshot to start from).
    Keyword terms go into their index batch by batch, so only the vectors are held whole
    (a FAISS index is built from all of a language's at once)."""
    seq = catalog.last_change()
    vectors_of: dict[str, list] = defaultdict(list)
    keywords_of: dict[str, KeywordIndex] = defaultdict(KeywordIndex)
    indexes = Indexes(dim, seq=seq)
    for ids, langs, vectors, term_lists in catalog.passages():
        indexes.background.add(vectors, langs)
        for lang, rows in _by_language(langs).items():
            vectors_of[lang].append((ids[rows], vectors[rows]))
            keywords_of[lang].add(ids[rows], [term_lists[r] for r in rows])
    for lang, parts in vectors_of.items():
        keywords = keywords_of[lang]
        keywords.compact()
        ids = np.concatenate([p[0] for p in parts])
        vectors = VectorIndex.build(dim, ids, np.concatenate([p[1] for p in parts]))
        parts.clear()
        indexes.partitions[lang] = Partition(vectors, keywords)
    indexes.catch_up(catalog)  # whatever was written meanwhile
    return indexes


# --- snapshots -------------------------------------------------------------------------------
def save(indexes: Indexes, folder: Path, catalog_id: str) -> None:
    """A snapshot of ``indexes`` in ``folder``/snapshot-SEQ-ID, then made current."""
    for partition in indexes.partitions.values():
        suited = partition.vectors.suited()
        if suited is not partition.vectors:
            partition.vectors, partition.saved_as = suited, None
    segments = folder / "segments"
    segments.mkdir(parents=True, exist_ok=True)
    snapshot = folder / f"snapshot-{indexes.seq}-{uuid.uuid4().hex[:8]}"
    snapshot.mkdir()
    languages = list(indexes.partitions)
    for i, lang in enumerate(languages):
        partition = indexes.partitions[lang]
        target = snapshot / f"vectors-{i}.faiss"
        if partition.saved_as is not None and partition.saved_as.exists():
            os.link(partition.saved_as, target)
        else:
            partition.vectors.save(target)
        partition.keywords.save(snapshot / f"keywords-{i}", segments)
    indexes.background.save(snapshot / "background.npz")
    manifest = {
        "format": FORMAT,
        "catalog_id": catalog_id,
        "seq": indexes.seq,
        "dim": indexes.dim,
        "languages": languages,
    }
    (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    _fsync_folder(snapshot)
    _fsync_folder(segments)
    current = folder / "CURRENT"
    temporary = folder / f".CURRENT.{os.getpid()}.tmp"
    temporary.write_text(snapshot.name, encoding="utf-8")
    os.replace(temporary, current)
    _fsync_folder(folder)
    for i, lang in enumerate(languages):
        indexes.partitions[lang].saved_as = snapshot / f"vectors-{i}.faiss"
    indexes.saved_seq = indexes.seq
    for old in folder.glob("snapshot-*"):
        if old != snapshot:
            shutil.rmtree(old, ignore_errors=True)
    used = {
        json.loads((snapshot / f"keywords-{i}" / "keywords.json").read_text())["base"]
        for i in range(len(languages))
    }
    remove_unused(segments, used)


def _fsync_folder(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        if path.is_file() or path == folder:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def load(folder: Path, catalog: Catalog, dim: int) -> Indexes | None:
    """The current snapshot, if there is one that fits this catalog (None otherwise)."""
    current = folder / "CURRENT"
    if not current.exists():
        return None
    snapshot = folder / current.read_text(encoding="utf-8").strip()
    try:
        manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
        if (
            manifest.get("format") != FORMAT
            or manifest["catalog_id"] != catalog.get_meta("catalog_id")
            or manifest["dim"] != dim
            or manifest["seq"] < catalog.forgotten()
            or manifest["seq"] > catalog.last_change()
        ):
            log.warning("index snapshot %s does not fit the catalog; rebuilding", snapshot)
            return None
        indexes = Indexes(
            dim,
            background=Background.load(snapshot / "background.npz", dim),
            seq=manifest["seq"],
            saved_seq=manifest["seq"],
        )
        for i, lang in enumerate(manifest["languages"]):
            path = snapshot / f"vectors-{i}.faiss"
            vectors = VectorIndex.load(path)
            keywords = KeywordIndex.load(snapshot / f"keywords-{i}", folder / "segments")
            if vectors is None or vectors.dim != dim or len(vectors) != len(keywords):
                raise ValueError(f"{path} does not match its keyword index")
            indexes.partitions[lang] = Partition(vectors, keywords, saved_as=path)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        log.warning("index snapshot %s cannot be read (%s); rebuilding", snapshot, error)
        return None
    return indexes
