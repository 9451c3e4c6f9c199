"""The catalog: documents, chunks and their vectors, in SQLite or PostgreSQL
(index/database.py). It is the source of truth; the search indexes are caches of it, kept in
step through its change log.

Every write to chunks appends to ``changes`` in the same transaction (a chunk added,
removed, or given new keyword terms), so an index saved at change N is brought up to date
by replaying the changes after N, whichever process made them (index/indexes.py). Chunk ids
are never reused. Searches read through connections of their own, so they never wait for
a write's transaction."""

from __future__ import annotations

import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from ingest.models import PageSpan, PreparedDocument

from .database import Database, SQLiteDatabase
from .migrations import migrate

# the generation of passages that searches use (index/reindex.py builds the next one)
ACTIVE = "(SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'generation')"
DOCUMENT_COLUMNS = (
    "id, sha256, filename, media_type, title, author, year, doc_type, "
    "source_url, language, languages, added_at, updated_at, ocr_pages, ocr_doubtful, "
    "work, "
    "(SELECT COUNT(*) FROM chunks WHERE document_id = documents.id "
    f"AND generation = {ACTIVE}) AS chunks, "
    "page_count"
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
    "page_count",
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
        len(doc.pages),
    )


def placeholders(values) -> str:
    """The parameters of ``IN (…)`` for these values (NULL, which matches nothing, for none:
    PostgreSQL refuses an empty list)."""
    return ",".join("?" * len(values)) or "NULL"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Generation:
    """How a generation of the collection's passages is made: the model that encodes them
    and the passage size (None: not recorded, for a collection older than generations)."""

    number: int
    model_id: str
    dim: int
    chunk_tokens: int | None
    chunk_overlap: int | None
    state: str  # building, active or retired


GENERATION_COLUMNS = "number, model_id, dim, chunk_tokens, chunk_overlap, state"


def _generation(where: int | None) -> str:
    """The SQL for a generation's number: ``where``, or the active one."""
    return ACTIVE if where is None else str(int(where))


@dataclass(frozen=True)
class ToRebuild:
    """What a document's passages of a new generation are made from."""

    id: int
    revision: int  # of its content and metadata, when read
    title: str
    work: str | None
    text: str
    pages: list[PageSpan]


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


def _document(row) -> DocumentRecord:
    values = dict(row)
    values["languages"] = json.loads(values["languages"])
    values["ocr_pages"] = json.loads(values["ocr_pages"])
    values["ocr_doubtful"] = json.loads(values["ocr_doubtful"])
    return DocumentRecord(**values)


