"""The catalog's schema, as numbered migrations applied in order, the same for SQLite and
PostgreSQL: a catalog records the number it is at (``meta.schema``), and opening it applies
the ones after, each in a write transaction of its own, so that two processes starting at
once apply each one once. A catalog newer than this Koshqon is refused rather than misread.

To change the schema, append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ingest.errors import KoshqonError

from .database import Database, Dialect


class CatalogTooNew(KoshqonError):
    title = "Catalog made by a newer Koshqon"


BASELINE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id {key},
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
    id {key},
    document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    heading TEXT,
    page_start INTEGER,
    page_end INTEGER,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    vector {blob} NOT NULL,
    terms TEXT NOT NULL DEFAULT '',
    UNIQUE (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE TABLE IF NOT EXISTS changes (
    seq {key},
    chunk_id BIGINT NOT NULL,
    lang TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'remove', 'terms'))
);
CREATE TABLE IF NOT EXISTS versions (
    chunk_id BIGINT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    PRIMARY KEY (chunk_id, version_id)
){without_rowid};
CREATE TABLE IF NOT EXISTS access_keys (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq {key},
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS job_files (
    job_seq BIGINT NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    filename TEXT NOT NULL,
    metadata TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'added', 'skipped', 'failed')),
    reason TEXT,
    document_id BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    claimed_at TEXT,
    seconds {real},
    progress TEXT,
    PRIMARY KEY (job_seq, ordinal)
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    key_name TEXT NOT NULL REFERENCES access_keys(name) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_work ON documents(work);
CREATE INDEX IF NOT EXISTS documents_by_type ON documents(doc_type);
CREATE INDEX IF NOT EXISTS versions_by_version ON versions(version_id);
CREATE INDEX IF NOT EXISTS job_files_by_state ON job_files(state, job_seq, ordinal);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs(finished_at);
"""
# columns SQLite catalogs made before this file existed may lack (added by the baseline)
EARLIER_COLUMNS = {
    "chunks": {"terms": "TEXT NOT NULL DEFAULT ''"},
    "documents": {
        "updated_at": "TEXT",
        "ocr_pages": "TEXT NOT NULL DEFAULT '[]'",
        "work": "TEXT",
        "ocr_doubtful": "TEXT NOT NULL DEFAULT '[]'",
    },
}


def _statements(sql: str, dialect: Dialect) -> list[str]:
    spelled = sql.format(
        key=dialect.key, blob=dialect.blob, real=dialect.real, without_rowid=dialect.without_rowid
    )
    return [statement for statement in spelled.split(";") if statement.strip()]


def _columns(db, dialect: Dialect, table: str) -> set[str]:
    if dialect.name == "sqlite":
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ?",
        (table,),
    )
    return {row[0] for row in rows}


def baseline(db, dialect: Dialect) -> None:
    """The schema as it stood when migrations began."""
    for table, columns in EARLIER_COLUMNS.items():  # a catalog from before some of them
        if table in _tables(db, dialect):
            present = _columns(db, dialect, table)
            for name, spec in columns.items():
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {spec}")
    for statement in _statements(BASELINE, dialect):
        db.execute(statement)


def _tables(db, dialect: Dialect) -> set[str]:
    if dialect.name == "sqlite":
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    rows = db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    return {row[0] for row in rows}


def shared_catalog(db, dialect: Dialect) -> None:
    """What several processes sharing one catalog need: a stored page count (no JSON
    function both engines spell alike), leases on claimed files, and each index holder's
    last snapshot, which the change log must reach back to."""
    db.execute("ALTER TABLE documents ADD COLUMN page_count INTEGER NOT NULL DEFAULT 0")
    rows = db.execute("SELECT id, pages FROM documents").fetchall()
    db.executemany(
        "UPDATE documents SET page_count = ? WHERE id = ?",
        [(len(json.loads(pages)), document_id) for document_id, pages in rows],
    )
    db.execute("ALTER TABLE job_files ADD COLUMN worker TEXT")
    db.execute(f"ALTER TABLE job_files ADD COLUMN lease_until {dialect.real}")
    db.execute(
        "CREATE TABLE IF NOT EXISTS index_holders ("
        "name TEXT PRIMARY KEY, seq BIGINT NOT NULL, saved_at TEXT NOT NULL)"
    )


CHUNKS = """
CREATE TABLE {name} (
    id {key},
    document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    heading TEXT,
    page_start INTEGER,
    page_end INTEGER,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    vector {blob} NOT NULL,
    terms TEXT NOT NULL DEFAULT '',
    UNIQUE (document_id, generation, ordinal)
)"""
CHANGES = """
CREATE TABLE {name} (
    seq {key},
    chunk_id BIGINT NOT NULL,
    lang TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'remove', 'terms', 'generation'))
)"""
GENERATIONS = """
CREATE TABLE IF NOT EXISTS generations (
    number BIGINT PRIMARY KEY,
    model_id TEXT NOT NULL,
    dim INTEGER NOT NULL,
    chunk_tokens INTEGER,
    chunk_overlap INTEGER,
    state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS rebuilt (
    generation BIGINT NOT NULL,
    document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    PRIMARY KEY (generation, document_id)
);
CREATE TABLE IF NOT EXISTS serving (
    name TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_generation ON chunks(generation, id);
CREATE INDEX IF NOT EXISTS rebuilt_by_document ON rebuilt(document_id)
"""


