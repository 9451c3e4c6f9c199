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

import numpy as np


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

    def count(self, lang: str) -> int:
        return self._count.get(lang, 0)

    def scale(self, query: np.ndarray, lang: str) -> tuple[float, float]:
        """The mean and standard deviation of the query's cosine with the passages of
        ``lang`` (0 and 1 when the language has fewer than two passages)."""
        n = self._count.get(lang, 0)
        if n < 2:
            return 0.0, 1.0
        q = np.asarray(query, dtype=np.float64)
        mean = float(q @ self._sum[lang]) / n
        variance = float(q @ self._moment[lang] @ q) / n - mean * mean
        return mean, max(variance, 1e-6) ** 0.5
