"""The FAISS index of one language's passage vectors, keyed by chunk id so deletes really
remove.

Vectors are unit length, so inner product is cosine similarity. The kind is picked by size,
as txtai does: below ``IVF_FROM`` vectors an exact flat scan (a few milliseconds, never
misses); from there an inverted file (IVF) whose cells hold the vectors uncompressed, so
that search probes 7% of its ~4√N cells and a passage's vector can still be read back
exactly. Both kinds add, remove and replace single passages without a rebuild
(docs/scale.md measures the choice).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np

IVF_FROM = 20_000  # vectors from which the flat scan gives way to an inverted file
PROBE_SHARE = 0.07  # of the cells searched per query: recall@10 ≈ 0.97 (docs/scale.md)
TRAINING_PER_CELL = 40  # k-means sample: vectors per cell


def cells_for(count: int) -> int:
    return max(64, int(4 * math.sqrt(count)))


def probes_for(cells: int) -> int:
    return min(cells, max(32, math.ceil(PROBE_SHARE * cells)))


class VectorIndex:
    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if isinstance(self.index, faiss.IndexIVF):
            self.index.nprobe = probes_for(self.index.nlist)

    @classmethod
    def build(cls, dim: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        """The kind that suits ``len(ids)`` vectors, holding them."""
        if len(ids) < IVF_FROM:
            index = cls(dim)
        else:
            cells = cells_for(len(ids))
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT)
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # remove and read back by id
            sample = np.random.default_rng(0).choice(
                len(ids), min(len(ids), cells * TRAINING_PER_CELL), replace=False
            )
            ivf.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
            index = cls(dim, ivf)
        index.add(ids, vectors)
        return index

    @property
    def approximate(self) -> bool:
        return isinstance(self.index, faiss.IndexIVF)

    @classmethod
    def load(cls, path: Path) -> VectorIndex | None:
        """The saved index, or None when it is of an older kind (then it is rebuilt)."""
        index = faiss.read_index(str(path))
        known = isinstance(index, faiss.IndexIDMap2 | faiss.IndexIVF)
        return cls(index.d, index) if known else None

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

    def remove(self, ids: np.ndarray | list[int]) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def vectors_of(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """The stored vectors of these passages, in this order."""
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def ids(self) -> np.ndarray:
        """Every chunk id held, sorted."""
        if not self.approximate:
            return np.sort(faiss.vector_to_array(self.index.id_map))
        lists = self.index.invlists
        found = [
            faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
            for cell in range(self.index.nlist)
            if lists.list_size(cell)
        ]
        return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.index.ntotal

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine) pairs, optionally only among ``allowed`` chunk ids (an
        inverted file then probes more cells, as fewer of each cell's vectors qualify)."""
        size = len(self) if allowed is None else min(len(self), len(allowed))
        k = min(k, size)
        if k <= 0:
            return []
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if self.approximate:
                share = len(allowed) / max(len(self), 1)
                probes = min(self.index.nlist, math.ceil(self.index.nprobe / max(share, 1e-9)))
                params = faiss.SearchParametersIVF(sel=selector, nprobe=probes)
            else:
                params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held."""
        ids = self.ids()
        return ids, self.vectors_of(ids)

    def suited(self) -> VectorIndex:
        """This index, or one of the kind its size now calls for: a flat scan that grew past
        ``IVF_FROM``, or an inverted file with a quarter of the cells it would now get."""
        count = len(self)
        if self.approximate:
            if cells_for(count) < 2 * self.index.nlist:
                return self
        elif count < IVF_FROM:
            return self
        return VectorIndex.build(self.dim, *self.stored())
