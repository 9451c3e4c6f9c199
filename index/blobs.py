"""Where files are kept, by key: the originals documents were made from, and uploads
waiting in the job queue. Every process that works on a collection must reach them.

- In a folder (``FolderBlobs``): the data folder of an embedded collection, or, for a
  PostgreSQL catalog shared by several machines, a folder they all mount
  (KOSHQON_SHARED_DIR). A process checks at start that it sees the same folder as the
  others: the first one writes a marker with a random token into it and records the token
  in the catalog; one that does not find that token there refuses to start.
- In PostgreSQL itself (``DatabaseBlobs``), when a shared catalog has no shared folder:
  every process reaches them through the catalog's connection. A file is stored in
  pieces of ``PIECE`` bytes, written and read one at a time, so a 50 MB upload never sits
  whole in a query.

docs/deployment.md compares the two (benchmarks/blobs.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from ingest.errors import KoshqonError

from .catalog import Catalog

PIECE = 1 << 20  # bytes of a file per row in PostgreSQL
MARKER = ".koshqon-shared"


class FilesUnreachable(KoshqonError):
    """This process does not reach the files the other processes of its catalog keep."""

    title = "Shared files unreachable"


class Blobs:
    """Files by key ("originals/ab/ab12…", "queue/JOB/0/upload"), written once."""

    location: str  # where they are, in words

    def put(self, key: str, source: BinaryIO) -> int:
        """Store what ``source`` holds under ``key`` durably; its size."""
        raise NotImplementedError

    def pieces(self, key: str) -> Iterator[bytes]:
        """The file's content, piece by piece (FileNotFoundError if there is none)."""
        raise NotImplementedError

    def read(self, key: str) -> bytes:
        return b"".join(self.pieces(key))

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def path(self, key: str) -> Path | None:
        """Where the file lies on disk, if it does (to be served as it is)."""
        return None

    def delete(self, key: str) -> None:
        """Delete ``key`` (a file, or everything under it, as a folder)."""
        raise NotImplementedError

    def listed(self, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, seconds since it was written) of every file under ``prefix``."""
        raise NotImplementedError

    def reachable(self) -> str | None:
        """Why this process cannot reach the files the others keep now, if it cannot."""
        return None


class FolderBlobs(Blobs):
    def __init__(self, root: Path, catalog: Catalog | None = None):
        """Files under ``root``; with ``catalog``, a folder shared by every process of that
        catalog, checked now and by ``reachable``."""
        self.root, self.catalog, self.token = root, catalog, None
        self.location = str(root)
        if catalog is not None:
            self.token = _agreed_token(root, catalog)

    def _file(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, source: BinaryIO) -> int:
        path = self._file(key)
        new = [f for f in (path.parent, *path.parent.parents) if not f.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as copy:
                while piece := source.read(PIECE):
                    copy.write(piece)
                copy.flush()
                os.fsync(copy.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        for folder in (path.parent, *(f.parent for f in new)):  # its name, on disk too
            _sync_folder(folder)
        return path.stat().st_size

    def pieces(self, key: str) -> Iterator[bytes]:
        with self._file(key).open("rb") as file:
            while piece := file.read(PIECE):
                yield piece

    def read(self, key: str) -> bytes:
        return self._file(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._file(key).is_file()

    def path(self, key: str) -> Path | None:
        return self._file(key)

    def delete(self, key: str) -> None:
        path = self._file(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        with suppress(OSError):  # a folder left empty ("queue/JOB/0" of a done file)
            path.parent.rmdir()

    def listed(self, prefix: str) -> Iterator[tuple[str, float]]:
        folder = self._file(prefix)
        if not folder.is_dir():
            return
        now = time.time()
        for path in folder.rglob("*"):
            if path.is_file():
                yield str(path.relative_to(self.root)), now - path.stat().st_mtime

    def reachable(self) -> str | None:
        if self.token is None:
            return None
        try:
            found = (self.root / MARKER).read_text().strip()
        except OSError as error:
            found = f"unreadable ({error.strerror})"
        if found != self.token:
            return (
                f"the shared folder {self.root} no longer holds this catalog's marker "
                f"({MARKER}): is it still mounted?"
            )
        return None


def _agreed_token(root: Path, catalog: Catalog) -> str:
    """The token of the folder every process of ``catalog`` shares: made by the first one
    (its marker written before the catalog names it), checked by the others."""
    with catalog.transaction(serialised=False) as db:
        token = catalog.get_meta("shared_folder", db)
        if token is None:
            token = secrets.token_hex(16)
            root.mkdir(parents=True, exist_ok=True)
            marker = root / f".{MARKER}.{os.getpid()}.tmp"
            marker.write_text(token)
            os.replace(marker, root / MARKER)
            _sync_folder(root)
            catalog.set_meta(db, "shared_folder", token)
    try:
        found = (root / MARKER).read_text().strip()
    except OSError:
        found = None
    if found != token:
        raise FilesUnreachable(
            f"KOSHQON_SHARED_DIR={root} is not the folder the other processes of this catalog "
            f"keep their files in: its marker ({MARKER}) is "
            f"{'missing' if found is None else 'another catalog’s'}. Mount the same shared "
            "folder at this path on every machine (NFS, say), or unset KOSHQON_SHARED_DIR on "
            "all of them to keep the files in PostgreSQL."
        )
    return token


class DatabaseBlobs(Blobs):
    """Files in the catalog's ``blobs`` table, a piece per row."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.location = f"PostgreSQL ({catalog.database.location})"

    def put(self, key: str, source: BinaryIO) -> int:
        size, part = 0, 0
        with self.catalog.transaction(serialised=False) as db:
            db.execute("DELETE FROM blobs WHERE key = ?", (key,))
            while (piece := source.read(PIECE)) or part == 0:
                db.execute(
                    "INSERT INTO blobs (key, part, data, written_at) VALUES (?, ?, ?, ?)",
                    (key, part, piece, time.time()),
                )
                size, part = size + len(piece), part + 1
                if not piece:
                    break
        return size

    def pieces(self, key: str) -> Iterator[bytes]:
        part = 0
        while True:
            rows = self.catalog.query(
                "SELECT data FROM blobs WHERE key = ? AND part = ?", (key, part)
            )
            if not rows:
                if part == 0:
                    raise FileNotFoundError(key)
                return
            yield bytes(rows[0][0])
            part += 1

    def exists(self, key: str) -> bool:
        return bool(self.catalog.query("SELECT 1 FROM blobs WHERE key = ? AND part = 0", (key,)))

    def delete(self, key: str) -> None:
        with self.catalog.transaction(serialised=False) as db:
            db.execute(
                "DELETE FROM blobs WHERE key = ? OR key LIKE ? ESCAPE '\\'",
                (key, f"{_escaped(key)}/%"),
            )

    def listed(self, prefix: str) -> Iterator[tuple[str, float]]:
        rows = self.catalog.query(
            "SELECT key, written_at FROM blobs WHERE part = 0 AND key LIKE ? ESCAPE '\\'",
            (f"{_escaped(prefix)}/%",),
        )
        now = time.time()
        for key, written_at in rows:
            yield key, now - written_at


