"""The original files, kept by content (SHA-256), so everything can be rebuilt from them:
a new chunking, a new embedding model, a new reader, without the librarians' folders.
They are kept where the collection keeps its files (index/blobs.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from .blobs import Blobs

ORIGINALS_DIR = "originals"


class Originals:
    def __init__(self, blobs: Blobs):
        self.blobs = blobs

    @staticmethod
    def key(sha256: str) -> str:
        return f"{ORIGINALS_DIR}/{sha256[:2]}/{sha256}"

    def put(self, sha256: str, data: bytes) -> None:
        """Write once, durably (a file is renamed into place whole)."""
        if not self.blobs.exists(self.key(sha256)):
            self.blobs.put(self.key(sha256), io.BytesIO(data))

    def get(self, sha256: str) -> bytes:
        return self.blobs.read(self.key(sha256))

    def pieces(self, sha256: str) -> Iterator[bytes]:
        return self.blobs.pieces(self.key(sha256))

    def exists(self, sha256: str) -> bool:
        return self.blobs.exists(self.key(sha256))

    def path(self, sha256: str) -> Path | None:
        """The file on disk, when the collection keeps its files in a folder."""
        return self.blobs.path(self.key(sha256))

    def delete(self, sha256: str) -> None:
        self.blobs.delete(self.key(sha256))

    def collect(self, kept: set[str], older_than_s: float = 3600) -> int:
        """Delete originals that no document has: left by a write that failed or a
        process killed between storing the file and committing its row. Only those older
        than ``older_than_s``, so a write under way in another process keeps its file."""
        removed = 0
        for key, age in list(self.blobs.listed(ORIGINALS_DIR)):
            name = key.rsplit("/", 1)[-1]
            if name.startswith("."):  # a write's temporary file: ".SHA.PID.tmp"
                name = name.split(".")[1]
            if name not in kept and age > older_than_s:
                self.blobs.delete(key)
                removed += 1
        return removed
