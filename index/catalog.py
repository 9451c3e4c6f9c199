"""The SQLite catalog: documents, chunks and their vectors. It is the source of truth; the
search indexes are caches of it, kept in step through its change log.

Every write to chunks appends to ``changes`` in the same transaction (a chunk added,
removed, or given new keyword terms), so an index saved at change N is brought up to date
by replaying the changes after N, whichever process made them (index/indexes.py). Chunk ids
are never reused. Searches read through a connection of their own per thread (WAL), so
they never wait for a write's transaction."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingest.models import PageSpan, PreparedDocument

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    title TEXT NOT NULL,
    author TEXT,
    year INTEGER,
    doc_type TEXT NOT NULL,
    source_url TEXT,
    language TEXT NOT NULL,
    languages TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT,
    ocr_pages TEXT NOT NULL DEFAULT '[]',
    work TEXT,
    ocr_doubtful TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    heading TEXT,
    page_start INTEGER,
    page_end INTEGER,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    vector BLOB NOT NULL,
    terms TEXT NOT NULL DEFAULT '',
    UNIQUE (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'remove', 'terms'))
);
CREATE TABLE IF NOT EXISTS versions (
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    version_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    PRIMARY KEY (chunk_id, version_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_keys (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS job_files (
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    filename TEXT NOT NULL,
    metadata TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'added', 'skipped', 'failed')),
    reason TEXT,
    document_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT,
    seconds REAL,
    progress TEXT,
    PRIMARY KEY (job_seq, ordinal)
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    key_name TEXT NOT NULL REFERENCES access_keys(name) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS documents_by_work ON documents(work);
CREATE INDEX IF NOT EXISTS documents_by_type ON documents(doc_type);
CREATE INDEX IF NOT EXISTS versions_by_version ON versions(version_id);
CREATE INDEX IF NOT EXISTS job_files_by_state ON job_files(state, job_seq, ordinal);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs(finished_at);
"""

DOCUMENT_COLUMNS = (
    "id, sha256, filename, media_type, title, author, year, doc_type, "
    "source_url, language, languages, added_at, updated_at, ocr_pages, ocr_doubtful, "
    "work, "
    "(SELECT COUNT(*) FROM chunks WHERE document_id = documents.id) AS chunks, "
    "(SELECT COUNT(*) FROM json_each(documents.pages)) AS page_count"
)
CHUNK_COLUMNS = (
    "id, document_id, ordinal, text, lang, heading, page_start, page_end, "
    "char_start, char_end, tokens"
)


EDITABLE = ("title", "author", "year", "doc_type", "source_url", "language", "work")
CONTENT_FIELDS = (
    "sha256",
    "filename",
    "media_type",
    "title",
    "author",
    "year",
    "doc_type",
    "source_url",
    "language",
    "languages",
    "text",
    "pages",
    "ocr_pages",
    "ocr_doubtful",
    "work",
)


