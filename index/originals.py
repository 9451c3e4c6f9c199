"""The original files, kept by content (SHA-256), so everything can be rebuilt from them:
a new chunking, a new embedding model, a new reader, without the librarians' folders."""

from __future__ import annotations

import os
import time
from pathlib import Path


class Originals:
    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        """Write once, atomically (temporary file, then rename)."""
        path = self.path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{sha256}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def collect(self, kept: set[str], older_than_s: float = 3600) -> int:
        """Delete originals that no document has: left by a write that failed or a
        process killed between storing the file and committing its row. Only those older
        than ``older_than_s``, so a write under way in another process keeps its file."""
        if not self.folder.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.folder.glob("*/*"):
            name = path.name.split(".")[1] if path.name.startswith(".") else path.name
            if name not in kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
