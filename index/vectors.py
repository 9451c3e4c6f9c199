"""The FAISS index of chunk vectors, keyed by chunk id so that deletes really remove.

Vectors are unit length, so inner product is cosine similarity. An exact (flat) index is
used: at the scale of a library's collection it is fast enough and never misses a match.
``IndexIDMap2`` can give back a passage's vector by id, which hybrid search uses to score
passages that only the keyword index found.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def build(cls, dim: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        index = cls(dim)
        index.add(ids, vectors)
        return index

    @classmethod
    def load(cls, path: Path) -> VectorIndex | None:
        """The saved index, or None when it is of an older kind (then it is rebuilt)."""
        index = faiss.read_index(str(path))
        return cls(index.d, index) if isinstance(index, faiss.IndexIDMap2) else None

    def save(self, path: Path) -> None:
        """Write to a temporary file, then rename: a crash never leaves half a file."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        faiss.write_index(self.index, str(temporary))
        os.replace(temporary, path)

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: list[int]) -> None:
        if ids:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these passages, in this order."""
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.index.reconstruct(int(i)) for i in ids])

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, in the index's own order."""
        flat = faiss.downcast_index(self.index.index)
        vectors = faiss.vector_to_array(flat.codes).view(np.float32).reshape(-1, self.dim)
        return faiss.vector_to_array(self.index.id_map), vectors

    def ids(self) -> np.ndarray:
        return np.sort(faiss.vector_to_array(self.index.id_map))

    def __len__(self) -> int:
        return self.index.ntotal

    def search(
        self, query: np.ndarray, k: int, allowed: list[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine) pairs, optionally only among ``allowed`` chunk ids."""
        if allowed is not None and not allowed:
            return []
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(
                sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            )
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return []
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
