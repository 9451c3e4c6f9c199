"""One score scale across languages: how far a passage's similarity to the query stands
above the query's similarity to the passages of that language in general.

The model gives a question higher cosines with every passage in its own language than with
passages in another, relevant or not, so raw cosines rank a weak match in the question's
language above a strong one in another; standard scores taken within each language's top
list (the earlier fix) made the best passage of every language look relevant, even in a
language with nothing on the subject. Here each language keeps the mean and the second
moment of its passage vectors, so the query's mean similarity and its spread over *all*
passages of the language are exact dot products: ``(cos − mean) / spread`` is comparable
across languages, and a language with nothing relevant scores near its background.

The sums are updated as passages are added and removed, so the cost does not grow with the
collection: O(d²) per passage written and per language searched (d = 384).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

MIN_PASSAGES = 30
"""Fewer passages than this cannot say what an unrelated passage of their language looks
like (one stray English passage, a few undetermined ones): the whole collection's
background stands in for theirs."""


class Background:
    def __init__(self, dim: int):
        self.dim = dim
        self._count: dict[str, int] = {}
        self._sum: dict[str, np.ndarray] = {}  # Σx
        self._moment: dict[str, np.ndarray] = {}  # Σxxᵀ

    def add(self, vectors: np.ndarray, langs: Iterable[str], sign: int = 1) -> None:
        vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, self.dim)
        langs = np.asarray(list(langs))
        for lang in np.unique(langs) if len(langs) else ():
            rows = vectors[langs == lang]
            lang = str(lang)
            if lang not in self._count:
                self._count[lang] = 0
                self._sum[lang] = np.zeros(self.dim)
                self._moment[lang] = np.zeros((self.dim, self.dim))
            self._count[lang] += sign * len(rows)
            self._sum[lang] += sign * rows.sum(axis=0)
            self._moment[lang] += sign * (rows.T @ rows)

    def remove(self, vectors: np.ndarray, langs: Iterable[str]) -> None:
        self.add(vectors, langs, sign=-1)

    def save(self, path: Path) -> None:
        langs = list(self._count)
        np.savez(
            path,
            langs=np.array(langs, dtype=str),
            counts=np.array([self._count[lang] for lang in langs], dtype=np.int64),
            sums=np.array([self._sum[lang] for lang in langs]).reshape(-1, self.dim),
            moments=np.array([self._moment[lang] for lang in langs]).reshape(
                -1, self.dim, self.dim
            ),
        )

    @classmethod
    def load(cls, path: Path, dim: int) -> Background:
        background = cls(dim)
        with np.load(path) as saved:
            for i, lang in enumerate(saved["langs"].tolist()):
                background._count[lang] = int(saved["counts"][i])
                background._sum[lang] = saved["sums"][i]
                background._moment[lang] = saved["moments"][i]
        return background

    def languages(self) -> list[str]:
        return list(self._count)

    def count(self, lang: str) -> int:
        return self._count.get(lang, 0)

    def scale(self, query: np.ndarray, lang: str) -> tuple[float, float]:
        """The mean and standard deviation of the query's cosine with the passages of
        ``lang``, or with all passages when the language has too few (0 and 1 when the
        whole collection has fewer than two)."""
        if self._count.get(lang, 0) >= MIN_PASSAGES:
            n, total, moment = self._count[lang], self._sum[lang], self._moment[lang]
        else:
            n = sum(self._count.values())
            if n < 2:
                return 0.0, 1.0
            total, moment = sum(self._sum.values()), sum(self._moment.values())
        q = np.asarray(query, dtype=np.float64)
        mean = float(q @ total) / n
        variance = float(q @ moment @ q) / n - mean * mean
        return mean, max(variance, 1e-6) ** 0.5