def _content(doc: PreparedDocument) -> tuple:
    """The documents row of a prepared document, in CONTENT_FIELDS order."""
    return (
        doc.sha256,
        doc.filename,
        doc.media_type,
        doc.title,
        doc.author,
        doc.year,
        doc.doc_type,
        doc.source_url,
        doc.language,
        json.dumps(list(doc.languages)),
        doc.text,
        json.dumps([[p.number, p.start, p.end] for p in doc.pages]),
        json.dumps(list(doc.ocr_pages)),
        json.dumps(list(doc.ocr_doubtful)),
        doc.work,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class DocumentRecord:
    id: int
    sha256: str
    filename: str
    media_type: str
    title: str
    author: str | None
    year: int | None
    doc_type: str
    source_url: str | None
    language: str
    languages: list[str]
    added_at: str
    updated_at: str | None
    ocr_pages: list[int]  # pages whose text was read by OCR
    ocr_doubtful: list[int]  # those whose reading Tesseract was unsure of
    work: str | None  # the text this document is a language version of (parallel articles)
    chunks: int
    page_count: int


@dataclass(frozen=True)
class ChunkRecord:
    id: int
    document_id: int
    ordinal: int
    text: str
    lang: str
    heading: str | None
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    tokens: int


def _passages(rows) -> tuple[np.ndarray, list[str], np.ndarray, list[list[str]]]:
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
    return ids, [r[1] for r in rows], vectors.reshape(len(rows), -1), [r[3].split() for r in rows]


def _document(row: sqlite3.Row) -> DocumentRecord:
    values = dict(row)
    values["languages"] = json.loads(values["languages"])
    values["ocr_pages"] = json.loads(values["ocr_pages"])
    values["ocr_doubtful"] = json.loads(values["ocr_doubtful"])
    return DocumentRecord(**values)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys=ON")
    return db


class Catalog:
    """One writing connection per process, serialised by a lock, and a reading connection
    per thread; WAL lets readers (and other processes) read while a write is under way."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._db = _connect(path)
        self._lock = threading.RLock()
        self._readers = threading.local()
        self._open_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}
        if "terms" not in columns:  # a catalog written before keyword search existed
            self._db.execute("ALTER TABLE chunks ADD COLUMN terms TEXT NOT NULL DEFAULT ''")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "updated_at" not in columns:  # a catalog written before metadata could be edited
            self._db.execute("ALTER TABLE documents ADD COLUMN updated_at TEXT")
        if "ocr_pages" not in columns:  # a catalog written before OCR
            self._db.execute(
                "ALTER TABLE documents ADD COLUMN ocr_pages TEXT NOT NULL DEFAULT '[]'"
            )
        if "work" not in columns:  # a catalog written before parallel versions
            self._db.execute("ALTER TABLE documents ADD COLUMN work TEXT")
        if "ocr_doubtful" not in columns:  # a catalog written before OCR confidence
            self._db.execute(
                "ALTER TABLE documents ADD COLUMN ocr_doubtful TEXT NOT NULL DEFAULT '[]'"
            )
        self._db.executescript(INDEXES)
        if self.get_meta("catalog_id") is None:
            with self.transaction() as db:
                self.renew_id(db)

    def close(self) -> None:
        with self._lock, self._readers_lock:
            for reader in self._open_readers:
                reader.close()
            self._db.close()

    def _reader(self) -> sqlite3.Connection:
        reader = getattr(self._readers, "db", None)
        if reader is None:
            reader = self._readers.db = _connect(self._path)
            with self._readers_lock:  # not the writer's lock: a write may be under way
                self._open_readers.append(reader)
        return reader

    @contextmanager
    def transaction(self, committing=nullcontext) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error: all of a write or nothing.
        The COMMIT runs inside ``committing()``, so a caller can publish the write's effects
        (index/store.py) before anyone else sees the catalog change without them."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                with committing():
                    self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: tuple = (), db=None) -> list[sqlite3.Row]:
        """Rows read through this thread's reader, or through ``db``, a write transaction
        that must see its own changes."""
        return (db or self._reader()).execute(sql, params).fetchall()

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def renew_id(self, db: sqlite3.Connection) -> None:
        """A new identity: indexes saved for the catalog as it was are no longer valid."""
        self.set_meta(db, "catalog_id", uuid.uuid4().hex)

    # --- the change log ---------------------------------------------------------------------
    def _log(self, db: sqlite3.Connection, op: str, chunks: list[tuple[int, str]]) -> None:
        db.executemany(
            "INSERT INTO changes (chunk_id, lang, op) VALUES (?, ?, ?)",
            [(chunk_id, lang, op) for chunk_id, lang in chunks],
        )

    def last_change(self) -> int:
        """The number of the latest change (0 before any)."""
        rows = self.query("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        return rows[0][0] if rows else 0

    def changes_since(self, seq: int) -> list[tuple[int, int, str, str]]:
        """(seq, chunk id, language, op) of every change after ``seq``, in order."""
        return [
            tuple(r)
            for r in self.query(
                "SELECT seq, chunk_id, lang, op FROM changes WHERE seq > ? ORDER BY seq", (seq,)
            )
        ]

    def forget_changes(self, upto: int) -> None:
        """Drop the log up to ``upto`` (an index saved there no longer needs it)."""
        with self.transaction() as db:
            db.execute("DELETE FROM changes WHERE seq <= ?", (upto,))
            self.set_meta(db, "forgotten", str(max(upto, int(self.get_meta("forgotten") or 0))))

    def forgotten(self) -> int:
        """Changes up to this number are no longer in the log."""
        return int(self.get_meta("forgotten") or 0)

    # --- writes (inside a transaction) ------------------------------------------------------
    def insert_document(
        self,
        db: sqlite3.Connection,
        doc: PreparedDocument,
        vectors: np.ndarray,
        term_lists: list[list[str]],
        kept: DocumentRecord | None = None,
    ) -> tuple[int, list[int]]:
        """Insert a document and its chunks; ``kept`` (when rebuilding) gives the id and
        dates the document had."""
        cursor = db.execute(
            f"INSERT INTO documents (id, {', '.join(CONTENT_FIELDS)}, added_at, updated_at) "
            f"VALUES (?, {', '.join('?' * len(CONTENT_FIELDS))}, ?, ?)",
            (
                kept.id if kept else None,
                *_content(doc),
                kept.added_at if kept else _now(),
                kept.updated_at if kept else None,
            ),
        )
        document_id = cursor.lastrowid
        return document_id, self._insert_chunks(db, document_id, doc, vectors, term_lists)

    def replace_document(
        self,
        db: sqlite3.Connection,
        document_id: int,
        doc: PreparedDocument,
        vectors: np.ndarray,
        term_lists: list[list[str]],
    ) -> tuple[list[int], list[int]]:
        """A new version under the same id: (old chunk ids, new chunk ids)."""
        old = self._chunks_of(db, document_id)
        self._log(db, "remove", old)
        db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        columns = ", ".join(f"{name} = ?" for name in CONTENT_FIELDS)
        db.execute(
            f"UPDATE documents SET {columns}, updated_at = ? WHERE id = ?",
            (*_content(doc), _now(), document_id),
        )
        return [i for i, _ in old], self._insert_chunks(db, document_id, doc, vectors, term_lists)

    def _chunks_of(self, db: sqlite3.Connection, document_id: int) -> list[tuple[int, str]]:
        rows = db.execute("SELECT id, lang FROM chunks WHERE document_id = ?", (document_id,))
        return [(r[0], r[1]) for r in rows]

    def _insert_chunks(self, db, document_id, doc, vectors, term_lists) -> list[int]:
        chunk_ids = []
        for chunk, vector, terms in zip(doc.chunks, vectors, term_lists, strict=True):
            cursor = db.execute(
                "INSERT INTO chunks (document_id, ordinal, text, lang, heading, page_start, "
                "page_end, char_start, char_end, tokens, vector, terms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    document_id,
                    chunk.ordinal,
                    chunk.text,
                    chunk.lang,
                    chunk.heading,
                    chunk.page_start,
                    chunk.page_end,
                    chunk.char_start,
                    chunk.char_end,
                    chunk.tokens,
                    np.asarray(vector, dtype=np.float32).tobytes(),
                    " ".join(terms),
                ),
            )
            chunk_ids.append(cursor.lastrowid)
        self._log(db, "add", list(zip(chunk_ids, (c.lang for c in doc.chunks), strict=True)))
        return chunk_ids

    def update_document(self, db: sqlite3.Connection, document_id: int, changes: dict) -> None:
        """Set metadata columns (names from EDITABLE) and the time of the change."""
        assert set(changes) <= set(EDITABLE), changes
        columns = ", ".join(f"{name} = ?" for name in changes)
        db.execute(
            f"UPDATE documents SET {columns}, updated_at = ? WHERE id = ?",
            (*changes.values(), _now(), document_id),
        )

    def set_versions(
        self, db: sqlite3.Connection, document_ids: list[int], links: list[tuple[int, int]]
    ) -> None:
        """Replace every link from or to the passages of these documents with ``links``
        (passage id, its counterpart's id)."""
        marks = ",".join("?" * len(document_ids))
        chunks = f"SELECT id FROM chunks WHERE document_id IN ({marks})"
        for column in ("chunk_id", "version_id"):  # each by its own index
            db.execute(f"DELETE FROM versions WHERE {column} IN ({chunks})", document_ids)
        db.executemany("INSERT OR IGNORE INTO versions VALUES (?, ?)", links)

    def delete_document(self, db: sqlite3.Connection, document_id: int) -> list[int]:
        chunks = self._chunks_of(db, document_id)
        self._log(db, "remove", chunks)
        db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return [i for i, _ in chunks]

    # --- access keys (service/access.py) ----------------------------------------------------
    def add_key(self, name: str, role: str, digest: str) -> bool:
        """False when a key of that name exists."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO access_keys VALUES (?, ?, ?, ?)",
                (name, role, digest, _now()),
            )
            return cursor.rowcount == 1

    def access_keys(self) -> list[tuple[str, str, str]]:
        """(name, role, created_at) of every key."""
        rows = self.query("SELECT name, role, created_at FROM access_keys ORDER BY name")
        return [tuple(r) for r in rows]

    def revoke_key(self, name: str) -> bool:
        """False when there is no such key; its sessions end with it."""
        with self.transaction() as db:
            return db.execute("DELETE FROM access_keys WHERE name = ?", (name,)).rowcount == 1

    def role_of_key(self, digest: str) -> tuple[str, str] | None:
        """(name, role) of the key with this digest."""
        rows = self.query("SELECT name, role FROM access_keys WHERE digest = ?", (digest,))
        return tuple(rows[0]) if rows else None

    def add_session(self, digest: str, key_name: str, expires_at: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (_now(),))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (digest, key_name, expires_at))

    def role_of_session(self, digest: str) -> tuple[str, str] | None:
        """(key name, role) of an unexpired session, while its key exists."""
        rows = self.query(
            "SELECT k.name, k.role FROM sessions s JOIN access_keys k ON k.name = s.key_name "
            "WHERE s.digest = ? AND s.expires_at >= ?",
            (digest, _now()),
        )
        return tuple(rows[0]) if rows else None

    def end_session(self, digest: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE digest = ?", (digest,))

    # --- reads ------------------------------------------------------------------------------
    def find_by_sha256(self, sha256: str) -> DocumentRecord | None:
        rows = self.query(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE sha256 = ?", (sha256,))
        return _document(rows[0]) if rows else None

    def find_by_filename(self, filename: str) -> list[DocumentRecord]:
        rows = self.query(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE filename = ? ORDER BY id", (filename,)
        )
        return [_document(r) for r in rows]

    def document(self, document_id: int) -> DocumentRecord | None:
        rows = self.query(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?", (document_id,))
        return _document(rows[0]) if rows else None

    def documents_by_id(self, ids: list[int]) -> dict[int, DocumentRecord]:
        """The documents of these ids, in one query (a search's hits)."""
        marks = ",".join("?" * len(ids))
        rows = self.query(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id IN ({marks})", tuple(ids)
        )
        return {r["id"]: _document(r) for r in rows}

    def documents(self) -> list[DocumentRecord]:
        return [
            _document(r)
            for r in self.query(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY id")
        ]

    def document_text(self, document_id: int) -> tuple[str, list[PageSpan]] | None:
        rows = self.query("SELECT text, pages FROM documents WHERE id = ?", (document_id,))
        if not rows:
            return None
        return rows[0]["text"], [PageSpan(*p) for p in json.loads(rows[0]["pages"])]

    def chunks_of(self, document_id: int) -> list[ChunkRecord]:
        rows = self.query(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE document_id = ? ORDER BY ordinal",
            (document_id,),
        )
        return [ChunkRecord(**dict(r)) for r in rows]

    def outline(self, document_id: int, db=None) -> list[ChunkRecord]:
        """A document's passages without their text (headings, places, offsets)."""
        columns = CHUNK_COLUMNS.replace(" text,", " '' AS text,")
        rows = self.query(
            f"SELECT {columns} FROM chunks WHERE document_id = ? ORDER BY ordinal",
            (document_id,),
            db,
        )
        return [ChunkRecord(**dict(r)) for r in rows]

    def under_heading(self, document_id: int, labels: list[str]) -> list[ChunkRecord]:
        """The passages whose heading path ends with one of ``labels`` ("Статья 10")."""
        tests = " OR ".join("heading = ? OR heading LIKE ?" for _ in labels)
        params = [value for label in labels for value in (label, f"% › {label}")]
        rows = self.query(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE document_id = ? AND ({tests}) "
            "ORDER BY ordinal",
            (document_id, *params),
        )
        return [ChunkRecord(**dict(r)) for r in rows]

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these passages, in this order."""
        marks = ",".join("?" * len(ids))
        rows = self.query(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", tuple(ids))
        found = {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}
        return np.stack([found[i] for i in ids])

    def documents_with_headings(self, patterns: tuple[str, ...]) -> list[DocumentRecord]:
        """Documents with a passage whose heading path matches one of the LIKE patterns."""
        tests = " OR ".join("heading LIKE ?" for _ in patterns)
        rows = self.query(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id IN "
            f"(SELECT document_id FROM chunks WHERE {tests}) ORDER BY id",
            patterns,
        )
        return [_document(r) for r in rows]

    def documents_of_work(self, work: str, db=None) -> list[int]:
        """The ids of a work's documents (its language versions)."""
        rows = self.query("SELECT id FROM documents WHERE work = ? ORDER BY id", (work,), db)
        return [r[0] for r in rows]

    def checksums(self) -> set[str]:
        """Every document's SHA-256: the originals to keep."""
        return {r[0] for r in self.query("SELECT sha256 FROM documents")}

    def works(self) -> set[str]:
        return {r[0] for r in self.query("SELECT DISTINCT work FROM documents WHERE work NOT NULL")}

    def versions_of(self, chunk_ids: list[int]) -> dict[int, list[int]]:
        """Each passage's stored counterparts in its document's other language versions."""
        marks = ",".join("?" * len(chunk_ids))
        rows = self.query(
            f"SELECT chunk_id, version_id FROM versions WHERE chunk_id IN ({marks}) "
            "ORDER BY chunk_id, version_id",
            tuple(chunk_ids),
        )
        found: dict[int, list[int]] = {}
        for chunk_id, version_id in rows:
            found.setdefault(chunk_id, []).append(version_id)
        return found

    def documents_of_chunks(self, ids: list[int]) -> dict[int, int]:
        """Chunk id → document id."""
        marks = ",".join("?" * len(ids))
        rows = self.query(f"SELECT id, document_id FROM chunks WHERE id IN ({marks})", tuple(ids))
        return {r[0]: r[1] for r in rows}

    def chunks_by_id(self, ids: list[int]) -> dict[int, ChunkRecord]:
        marks = ",".join("?" * len(ids))
        rows = (
            self.query(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", tuple(ids))
            if ids
            else []
        )
        return {r["id"]: ChunkRecord(**dict(r)) for r in rows}

    def chunk_ids(
        self,
        *,
        langs: list[str] | None = None,
        document_ids: list[int] | None = None,
        doc_types: list[str] | None = None,
    ) -> np.ndarray:
        """Ids of the chunks that pass the filters (all chunks when none is given), sorted."""
        clauses, params = [], []
        for column, values in (
            ("c.lang", langs),
            ("c.document_id", document_ids),
            ("d.doc_type", doc_types),
        ):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        cursor = self._reader().execute(
            f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id {where} "
            "ORDER BY c.id",
            tuple(params),
        )
        return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def passages(self, ids: list[int] | None = None, batch: int = 20_000):
        """What the indexes hold of each chunk, in batches: (ids, languages, vectors, term
        lists), of the given chunks or of all."""
        if ids is None:
            cursor = self._reader().execute(
                "SELECT id, lang, vector, terms FROM chunks ORDER BY id"
            )
            while rows := cursor.fetchmany(batch):
                yield _passages(rows)
            return
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            rows = self.query(
                "SELECT id, lang, vector, terms FROM chunks WHERE id IN "
                f"({','.join('?' * len(part))}) ORDER BY id",
                tuple(part),
            )
            if rows:
                yield _passages(rows)

    def texts_for_terms(self, db: sqlite3.Connection | None = None, document_id: int | None = None):
        """What keyword terms are computed from: (id, lang, title, heading, text) per chunk,
        of every document or of one."""
        where, params = ("WHERE d.id = ?", (document_id,)) if document_id is not None else ("", ())
        sql = (
            "SELECT c.id, c.lang, d.title, c.heading, c.text "
            f"FROM chunks c JOIN documents d ON d.id = c.document_id {where} ORDER BY c.id"
        )
        if db is not None:
            return db.execute(sql, params).fetchall()
        return self.query(sql, params)

    def set_terms(
        self, db: sqlite3.Connection, terms: list[tuple[int, str, list[str]]], log: bool = True
    ) -> None:
        """New keyword terms for chunks: (id, language, terms) each."""
        db.executemany(
            "UPDATE chunks SET terms = ? WHERE id = ?", [(" ".join(t), i) for i, _, t in terms]
        )
        if log:
            self._log(db, "terms", [(i, lang) for i, lang, _ in terms])

    def counts(self) -> tuple[int, int]:
        row = self.query("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)")
        return row[0][0], row[0][1]
