"""BM25 over one language's passages: the keyword half of hybrid search.

Terms come from ``analysis.analyze`` and are stored in the catalog next to each chunk, so
this index, like the FAISS one, is a cache that can always be rebuilt from the catalog. It
is laid out as Lucene lays out its indexes, so that no write rebuilds it:

- a **base** segment: postings by term (term → passages, term frequencies), compiled once,
  saved as arrays and memory-mapped when loaded (no term is parsed at start-up);
- a **recent** segment: passages added since the base was compiled, held in memory and
  compiled again (cheaply, it is small) at the first search after a change;
- **deletions** of base passages are marks; document frequencies still count them until the
  base is compacted (as Lucene's do), when recent and deletions reach a quarter of it; the
  store compacts when it saves a snapshot, in the background.

A query costs the length of its terms' postings, not the size of the collection
(docs/scale.md).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

COMPACT_SHARE = 0.25  # recent passages and deletions, relative to the base, that compact it
COMPACT_MIN = 20_000  # ... but never for fewer than this many
ARRAYS = ("ids", "lengths", "indptr", "rows", "tf")


@dataclass(frozen=True)
class Segment:
    """Passages (rows, in id order) × terms, stored by term: the postings of term ``t`` are
    ``rows[indptr[t]:indptr[t + 1]]`` with their frequencies ``tf``."""

    ids: np.ndarray  # int64, sorted
    lengths: np.ndarray  # float32, terms per passage
    indptr: np.ndarray  # int64, one more than the terms known when compiled
    rows: np.ndarray  # int32
    tf: np.ndarray  # uint16

    @classmethod
    def empty(cls) -> Segment:
        return cls.compiled(np.zeros(0, np.int64), [], 0)

    @classmethod
    def compiled(
        cls, ids: np.ndarray, entries: list[tuple[np.ndarray, np.ndarray]], terms: int
    ) -> Segment:
        """From each passage's (term ids, counts), ``ids`` sorted."""
        sizes = np.fromiter((len(t) for t, _ in entries), dtype=np.int64, count=len(entries))
        rows = np.repeat(np.arange(len(entries), dtype=np.int32), sizes)
        cols = np.concatenate([t for t, _ in entries]) if entries else np.zeros(0, np.int64)
        tf = np.concatenate([c for _, c in entries]) if entries else np.zeros(0, np.uint16)
        lengths = np.fromiter((c.sum() for _, c in entries), np.float32, count=len(entries))
        return cls.from_coo(ids, lengths, rows, cols, tf, terms)

    @classmethod
    def from_coo(cls, ids, lengths, rows, cols, tf, terms: int) -> Segment:
        matrix = sparse.csc_array(
            (tf.astype(np.uint16), (rows, cols)), shape=(len(ids), max(terms, 1))
        )
        return cls(
            np.asarray(ids, np.int64),
            np.asarray(lengths, np.float32),
            matrix.indptr.astype(np.int64),
            matrix.indices.astype(np.int32),
            matrix.data.astype(np.uint16),
        )

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term + 1 >= len(self.indptr):
            return np.zeros(0, np.int32), np.zeros(0, np.uint16)
        start, end = self.indptr[term], self.indptr[term + 1]
        return self.rows[start:end], self.tf[start:end]

    def frequency(self, term: int) -> int:
        return int(self.indptr[term + 1] - self.indptr[term]) if term + 1 < len(self.indptr) else 0

    def columns(self) -> np.ndarray:
        """Each posting's term id."""
        return np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), np.diff(self.indptr))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder: Path) -> Segment:
        return cls(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS))