def generations(db, dialect: Dialect) -> None:
    """Passages by generation, so that a rebuild (another model, another passage size)
    writes the new passages beside the ones being searched and switches in one commit
    (index/reindex.py): every chunk row has the generation it belongs to, ``generations``
    records each one's model and passage size, and a document's ``revision`` counts its
    changes, so a rebuild knows which documents changed while it ran. The change log
    learns the switch ('generation'). Documents, keys, jobs and ids are untouched."""
    if "revision" not in _columns(db, dialect, "documents"):
        db.execute("ALTER TABLE documents ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")
    if "generation" in _columns(db, dialect, "chunks"):
        pass  # (a catalog that lost its schema number only)
    elif dialect.name == "postgresql":
        db.execute("ALTER TABLE chunks ADD COLUMN generation BIGINT NOT NULL DEFAULT 1")
        db.execute("ALTER TABLE chunks DROP CONSTRAINT IF EXISTS chunks_document_id_ordinal_key")
        db.execute("ALTER TABLE chunks ADD UNIQUE (document_id, generation, ordinal)")
        db.execute("ALTER TABLE changes DROP CONSTRAINT IF EXISTS changes_op_check")
        db.execute(
            "ALTER TABLE changes ADD CONSTRAINT changes_op_check "
            "CHECK (op IN ('add', 'remove', 'terms', 'generation'))"
        )
    else:  # SQLite changes no constraint in place: the two tables are copied anew
        kept = db.execute("SELECT chunk_id, version_id FROM versions").fetchall()
        _rebuilt(db, dialect, "chunks", CHUNKS, "generation", "1")
        db.executemany("INSERT INTO versions VALUES (?, ?)", [tuple(row) for row in kept])
        _rebuilt(db, dialect, "changes", CHANGES)
    for statement in _statements(GENERATIONS, dialect):
        db.execute(statement)
    model_id = db.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()
    known = db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    if model_id is not None and not known:  # the collection so far: generation 1
        dim = db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0]
        db.execute(
            "INSERT INTO generations (number, model_id, dim, state, started_at) "
            "VALUES (1, ?, ?, 'active', ?)",
            (model_id[0], int(dim), datetime.now(UTC).isoformat(timespec="seconds")),
        )
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )


def _rebuilt(db, dialect: Dialect, table: str, create: str, *added: str) -> None:
    """(SQLite) ``table`` copied into a new one made by ``create``, with the ``added``
    column given the value after it; the numbers it gave stay given (sqlite_sequence).
    The versions table's links to chunks go with the dropped table: the caller keeps them."""
    columns = ", ".join(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
    new = f"{table}_new"
    (statement,) = _statements(create.replace("{name}", new), dialect)
    db.execute(statement)
    names, values = (f", {added[0]}", f", {added[1]}") if added else ("", "")
    db.execute(f"INSERT INTO {new} ({columns}{names}) SELECT {columns}{values} FROM {table}")
    given = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {new} RENAME TO {table}")
    if given is not None:
        db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (given[0], table))
        db.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM sqlite_sequence WHERE name = ?)",
            (table, given[0], table),
        )


def files_in_the_catalog(db, dialect: Dialect) -> None:
    """Originals and queued uploads may live in the catalog, a piece per row, where every
    replica and worker reaches them (index/blobs.py)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS blobs (key TEXT NOT NULL, part INTEGER NOT NULL, "
        f"data {dialect.blob} NOT NULL, written_at {dialect.real} NOT NULL, "
        "PRIMARY KEY (key, part))"
    )


MIGRATIONS = [baseline, shared_catalog, generations, files_in_the_catalog]


def migrate(database: Database) -> int:
    """Apply the migrations this catalog lacks; the schema number it is at."""
    with database.reading() as db:
        found = _version(db, database.dialect)
    if found > len(MIGRATIONS):
        raise CatalogTooNew(
            f"the catalog at {database.location} is at schema {found}, but this Koshqon knows "
            f"schemas up to {len(MIGRATIONS)}: upgrade Koshqon to open it"
        )
    for number, migration in enumerate(MIGRATIONS[found:], start=found + 1):
        with database.writing() as db:
            if _version(db, database.dialect) >= number:  # another process applied it
                continue
            migration(db, database.dialect)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(number),),
            )
    return max(found, len(MIGRATIONS))


def _version(db, dialect: Dialect) -> int:
    if "meta" not in _tables(db, dialect):
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return int(row[0]) if row else 0
