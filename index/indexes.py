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
    DATA/index/NEXT                 while a rebuild switches generations: the new one's
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
FORMAT = 2  # (snapshots before generations have none in their manifest: the first)
CURRENT, NEXT = "CURRENT", "NEXT"  # the snapshot searched, and a new generation's
POINTERS = (CURRENT, NEXT)
log = logging.getLogger("koshqon.index")


class LogForgotten(Exception):
    """The change log was pruned past these indexes: reload or rebuild them."""


class GenerationChanged(Exception):
    """The catalog switched to another generation of passages (a rebuild for another
    model or passage size): these indexes stay as they were, and their process moves to
    the new generation's."""


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
    generation: int = 1  # of the catalog's passages these indexes hold
    # False for a generation's indexes made before the switch to it: the log's changes
    # before the switch are another generation's, and the ones after it are theirs
    live: bool = True

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
        LogForgotten if another process dropped some of them meanwhile, and
        GenerationChanged (after replaying those before it) at a switch to another
        generation."""
        changes = catalog.changes_since(self.seq)
        if not self.live:  # the generation's changes are those after the switch to it
            switch = [c for c in changes if c[3] == "generation" and c[1] == self.generation]
            if not switch:
                raise LogForgotten(f"the switch to generation {self.generation} is not logged")
            changes = [c for c in changes if c[0] > switch[0][0]]
            self.seq, self.live = switch[0][0], True
        elif catalog.forgotten() > self.seq:  # read after them: none was dropped before
            raise LogForgotten(f"the change log no longer reaches back to {self.seq}")
        switch = next(
            (c for c in changes if c[3] == "generation" and c[1] != self.generation), None
        )
        if switch is not None:
            changes = [c for c in changes if c[0] < switch[0]]
        replayed = self._replay(catalog, changes)
        if switch is not None:
            raise GenerationChanged(f"the catalog switched to generation {switch[1]}")
        return replayed

    def _replay(self, catalog: Catalog, changes: list[tuple[int, int, str, str]]) -> int:
        if not changes:
            return 0
        last = changes[-1][0]
        changes = [c for c in changes if c[3] != "generation"]  # (the switch to this one)
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
        self.seq = last
        return len(changes)

    # --- reading -------------------------------------------------------------------------
    def vectors_of(self, lang: str, ids) -> np.ndarray:
        return self.partitions[lang].vectors.vectors_of(ids)


def _by_language(langs: list[str]) -> dict[str, np.ndarray]:
    rows = defaultdict(list)
    for row, lang in enumerate(langs):
        rows[lang].append(row)
    return {lang: np.array(r, dtype=np.int64) for lang, r in rows.items()}


def build(catalog: Catalog, dim: int, generation: int, live: bool = True) -> Indexes:
    """Every index of ``generation`` from the catalog's stored vectors and terms (no
    snapshot to start from), at the log's last change before they were read: ``catch_up``
    adds what was written meanwhile. ``live=False`` for a generation not yet switched to,
    whose indexes follow no change until then. Keyword terms go into their index batch by batch,
    so only the vectors are held whole (a FAISS index is built from all of a language's
    at once)."""
    seq = catalog.last_change()
    vectors_of: dict[str, list] = defaultdict(list)
    keywords_of: dict[str, KeywordIndex] = defaultdict(KeywordIndex)
    indexes = Indexes(dim, seq=seq, generation=generation, live=live)
    for ids, langs, vectors, term_lists in catalog.passages(generation=generation):
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
    return indexes


# --- snapshots -------------------------------------------------------------------------------
def save(indexes: Indexes, folder: Path, catalog_id: str, pointer: str = CURRENT) -> None:
    """A snapshot of ``indexes`` in ``folder``/snapshot-SEQ-ID, then named by ``pointer``:
    CURRENT, or NEXT for a generation being built (index/reindex.py)."""
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
        "generation": indexes.generation,
        "live": indexes.live,
    }
    (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    _fsync_folder(snapshot)
    _fsync_folder(segments)
    _point(folder, pointer, snapshot.name)
    for i, lang in enumerate(languages):
        indexes.partitions[lang].saved_as = snapshot / f"vectors-{i}.faiss"
    indexes.saved_seq = indexes.seq
    next_ = _manifest(folder, NEXT)
    if pointer == CURRENT and next_ and next_[1].get("generation", 1) <= indexes.generation:
        (folder / NEXT).unlink(missing_ok=True)  # a switch this snapshot is past
    _tidy(folder)


def promote(folder: Path) -> None:
    """The snapshot of the generation switched to (NEXT) becomes the current one."""
    if (folder / NEXT).exists():
        os.replace(folder / NEXT, folder / CURRENT)
        _fsync_folder(folder)
        _tidy(folder)


def _point(folder: Path, pointer: str, name: str) -> None:
    """``pointer`` names snapshot ``name``, by the rename of one small file."""
    temporary = folder / f".{pointer}.{os.getpid()}.tmp"
    temporary.write_text(name, encoding="utf-8")
    os.replace(temporary, folder / pointer)
    _fsync_folder(folder)


def _manifest(folder: Path, pointer: str) -> tuple[Path, dict] | None:
    """The snapshot a pointer names and its manifest, if both can be read."""
    try:
        snapshot = folder / (folder / pointer).read_text(encoding="utf-8").strip()
        return snapshot, json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _tidy(folder: Path) -> None:
    """Delete the snapshots no pointer names, and the keyword segments none of the named
    ones uses."""
    named = [found[0] for pointer in POINTERS if (found := _manifest(folder, pointer))]
    for old in folder.glob("snapshot-*"):
        if old not in named:
            shutil.rmtree(old, ignore_errors=True)
    used = {
        json.loads(keywords.read_text())["base"]
        for snapshot in named
        for keywords in snapshot.glob("keywords-*/keywords.json")
    }
    remove_unused(folder / "segments", used)


def _fsync_folder(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        if path.is_file() or path == folder:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def load(folder: Path, catalog: Catalog, dim: int, generation: int) -> Indexes | None:
    """The saved snapshot of ``generation`` (CURRENT's, or NEXT's for a generation
    switched to since), if there is one that fits this catalog (None otherwise)."""
    found = [found for pointer in POINTERS if (found := _manifest(folder, pointer))]
    found = [(s, m) for s, m in found if m.get("generation", 1) == generation]
    if not found:
        return None
    snapshot, manifest = found[0]
    try:
        live = manifest.get("live", True)
        if (
            manifest.get("format") != FORMAT
            or manifest["catalog_id"] != catalog.get_meta("catalog_id")
            or manifest["dim"] != dim
            or (live and manifest["seq"] < catalog.forgotten())
            or manifest["seq"] > catalog.last_change()
        ):
            log.warning("index snapshot %s does not fit the catalog; rebuilding", snapshot)
            return None
        indexes = Indexes(
            dim,
            background=Background.load(snapshot / "background.npz", dim),
            seq=manifest["seq"],
            saved_seq=manifest["seq"],
            generation=generation,
            live=live,
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