class Catalog:
    def __init__(self, where: Path | Database):
        """``where``: a SQLite file, or an open database (index/database.py)."""
        self.database = where if isinstance(where, Database) else SQLiteDatabase(where)
        self.dialect = self.database.dialect
        migrate(self.database)
        if self.get_meta("catalog_id") is None:
            with self.transaction() as db:
                if self.get_meta("catalog_id", db) is None:  # another replica's start
                    self.renew_id(db)

    def close(self) -> None:
        self.database.close()

    def transaction(self, committing=nullcontext, serialised: bool = True):
        """A write transaction, rolled back on any error: all of a write or nothing; see
        Database.writing."""
        return self.database.writing(committing, serialised)

    def query(self, sql: str, params: tuple = (), db=None) -> list:
        """Rows read through a reader, or through ``db``, a write transaction that must see
        its own changes."""
        if db is not None:
            return db.execute(sql, params).fetchall()
        with self.database.reading() as reader:
            return reader.execute(sql, params).fetchall()

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str, db=None) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,), db)
        return rows[0]["value"] if rows else None

    def set_meta(self, db, key: str, value: str) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def renew_id(self, db) -> None:
        """A new identity: indexes saved for the catalog as it was are no longer valid."""
        self.set_meta(db, "catalog_id", uuid.uuid4().hex)

    # --- the change log ---------------------------------------------------------------------
    def _log(self, db, op: str, chunks: list[tuple[int, str]]) -> None:
        db.executemany(
            "INSERT INTO changes (chunk_id, lang, op) VALUES (?, ?, ?)",
            [(chunk_id, lang, op) for chunk_id, lang in chunks],
        )

    def _log_generation(self, db, number: int) -> None:
        """The switch to generation ``number``: indexes of another one stop here."""
        db.execute(
            "INSERT INTO changes (chunk_id, lang, op) VALUES (?, '', 'generation')", (number,)
        )

    def last_change(self) -> int:
        """The number of the latest change (0 before any)."""
        rows = self.query("SELECT MAX(seq) FROM changes")
        return rows[0][0] or self.forgotten()

    def changes_since(self, seq: int) -> list[tuple[int, int, str, str]]:
        """(seq, chunk id, language, op) of every change after ``seq``, in order."""
        return [
            tuple(r)
            for r in self.query(
                "SELECT seq, chunk_id, lang, op FROM changes WHERE seq > ? ORDER BY seq", (seq,)
            )
        ]

    def forget_changes(self, holder: str, saved: int, upto: int) -> None:
        """Record that ``holder``'s indexes were saved at change ``saved``, and drop the log
        up to ``upto``, or as far as every other holder seen in a week still needs."""
        week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO index_holders VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET seq = excluded.seq, saved_at = excluded.saved_at",
                (holder, saved, _now()),
            )
            others = db.execute(
                "SELECT MIN(seq) FROM index_holders WHERE name != ? AND saved_at > ?",
                (holder, week_ago),
            ).fetchone()[0]
            upto = min(upto, others) if others is not None else upto
            db.execute("DELETE FROM changes WHERE seq <= ?", (upto,))
            forgotten = max(upto, int(self.get_meta("forgotten", db) or 0))
            self.set_meta(db, "forgotten", str(forgotten))

    def forgotten(self) -> int:
        """Changes up to this number are no longer in the log."""
        return int(self.get_meta("forgotten") or 0)

    # --- writes (inside a transaction) ------------------------------------------------------
    def insert_document(
        self,
        db,
        doc: PreparedDocument,
        vectors: np.ndarray,
        term_lists: list[list[str]],
        generation: int,
    ) -> tuple[int, list[int]]:
        """Insert a document and its chunks (of ``generation``, the active one); its id is
        one the catalog never gave before."""
        columns = [*CONTENT_FIELDS, "added_at"]
        document_id = db.execute(
            f"INSERT INTO documents ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) RETURNING id",
            (*_content(doc), _now()),
        ).fetchone()[0]
        chunks = self._insert_chunks(db, document_id, doc.chunks, vectors, term_lists, generation)
        return document_id, chunks

    def replace_document(
        self,
        db,
        document_id: int,
        doc: PreparedDocument,
        vectors: np.ndarray,
        term_lists: list[list[str]],
        generation: int,
    ) -> tuple[list[int], list[int]]:
        """A new version under the same id: (old chunk ids, new chunk ids). Its passages of
        a generation being built go too (the rebuild makes them again)."""
        old = self._chunks_of(db, document_id)
        self._log(db, "remove", old)
        db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        columns = ", ".join(f"{name} = ?" for name in CONTENT_FIELDS)
        db.execute(
            f"UPDATE documents SET {columns}, updated_at = ?, revision = revision + 1 WHERE id = ?",
            (*_content(doc), _now(), document_id),
        )
        new = self._insert_chunks(db, document_id, doc.chunks, vectors, term_lists, generation)
        return [i for i, _ in old], new

    def _chunks_of(self, db, document_id: int, generation: int | None = None):
        """(id, language) of a document's passages of ``generation`` (the active one)."""
        rows = db.execute(
            "SELECT id, lang FROM chunks WHERE document_id = ? "
            f"AND generation = {_generation(generation)}",
            (document_id,),
        )
        return [(r[0], r[1]) for r in rows]

    def _insert_chunks(
        self, db, document_id, chunks, vectors, term_lists, generation, log=True
    ) -> list[int]:
        """Passages of ``generation``; logged for the indexes unless it is being built."""
        chunk_ids = []
        for chunk, vector, terms in zip(chunks, vectors, term_lists, strict=True):
            cursor = db.execute(
                "INSERT INTO chunks (document_id, generation, ordinal, text, lang, heading, "
                "page_start, page_end, char_start, char_end, tokens, vector, terms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    document_id,
                    generation,
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
            chunk_ids.append(cursor.fetchone()[0])
        if log:
            self._log(db, "add", list(zip(chunk_ids, (c.lang for c in chunks), strict=True)))
        return chunk_ids

    def update_document(self, db, document_id: int, changes: dict) -> None:
        """Set metadata columns (names from EDITABLE) and the time of the change."""
        assert set(changes) <= set(EDITABLE), changes
        columns = ", ".join(f"{name} = ?" for name in changes)
        db.execute(
            f"UPDATE documents SET {columns}, updated_at = ?, revision = revision + 1 WHERE id = ?",
            (*changes.values(), _now(), document_id),
        )

    def set_versions(
        self, db, document_ids: list[int], links: list[tuple[int, int]], generation=None
    ) -> None:
        """Replace every link from or to the passages of these documents of ``generation``
        (the active one) with ``links`` (passage id, its counterpart's id)."""
        marks = placeholders(document_ids)
        chunks = (
            f"SELECT id FROM chunks WHERE document_id IN ({marks}) "
            f"AND generation = {_generation(generation)}"
        )
        for column in ("chunk_id", "version_id"):  # each by its own index
            db.execute(f"DELETE FROM versions WHERE {column} IN ({chunks})", document_ids)
        db.executemany("INSERT INTO versions VALUES (?, ?) ON CONFLICT DO NOTHING", links)

    def delete_document(self, db, document_id: int) -> list[int]:
        chunks = self._chunks_of(db, document_id)
        self._log(db, "remove", chunks)
        db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return [i for i, _ in chunks]

    # --- generations (index/reindex.py) -----------------------------------------------------
    def active_generation(self, db=None) -> Generation | None:
        """The generation searches use (None in a new catalog)."""
        rows = self.query(
            f"SELECT {GENERATION_COLUMNS} FROM generations WHERE number = {ACTIVE}", (), db
        )
        return Generation(*rows[0]) if rows else None

    def generations(self) -> list[Generation]:
        rows = self.query(f"SELECT {GENERATION_COLUMNS} FROM generations ORDER BY number")
        return [Generation(*row) for row in rows]

    def first_generation(self, model_id: str, dim: int, tokens: int, overlap: int) -> Generation:
        """A new catalog's generation 1 (or the one another process made meanwhile)."""
        with self.transaction() as db:
            if (found := self.active_generation(db)) is not None:
                return found
            self._new_generation(db, 1, model_id, dim, tokens, overlap, "active")
            self.set_meta(db, "generation", "1")
            self.set_meta(db, "model_id", model_id)
            self.set_meta(db, "dim", str(dim))
            return self.active_generation(db)

    def _new_generation(self, db, number, model_id, dim, tokens, overlap, state) -> None:
        db.execute(
            f"INSERT INTO generations ({GENERATION_COLUMNS}, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (number, model_id, dim, tokens, overlap, state, _now()),
        )

    def building_generation(
        self, model_id: str, dim: int, tokens: int, overlap: int
    ) -> tuple[Generation, list[int]]:
        """The generation to build with this model and passage size: one left half-built
        with the same (resumed), else a new number. Also the numbers of the other
        generations whose passages are left to delete (built by a rebuild that stopped, or
        retired)."""
        with self.transaction() as db:
            rows = db.execute(
                f"SELECT {GENERATION_COLUMNS} FROM generations WHERE state = 'building'"
            ).fetchall()
            wanted = (model_id, dim, tokens, overlap)
            resumed = next((Generation(*r) for r in rows if tuple(r[1:5]) == wanted), None)
            if resumed is None:
                number = db.execute("SELECT MAX(number) FROM generations").fetchone()[0] or 0
                self._new_generation(db, number + 1, *wanted, "building")
                resumed = Generation(number + 1, *wanted, "building")
            db.execute(
                "UPDATE generations SET state = 'retired', finished_at = ? "
                "WHERE state = 'building' AND number != ?",
                (_now(), resumed.number),
            )
            leftover = db.execute(
                f"SELECT number FROM generations WHERE number != {ACTIVE} AND number != ? "
                "AND EXISTS (SELECT 1 FROM chunks WHERE chunks.generation = generations.number)",
                (resumed.number,),
            ).fetchall()
        return resumed, [row[0] for row in leftover]

    def to_rebuild(
        self, generation: int, limit: int | None, after: int = 0, db=None
    ) -> list[ToRebuild]:
        """Documents after id ``after`` whose passages of ``generation`` are missing or
        older than their last change, up to ``limit`` (None: all), by id."""
        rows = self.query(
            "SELECT d.id, d.revision, d.title, d.work, d.text, d.pages FROM documents d "
            "LEFT JOIN rebuilt r ON r.document_id = d.id AND r.generation = ? "
            "WHERE d.id > ? AND (r.revision IS NULL OR r.revision != d.revision) ORDER BY d.id"
            + ("" if limit is None else f" LIMIT {int(limit)}"),
            (generation, after),
            db,
        )
        return [
            ToRebuild(*r[:5], pages=[PageSpan(*p) for p in json.loads(r["pages"])]) for r in rows
        ]

    def put_rebuilt(
        self, db, generation: int, document_id: int, revision: int, chunks, vectors, terms
    ) -> list[int]:
        """A document's passages of ``generation`` (replacing any it had), made from its
        ``revision``; not logged: no index follows a generation before it is active."""
        db.execute(
            "DELETE FROM chunks WHERE document_id = ? AND generation = ?",
            (document_id, generation),
        )
        ids = self._insert_chunks(db, document_id, chunks, vectors, terms, generation, log=False)
        db.execute(
            "INSERT INTO rebuilt (generation, document_id, revision) VALUES (?, ?, ?) "
            "ON CONFLICT (generation, document_id) DO UPDATE SET revision = excluded.revision",
            (generation, document_id, revision),
        )
        return ids

    def activate(self, db, generation: Generation, logged: list[tuple[str, list]]) -> int:
        """Make ``generation`` the one searched, in the caller's transaction: the switch is
        logged, then ``logged`` ((op, [(chunk id, language)])) the changes that an index of
        the generation saved before the switch lacks; the previous generation retires.
        The switch's number in the log."""
        db.execute(
            f"UPDATE generations SET state = 'retired', finished_at = ? WHERE number = {ACTIVE}",
            (_now(),),
        )
        db.execute(
            "UPDATE generations SET state = 'active', finished_at = ? WHERE number = ?",
            (_now(), generation.number),
        )
        self.set_meta(db, "generation", str(generation.number))
        self.set_meta(db, "model_id", generation.model_id)
        self.set_meta(db, "dim", str(generation.dim))
        self._log_generation(db, generation.number)
        seq = db.execute("SELECT MAX(seq) FROM changes").fetchone()[0]
        for op, chunks in logged:
            self._log(db, op, chunks)
        db.execute("DELETE FROM rebuilt WHERE generation = ?", (generation.number,))
        return seq

    def drop_generation(self, number: int, batch: int = 5_000) -> int:
        """Delete the passages of a generation no longer searched, a batch per transaction
        (writes wait for a batch, not for all); the number deleted."""
        deleted = 0
        while True:
            with self.transaction(serialised=False) as db:
                ids = [
                    row[0]
                    for row in db.execute(
                        "SELECT id FROM chunks WHERE generation = ? ORDER BY id LIMIT ?",
                        (number, batch),
                    ).fetchall()
                ]
                db.execute(f"DELETE FROM chunks WHERE id IN ({placeholders(ids)})", ids)
                db.execute("DELETE FROM rebuilt WHERE generation = ?", (number,))
            deleted += len(ids)
            if len(ids) < batch:
                return deleted

    def serve(self, name: str, generation: int | None) -> None:
        """Record that process ``name`` searches ``generation`` (None: it stopped)."""
        with self.transaction(serialised=False) as db:
            if generation is None:
                db.execute("DELETE FROM serving WHERE name = ?", (name,))
                return
            db.execute(
                "INSERT INTO serving VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET generation = excluded.generation, seen_at = excluded.seen_at",
                (name, generation, _now()),
            )

    def serving(self) -> list[tuple[str, int]]:
        """(process, generation) of each process that searches the catalog."""
        return [tuple(r) for r in self.query("SELECT name, generation FROM serving")]

    # --- access keys (service/access.py) ----------------------------------------------------
    def add_key(self, name: str, role: str, digest: str) -> bool:
        """False when a key of that name exists."""
        with self.transaction(serialised=False) as db:  # not the change log's
            cursor = db.execute(
                "INSERT INTO access_keys VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (name, role, digest, _now()),
            )
            return cursor.rowcount == 1

    def access_keys(self) -> list[tuple[str, str, str]]:
        """(name, role, created_at) of every key."""
        rows = self.query("SELECT name, role, created_at FROM access_keys ORDER BY name")
        return [tuple(r) for r in rows]

    def revoke_key(self, name: str) -> bool:
        """False when there is no such key; its sessions end with it."""
        with self.transaction(serialised=False) as db:  # not the change log's
            return db.execute("DELETE FROM access_keys WHERE name = ?", (name,)).rowcount == 1

    def role_of_key(self, digest: str) -> tuple[str, str] | None:
        """(name, role) of the key with this digest."""
        rows = self.query("SELECT name, role FROM access_keys WHERE digest = ?", (digest,))
        return tuple(rows[0]) if rows else None

    def add_session(self, digest: str, key_name: str, expires_at: str) -> None:
        with self.transaction(serialised=False) as db:  # not the change log's
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
        with self.transaction(serialised=False) as db:  # not the change log's
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

    def document(self, document_id: int, db=None) -> DocumentRecord | None:
        rows = self.query(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?", (document_id,), db
        )
        return _document(rows[0]) if rows else None

    def documents_by_id(self, ids: list[int]) -> dict[int, DocumentRecord]:
        """The documents of these ids, in one query (a search's hits)."""
        marks = placeholders(ids)
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
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE document_id = ? "
            f"AND generation = {ACTIVE} ORDER BY ordinal",
            (document_id,),
        )
        return [ChunkRecord(**dict(r)) for r in rows]

    def outline(self, document_id: int, db=None, generation: int | None = None):
        """A document's passages of ``generation`` (the active one) without their text
        (headings, places, offsets)."""
        columns = CHUNK_COLUMNS.replace(" text,", " '' AS text,")
        rows = self.query(
            f"SELECT {columns} FROM chunks WHERE document_id = ? "
            f"AND generation = {_generation(generation)} ORDER BY ordinal",
            (document_id,),
            db,
        )
        return [ChunkRecord(**dict(r)) for r in rows]

    def under_heading(self, document_id: int, labels: list[str]) -> list[ChunkRecord]:
        """The passages whose heading path ends with one of ``labels`` ("Статья 10")."""
        tests = " OR ".join("heading = ? OR heading LIKE ?" for _ in labels)
        params = [value for label in labels for value in (label, f"% › {label}")]
        rows = self.query(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE document_id = ? "
            f"AND generation = {ACTIVE} AND ({tests}) ORDER BY ordinal",
            (document_id, *params),
        )
        return [ChunkRecord(**dict(r)) for r in rows]

    def vectors_of(self, ids: list[int], db=None) -> np.ndarray:
        """The stored vectors of these passages, in this order."""
        marks = placeholders(ids)
        rows = self.query(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", tuple(ids), db)
        found = {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}
        return np.stack([found[i] for i in ids])

    def documents_with_headings(self, patterns: tuple[str, ...]) -> list[DocumentRecord]:
        """Documents with a passage whose heading path matches one of the LIKE patterns."""
        tests = " OR ".join("heading LIKE ?" for _ in patterns)
        rows = self.query(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id IN (SELECT document_id "
            f"FROM chunks WHERE generation = {ACTIVE} AND ({tests})) ORDER BY id",
            patterns,
        )
        return [_document(r) for r in rows]

    def titles(self) -> list[tuple[int, str, str, str]]:
        """(id, title, file name, language) of every document, lightly (no passage counts)."""
        rows = self.query("SELECT id, title, filename, language FROM documents ORDER BY id")
        return [tuple(r) for r in rows]

    def documents_of_work(self, work: str, db=None) -> list[int]:
        """The ids of a work's documents (its language versions)."""
        rows = self.query("SELECT id FROM documents WHERE work = ? ORDER BY id", (work,), db)
        return [r[0] for r in rows]

    def checksums(self) -> set[str]:
        """Every document's SHA-256: the originals to keep."""
        return {r[0] for r in self.query("SELECT sha256 FROM documents")}

    def works(self) -> set[str]:
        rows = self.query("SELECT DISTINCT work FROM documents WHERE work IS NOT NULL")
        return {r[0] for r in rows}

    def versions_of(self, chunk_ids: list[int]) -> dict[int, list[int]]:
        """Each passage's stored counterparts in its document's other language versions."""
        marks = placeholders(chunk_ids)
        rows = self.query(
            f"SELECT chunk_id, version_id FROM versions WHERE chunk_id IN ({marks}) "
            "ORDER BY chunk_id, version_id",
            tuple(chunk_ids),
        )
        found: dict[int, list[int]] = {}
        for chunk_id, version_id in rows:
            found.setdefault(chunk_id, []).append(version_id)
        return found

    def languages_of(self, ids: list[int], db=None) -> dict[int, str]:
        """Chunk id → its language."""
        rows = self.query(f"SELECT id, lang FROM chunks WHERE id IN ({placeholders(ids)})", ids, db)
        return {r[0]: r[1] for r in rows}

    def documents_of_chunks(self, ids: list[int]) -> dict[int, int]:
        """Chunk id → document id."""
        marks = placeholders(ids)
        rows = self.query(f"SELECT id, document_id FROM chunks WHERE id IN ({marks})", tuple(ids))
        return {r[0]: r[1] for r in rows}

    def chunks_by_id(self, ids: list[int], db=None) -> dict[int, ChunkRecord]:
        marks = placeholders(ids)
        rows = (
            self.query(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", tuple(ids), db)
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
        generation: int | None = None,
        db=None,
    ) -> np.ndarray:
        """Ids of the chunks of ``generation`` (the active one) that pass the filters (all
        when none is given), sorted."""
        clauses, params = [f"c.generation = {_generation(generation)}"], []
        for column, values in (
            ("c.lang", langs),
            ("c.document_id", document_ids),
            ("d.doc_type", doc_types),
        ):
            if values:
                clauses.append(f"{column} IN ({placeholders(values)})")
                params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}"
        rows = self.query(
            f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id {where} "
            "ORDER BY c.id",
            tuple(params),
            db,
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def passages(
        self, ids: list[int] | None = None, batch: int = 20_000, generation: int | None = None
    ):
        """What the indexes hold of each chunk, in batches: (ids, languages, vectors, term
        lists), of the given chunks or of all of ``generation`` (the active one)."""
        if ids is None:
            sql = (
                "SELECT id, lang, vector, terms FROM chunks "
                f"WHERE generation = {_generation(generation)} ORDER BY id"
            )
            for rows in self.database.stream(sql, (), batch):
                yield _passages(rows)
            return
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            rows = self.query(
                "SELECT id, lang, vector, terms FROM chunks WHERE id IN "
                f"({placeholders(part)}) ORDER BY id",
                tuple(part),
            )
            if rows:
                yield _passages(rows)

    def texts_for_terms(self, db=None, document_id: int | None = None):
        """What keyword terms are computed from: (id, lang, title, heading, text) per chunk
        of the active generation, of every document or of one."""
        where, params = ("AND d.id = ?", (document_id,)) if document_id is not None else ("", ())
        sql = (
            "SELECT c.id, c.lang, d.title, c.heading, c.text "
            "FROM chunks c JOIN documents d ON d.id = c.document_id "
            f"WHERE c.generation = {ACTIVE} {where} ORDER BY c.id"
        )
        if db is not None:
            return db.execute(sql, params).fetchall()
        return self.query(sql, params)

    def set_terms(self, db, terms: list[tuple[int, str, list[str]]], log: bool = True) -> None:
        """New keyword terms for chunks: (id, language, terms) each."""
        db.executemany(
            "UPDATE chunks SET terms = ? WHERE id = ?", [(" ".join(t), i) for i, _, t in terms]
        )
        if log:
            self._log(db, "terms", [(i, lang) for i, lang, _ in terms])

    def counts(self) -> tuple[int, int]:
        row = self.query(
            "SELECT (SELECT COUNT(*) FROM documents), "
            f"(SELECT COUNT(*) FROM chunks WHERE generation = {ACTIVE})"
        )
        return row[0][0], row[0][1]