class KeywordIndex:
    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self._vocabulary: dict[str, int] = {}
        self._terms: list[str] = []  # term id -> term
        self._base = Segment.empty()
        self._alive = np.zeros(0, dtype=bool)  # per base row
        self._base_folder: str | None = None  # where the base is saved, if it is
        self._recent: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (terms, counts)
        self._recent_segment: Segment | None = None
        self._live = 0
        self._length_sum = 0.0

    def __len__(self) -> int:
        return self._live

    def ids(self) -> np.ndarray:
        base = self._base.ids[self._alive]
        return np.sort(np.concatenate([base, np.fromiter(self._recent, np.int64)]))

    # --- writes -------------------------------------------------------------------------
    def add(self, ids: Iterable[int], term_lists: Iterable[list[str]]) -> None:
        """Add passages (a passage already held is replaced)."""
        pairs = [(int(i), terms) for i, terms in zip(ids, term_lists, strict=True)]
        self.remove([i for i, _ in pairs])
        for chunk_id, terms in pairs:
            counts = Counter(self._term_id(t) for t in terms)
            entry = (
                np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)),
                np.fromiter(counts.values(), dtype=np.uint16, count=len(counts)),
            )
            self._recent[chunk_id] = entry
            self._live += 1
            self._length_sum += float(entry[1].sum())
        self._recent_segment = None

    def _term_id(self, term: str) -> int:
        if term not in self._vocabulary:
            self._vocabulary[term] = len(self._terms)
            self._terms.append(term)
        return self._vocabulary[term]

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if not len(ids):
            return
        for chunk_id in ids.tolist():
            entry = self._recent.pop(chunk_id, None)
            if entry is not None:
                self._live -= 1
                self._length_sum -= float(entry[1].sum())
                self._recent_segment = None
        if len(self._base.ids):
            places = np.searchsorted(self._base.ids, ids).clip(max=len(self._base.ids) - 1)
            found = places[self._base.ids[places] == ids]
            found = found[self._alive[found]]
        else:
            found = np.zeros(0, np.int64)
        if len(found):
            self._alive[found] = False
            self._live -= len(found)
            self._length_sum -= float(self._base.lengths[found].sum())

    def compaction_due(self) -> bool:
        pending = len(self._recent) + int((~self._alive).sum())
        return pending >= max(COMPACT_MIN, COMPACT_SHARE * len(self._base.ids))

    def compact(self) -> None:
        self.compacted()()

    def compacted(self) -> Callable[[], None]:
        """One base of every live passage (deletions dropped, recent passages merged in),
        computed while searches go on; the caller installs it by calling the result (with
        searches held off: it changes several fields)."""
        base, keep = self._base, self._alive
        recent = self._recent_compiled()
        rows_kept = np.flatnonzero(keep)
        ids = np.concatenate([base.ids[rows_kept], recent.ids])
        order = np.argsort(ids, kind="stable")
        new_row = np.empty(len(ids), dtype=np.int32)
        new_row[order] = np.arange(len(ids), dtype=np.int32)
        renumber_base = np.full(len(base.ids), -1, dtype=np.int64)
        renumber_base[rows_kept] = new_row[: len(rows_kept)]
        base_cols, base_rows = base.columns(), renumber_base[base.rows]
        live = base_rows >= 0
        rows = np.concatenate([base_rows[live], new_row[len(rows_kept) :][recent.rows]])
        cols = np.concatenate([base_cols[live], recent.columns()])
        tf = np.concatenate([np.asarray(base.tf)[live], recent.tf])
        lengths = np.concatenate([base.lengths[rows_kept], recent.lengths])[order]
        compacted = Segment.from_coo(ids[order], lengths, rows, cols, tf, len(self._terms))

        def install() -> None:
            self._base = compacted
            self._alive = np.ones(len(ids), dtype=bool)
            self._base_folder = None
            self._recent, self._recent_segment = {}, None

        return install

    # --- reads --------------------------------------------------------------------------
    def holds(self, ids: np.ndarray) -> np.ndarray:
        """Which of these chunk ids the index holds."""
        ids = np.asarray(ids, dtype=np.int64)
        held = np.fromiter((i in self._recent for i in ids.tolist()), bool, count=len(ids))
        if len(self._base.ids):
            places = np.searchsorted(self._base.ids, ids).clip(max=len(self._base.ids) - 1)
            held |= (self._base.ids[places] == ids) & self._alive[places]
        return held

    def _recent_compiled(self) -> Segment:
        if self._recent_segment is None:
            ids = np.array(sorted(self._recent), dtype=np.int64)
            entries = [self._recent[int(i)] for i in ids]
            self._recent_segment = Segment.compiled(ids, entries, len(self._terms))
        return self._recent_segment

    def document_frequency(self, term: str) -> int:
        """Passages that contain the term (deleted ones included until compaction)."""
        column = self._vocabulary.get(term)
        if column is None:
            return 0
        return self._base.frequency(column) + self._recent_compiled().frequency(column)

    def search(
        self,
        terms: list[str],
        k: int,
        allowed: np.ndarray | None = None,
        collection: Sequence[KeywordIndex] = (),
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) pairs with a score above zero (Lucene's idf, never
        negative), optionally only among ``allowed`` chunk ids.

        Passage count, average length and document frequencies are those of ``collection``
        (every language's partition) when it is given, as a sharded Lucene index gathers
        them before scoring (Elasticsearch's dfs_query_then_fetch): scored with its own, a
        match in a small partition weighs what it would not in the collection, and the
        partitions' lists could not be merged."""
        known = sorted({t for t in terms if t in self._vocabulary}, key=self._vocabulary.get)
        if not known or not self._live or k <= 0:
            return []
        within = collection or (self,)
        live = sum(index._live for index in within)
        frequency = np.array([sum(i.document_frequency(t) for i in within) for t in known])
        idf = np.log1p(np.maximum(live - frequency + 0.5, 0.0) / (frequency + 0.5))
        average = max(sum(index._length_sum for index in within) / live, 1.0)
        columns = [self._vocabulary[t] for t in known]
        recent = self._recent_compiled()
        found_ids, found_scores = [], []
        for segment, alive in ((self._base, self._alive), (recent, None)):
            ids, scores = self._scored(segment, columns, idf, average)
            if alive is not None:
                keep = alive[ids]
                ids, scores = ids[keep], scores[keep]
            chunk_ids = segment.ids[ids]
            if allowed is not None:
                keep = np.isin(chunk_ids, allowed)
                chunk_ids, scores = chunk_ids[keep], scores[keep]
            found_ids.append(chunk_ids)
            found_scores.append(scores)
        ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
        if len(ids) > k:
            top = np.argpartition(-scores, k - 1)[:k]
            ids, scores = ids[top], scores[top]
        order = np.lexsort((ids, -scores))
        return [(int(ids[i]), float(scores[i])) for i in order]

    def _scored(self, segment: Segment, columns, idf, average) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``segment`` that hold any of the terms, and their BM25 scores."""
        rows, weights = [], []
        for column, term_idf in zip(columns, idf, strict=True):
            found, tf = segment.postings(column)
            if len(found):
                tf = tf.astype(np.float32)
                norm = self.k1 * (1 - self.b + self.b * segment.lengths[found] / average)
                rows.append(found)
                weights.append(term_idf * tf * (self.k1 + 1) / (tf + norm))
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = np.bincount(np.concatenate(rows), np.concatenate(weights), len(segment.ids))
        matched = np.flatnonzero(scores > 0)
        return matched, scores[matched]

    # --- on disk ------------------------------------------------------------------------
    def save(self, folder: Path, segments: Path) -> None:
        """The index into ``folder``; the base goes to its own folder under ``segments``
        once, and later saves of the same base refer to it."""
        folder.mkdir(parents=True)
        if self._base_folder is None or not (segments / self._base_folder).is_dir():
            name = uuid.uuid4().hex
            self._base.save(segments / name)
            self._base_folder = name
        self._recent_compiled().save(folder / "recent")
        np.save(folder / "alive.npy", self._alive)
        (folder / "vocabulary.txt").write_text("\n".join(self._terms), encoding="utf-8")
        state = {"base": self._base_folder, "k1": self.k1, "b": self.b}
        (folder / "keywords.json").write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, segments: Path) -> KeywordIndex:
        state = json.loads((folder / "keywords.json").read_text(encoding="utf-8"))
        index = cls(state["k1"], state["b"])
        text = (folder / "vocabulary.txt").read_text(encoding="utf-8")
        index._terms = text.split("\n") if text else []
        index._vocabulary = {term: i for i, term in enumerate(index._terms)}
        index._base = Segment.load(segments / state["base"])
        index._base_folder = state["base"]
        index._alive = np.load(folder / "alive.npy")
        recent = Segment.load(folder / "recent")
        index._recent = _entries(recent)
        alive_rows = np.flatnonzero(index._alive)
        index._live = len(alive_rows) + len(index._recent)
        index._length_sum = float(index._base.lengths[alive_rows].sum()) + float(
            recent.lengths.sum()
        )
        return index


def _entries(segment: Segment) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each passage's (term ids, counts) back from a (small) segment."""
    by_row = sparse.csc_array(
        (np.asarray(segment.tf), np.asarray(segment.rows), np.asarray(segment.indptr)),
        shape=(len(segment.ids), len(segment.indptr) - 1),
    ).tocsr()
    return {
        int(chunk_id): (
            by_row.indices[by_row.indptr[row] : by_row.indptr[row + 1]].astype(np.int64),
            by_row.data[by_row.indptr[row] : by_row.indptr[row + 1]].astype(np.uint16),
        )
        for row, chunk_id in enumerate(segment.ids.tolist())
    }


def remove_unused(segments: Path, used: set[str]) -> None:
    """Delete base folders that no saved index refers to any more."""
    for folder in segments.iterdir() if segments.is_dir() else ():
        if folder.name not in used:
            shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(segments, exist_ok=True)
