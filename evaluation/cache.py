"""An embedder that never computes the same vector twice, so evaluation reruns are cheap.

Vectors are stored in SQLite keyed by the model, its prefix for the kind, and the text; they
are written batch by batch, so an interrupted run keeps what it computed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.embedder import Embedder, Kind
from ingest.chunking import Chunker

BATCH = 256


class CachedEmbedder:
    def __init__(self, inner: Embedder, path: Path):
        self.inner = inner
        self.model_id, self.dim, self.max_tokens = inner.model_id, inner.dim, inner.max_tokens
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB)")

    def _key(self, text: str, kind: Kind) -> bytes:
        prefix = getattr(self.inner, "prefixes", {}).get(kind, "")
        model = f"{self.model_id}{_runtime(self.inner)}"
        return hashlib.sha256(f"{model}\0{prefix}\0{kind}\0{text}".encode()).digest()

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
            )
            found.update({key: np.frombuffer(vector, dtype=np.float32) for key, vector in rows})
        return found

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        keys = [self._key(text, kind) for text in texts]
        found = self._lookup(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        text_of = dict(zip(keys, texts, strict=True))
        progress = tqdm(total=len(missing), desc=f"embedding {kind}s", unit="text", disable=None)
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            vectors = self.inner.embed([text_of[k] for k in batch], kind)
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [
                        (k, v.astype(np.float32).tobytes())
                        for k, v in zip(batch, vectors, strict=True)
                    ],
                )
            found.update(zip(batch, vectors, strict=True))
            progress.update(len(batch))
        progress.close()
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def cache_path(data_dir: Path, embedder: Embedder) -> Path:
    """One cache per model and runtime, shared by every evaluation (its keys name them too)."""
    name = f"{embedder.model_id.replace('/', '_')}{_runtime(embedder)}"
    return data_dir / "eval-cache" / f"{name}.sqlite"


def _runtime(embedder: Embedder) -> str:
    """ "-onnx-int8-v2" for the int8 ONNX runtime, whose vectors differ a little from torch's."""
    runtime = getattr(embedder, "runtime", "")
    return f"-{runtime}" if runtime else ""


def cached_model() -> tuple[CachedEmbedder, Chunker]:
    """The configured model, its vectors cached in DATA_DIR/eval-cache, and its chunker:
    what the evaluation scripts ingest and ask with."""
    from service.config import Settings
    from service.core import model_and_chunker

    settings = Settings()
    embedder, chunker = model_and_chunker(settings)
    return CachedEmbedder(embedder, cache_path(settings.data_dir, embedder)), chunker
