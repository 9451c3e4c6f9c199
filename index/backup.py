"""A consistent copy of a collection taken while it is in use, and putting one back; and
moving an embedded collection to PostgreSQL.

The catalog is copied with SQLite's online backup API: one point in time, while other
connections go on reading and writing. The index snapshot is copied first, under the
lock that snapshots are saved under, so it is never newer than the catalog copy: opening
the restored collection replays the catalog's change log after it (or rebuilds from the
catalog, whose rows hold every vector, if the log no longer reaches back). Originals are
files written once and never changed, so they are hard-linked when the backup is on the
same disk and copied otherwise; those of documents added while the backup runs are
copied after the catalog. A backup appears under its name only when complete.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import InvalidParameter

from .blobs import FolderBlobs, open_blobs
from .originals import Originals
from .store import CATALOG_FILE, INDEX_DIR, file_lock


@dataclass(frozen=True)
class Copied:
    documents: int
    bytes: int


def backup(data_dir: Path, destination: Path) -> Copied:
    catalog = data_dir / CATALOG_FILE
    if not catalog.is_file():
        raise InvalidParameter(f"{data_dir} holds no collection ({CATALOG_FILE} is missing)")
    _check_free(destination)
    partial = destination.with_name(destination.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    index = data_dir / INDEX_DIR
    if (index / "CURRENT").is_file():
        with file_lock(index / "LOCK", fcntl.LOCK_SH):  # no snapshot is saved meanwhile
            _copy_index(index, partial / INDEX_DIR)
    source, target = Originals(FolderBlobs(data_dir)), Originals(FolderBlobs(partial))
    for sha256 in _documents(catalog):  # one removed meanwhile is not needed: skipped
        if source.path(sha256).exists():
            _link_or_copy(source.path(sha256), _folder_for(target.path(sha256)))
    live, copy = sqlite3.connect(catalog), sqlite3.connect(partial / CATALOG_FILE)
    try:
        live.backup(copy)
    finally:
        live.close()
        copy.close()
    documents = _documents(partial / CATALOG_FILE)
    for sha256 in documents:  # added while the backup ran
        if not target.path(sha256).exists():
            if not source.path(sha256).exists():
                raise InvalidParameter(
                    f"the original of a document in the copy ({sha256}) went missing while "
                    "the backup ran: run it again"
                )
            _link_or_copy(source.path(sha256), _folder_for(target.path(sha256)))
    os.replace(partial, destination)
    return Copied(len(documents), _size(destination))


def restore(source: Path, data_dir: Path) -> Copied:
    """Put a backup in place as ``data_dir``, which must be empty or absent (with no
    server running on it)."""
    if not (source / CATALOG_FILE).is_file():
        raise InvalidParameter(f"{source} is not a backup ({CATALOG_FILE} is missing)")
    _check_free(data_dir)
    partial = data_dir.with_name(data_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    if data_dir.exists():
        data_dir.rmdir()
    os.replace(partial, data_dir)
    return Copied(len(_documents(data_dir / CATALOG_FILE)), _size(data_dir))


# what moves to PostgreSQL, in this order (foreign keys), with each table's numbered column;
# sessions (users sign in again) and jobs (their uploads wait in this folder) stay behind
MOVED = {
    "meta": None,
    "generations": None,
    "documents": "id",
    "chunks": "id",
    "rebuilt": None,
    "changes": "seq",
    "versions": None,
    "access_keys": None,
    "index_holders": None,
}


def to_postgres(data_dir: Path, url: str, shared_dir: Path | None = None) -> Copied:
    """Copy the embedded catalog of ``data_dir`` into the empty PostgreSQL database at
    ``url`` (documents, passages, vectors, terms, change log, keys), and its originals into
    ``shared_dir``. The catalog keeps its identity, so the index snapshot in ``data_dir``
    stays valid: a server started on ``data_dir`` with the URL loads it, not rebuilds.
    Run it with no server or worker on ``data_dir``; unfinished jobs are refused."""
    from .catalog import Catalog
    from .database import PostgresDatabase

    catalog = data_dir / CATALOG_FILE
    if not catalog.is_file():
        raise InvalidParameter(f"{data_dir} holds no collection ({CATALOG_FILE} is missing)")
    Catalog(catalog).close()  # at this Koshqon's schema first
    target = Catalog(PostgresDatabase(url))
    try:
        if target.counts() != (0, 0):
            raise InvalidParameter(
                f"the database ({target.database.location}) already holds documents: "
                "give an empty one"
            )
        lite = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
        try:
            lite.execute("BEGIN")  # every table read at one moment
            waiting = lite.execute(
                "SELECT COUNT(*) FROM job_files WHERE state IN ('queued', 'running')"
            ).fetchone()[0]
            if waiting:
                raise InvalidParameter(
                    f"{waiting} queued files wait in {data_dir}: let the jobs finish first"
                )
            with target.transaction() as db:
                db.execute("DELETE FROM meta")
                for table, numbered in MOVED.items():
                    _move_table(lite, db, table, numbered)
                # where the shared catalog keeps its files is decided below, not copied
                db.execute("DELETE FROM meta WHERE key IN ('files', 'shared_folder')")
            with target.database.reading() as db:
                db.execute("ANALYZE")  # the planner's statistics, for the first replica's reads
            sha256s = [row[0] for row in lite.execute("SELECT sha256 FROM documents")]
        finally:
            lite.close()
        copied = _copy_originals(
            sha256s, data_dir, Originals(open_blobs(target, data_dir, shared_dir))
        )
    finally:
        target.close()
    return Copied(len(sha256s), copied)


def _copy_originals(sha256s: list[str], data_dir: Path, shared: Originals) -> int:
    """The originals of an embedded collection copied where a shared one keeps them (a
    shared folder: hard-linked if it is on the same disk; or PostgreSQL); their bytes."""
    source, size = Originals(FolderBlobs(data_dir)), 0
    for sha256 in sha256s:
        path = source.path(sha256)
        size += path.stat().st_size
        if shared.path(sha256) == path or shared.exists(sha256):
            continue
        if shared.path(sha256) is not None:
            _link_or_copy(path, _folder_for(shared.path(sha256)))
        else:
            with path.open("rb") as original:
                shared.blobs.put(shared.key(sha256), original)
    return size


def _move_table(lite: sqlite3.Connection, db, table: str, numbered: str | None) -> None:
    columns = ", ".join(row[1] for row in lite.execute(f"PRAGMA table_info({table})"))
    with db.connection.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in lite.execute(f"SELECT {columns} FROM {table}"):
            copy.write_row(row)
    if numbered:  # the next number follows every one SQLite gave, deleted rows' included
        given = lite.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
        last = max((row[0] for row in given), default=0)
        db.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{numbered}'), "
            f"GREATEST(COALESCE((SELECT MAX({numbered}) FROM {table}), 0), ?, 1), "
            f"GREATEST(COALESCE((SELECT MAX({numbered}) FROM {table}), 0), ?) > 0)",
            (last, last),
        )


def _check_free(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise InvalidParameter(f"{folder} is not empty: give a new or empty folder")


def _documents(catalog: Path) -> list[str]:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT sha256 FROM documents ORDER BY id")]


def _copy_index(index: Path, target: Path) -> None:
    """CURRENT, the snapshot it names and the keyword segments (every file is written
    once, so hard links are safe)."""
    current = (index / "CURRENT").read_text().strip()
    target.mkdir()
    for name in ("CURRENT", current, "segments"):
        if (index / name).is_dir():
            shutil.copytree(index / name, target / name, copy_function=_link_or_copy)
        elif (index / name).exists():
            _link_or_copy(index / name, target / name)


def _folder_for(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:  # another disk
        shutil.copy2(source, target)