def _escaped(key: str) -> str:
    """``key`` as a LIKE prefix (keys hold letters, digits, '/' and '_' at most)."""
    return key.replace("_", "\\_").replace("%", "\\%")


def _sync_folder(folder: Path) -> None:
    """A new entry of ``folder`` on disk too (a power cut keeps what a commit names)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_blobs(catalog: Catalog, data_dir: Path, shared_dir: Path | None) -> Blobs:
    """Where this collection keeps its files: the shared folder if one is configured (and
    checked against the catalog's marker when the catalog is shared), else the data folder
    of an embedded catalog, or PostgreSQL. The catalog records which, so that processes
    configured differently refuse to start rather than lose files."""
    shared = catalog.dialect.name == "postgresql"
    kept = "folder" if shared_dir or not shared else "database"
    recorded = catalog.get_meta("files")
    if recorded is None:
        with catalog.transaction(serialised=False) as db:
            recorded = catalog.get_meta("files", db)
            if recorded is None:
                catalog.set_meta(db, "files", kept)
                recorded = kept
    if recorded != kept:
        where = {
            "folder": "a shared folder (set KOSHQON_SHARED_DIR to it)",
            "database": ("PostgreSQL (unset KOSHQON_SHARED_DIR)"),
        }[recorded]
        raise FilesUnreachable(
            f"this catalog keeps its originals and uploads in {where}; this process is "
            f"configured for {'a folder' if kept == 'folder' else 'PostgreSQL'}"
        )
    if kept == "database":
        return DatabaseBlobs(catalog)
    return FolderBlobs(shared_dir or data_dir, catalog if shared else None)
