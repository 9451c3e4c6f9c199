"""BM25 over chunks: the keyword half of hybrid search.

Terms come from ``analysis.analyze`` and are stored in the catalog next to each chunk, so this
index is, like the FAISS one, a cache that can always be rebuilt from the catalog. Adds and
removes are cheap (a chunk's term counts are kept); the sparse matrix of BM25 weights is
compiled again at the first search after a change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from scipy import sparse


class KeywordIndex:
    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self._vocabulary: dict[str, int] = {}
        self._terms: list[str] = []  # term id -> term
        self._chunks: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (term ids, counts)
        self._compiled: tuple[np.ndarray, sparse.csc_array, np.ndarray] | None = None

    def ids(self) -> np.ndarray:
        return np.array(sorted(self._chunks), dtype=np.int64)

    def add(self, ids: Iterable[int], term_lists: Iterable[list[str]]) -> None:
        for chunk_id, terms in zip(ids, term_lists, strict=True):
            counts = Counter(self._term_id(t) for t in terms)
            self._chunks[int(chunk_id)] = (
                np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)),
                np.fromiter(counts.values(), dtype=np.float32, count=len(counts)),
            )
        self._compiled = None

    def _term_id(self, term: str) -> int:
        if term not in self._vocabulary:
            self._vocabulary[term] = len(self._terms)
            self._terms.append(term)
        return self._vocabulary[term]

    def remove(self, ids: Iterable[int]) -> None:
        for chunk_id in ids:
            self._chunks.pop(int(chunk_id), None)
        self._compiled = None

    def _compile(self) -> tuple[np.ndarray, sparse.csc_array, np.ndarray]:
        """Chunks × terms matrix of BM25 weights (Lucene's idf, never negative)."""
        if self._compiled is None:
            ids = self.ids()
            entries = [self._chunks[int(i)] for i in ids]
            lengths = np.array([counts.sum() for _, counts in entries], dtype=np.float32)
            rows = np.repeat(np.arange(len(ids)), [len(terms) for terms, _ in entries])
            cols = np.concatenate([terms for terms, _ in entries]) if entries else np.array([])
            tf = np.concatenate([c for _, c in entries]) if entries else np.array([])
            document_frequency = np.bincount(cols.astype(np.int64), minlength=len(self._vocabulary))
            idf = np.log1p((len(ids) - document_frequency + 0.5) / (document_frequency + 0.5))
            norm = self.k1 * (1 - self.b + self.b * lengths / max(lengths.mean(), 1.0))
            weights = idf[cols.astype(np.int64)] * tf * (self.k1 + 1) / (tf + norm[rows])
            matrix = sparse.csc_array(
                (weights.astype(np.float32), (rows, cols)), shape=(len(ids), len(self._vocabulary))
            )
            self._compiled = (ids, matrix, idf)
        return self._compiled

    def postings(self, term: str, limit: int) -> np.ndarray:
        """Ids of (at most ``limit`` of) the passages that contain the term."""
        if term not in self._vocabulary or not self._chunks:
            return np.zeros(0, dtype=np.int64)
        ids, matrix, _ = self._compile()
        column = self._vocabulary[term]
        if column >= matrix.shape[1]:
            return np.zeros(0, dtype=np.int64)
        start = matrix.indptr[column]
        end = min(matrix.indptr[column + 1], start + limit)
        return ids[matrix.indices[start:end]]

    def search(
        self, terms: list[str], k: int, allowed: list[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) pairs with a score above zero."""
        columns = sorted({self._vocabulary[t] for t in terms if t in self._vocabulary})
        if not columns or not self._chunks or k <= 0:
            return []
        ids, matrix, _ = self._compile()
        scores = np.asarray(matrix[:, columns].sum(axis=1)).ravel()
        if allowed is not None:
            scores = np.where(np.isin(ids, allowed), scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in order]
