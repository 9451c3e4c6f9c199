"""The store: the only writer of the catalog and the indexes, keeping them in step.

Documents are added in one catalog transaction (documents, chunks, vectors, keyword terms
and the change log together). The indexes (index/indexes.py) are caches of the catalog:
just before the COMMIT the store takes the indexes' write lock, and releases it once they
have replayed the change, so a search never sees the catalog and the indexes disagree.
Changes made by another process (the CLI ingesting while the server runs, or another
replica and the workers sharing a PostgreSQL catalog) are replayed the same way at the
next search. Searches share a read lock and run side by side; a write holds them off only
while its change is replayed (milliseconds for a document). Saving a snapshot holds off
changes to the indexes, not searches.
"""

from __future__ import annotations

import fcntl
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import DocumentNotFound, DuplicateContent, ModelMismatch
from ingest.models import PreparedDocument, Progress

from . import indexes as snapshots
from .analysis import ANALYZER_VERSION, analyze
from .catalog import Catalog, DocumentRecord
from .database import INTEGRITY_ERRORS, open_database
from .embedder import Embedder
from .indexes import Indexes, LogForgotten
from .originals import Originals
from .parallel import relink

CATALOG_FILE = "catalog.sqlite"
VERSIONS_STORED = "1"  # how passage links of language versions are computed (index/parallel.py)
INDEX_DIR = "index"
ORIGINALS_DIR = "originals"
ENCODE_BATCH = 64  # passages encoded between two progress reports
FOLLOW_EVERY_S = 0.5  # how often a replica of a shared catalog looks for others' changes
log = logging.getLogger("koshqon.store")


@dataclass(frozen=True)
class AddResult:
    document: DocumentRecord
    created: bool


def passage_for_embedding(text: str, heading: str | None) -> str:
    """Continuation passages get their heading path in front, so "Статья 10" stays findable."""
    if heading and not text.startswith(heading.rsplit(" › ", 1)[-1]):
        return f"{heading}\n{text}"
    return text


def keyword_terms(title: str, heading: str | None, text: str, lang: str) -> list[str]:
    """A passage is found by its words and by its document's title and heading path."""
    return analyze(f"{title}\n{heading or ''}\n{text}", lang)


def _terms_of(rows) -> list[tuple[int, str, list[str]]]:
    return [
        (r["id"], r["lang"], keyword_terms(r["title"], r["heading"], r["text"], r["lang"]))
        for r in rows
    ]


def open_catalog(data_dir: Path, database_url: str | None = None) -> Catalog:
    """The catalog at ``database_url`` (PostgreSQL), or else the SQLite file in ``data_dir``."""
    return Catalog(open_database(database_url, data_dir / CATALOG_FILE))


class ReadWriteLock:
    """Many readers at once, or one writer; a waiting writer holds off new readers."""

    def __init__(self):
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


@contextmanager
def file_lock(path: Path, kind: int) -> Iterator[None]:
    """An advisory lock between processes (snapshots are saved by one at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, kind)
        yield


class Store:
    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        database_url: str | None = None,
        shared_dir: Path | None = None,
        searching: bool = True,
    ):
        """The catalog in ``data_dir`` (SQLite) or at ``database_url`` (PostgreSQL), with
        the originals in ``shared_dir`` (by default ``data_dir``), which every machine
        sharing the catalog must reach. The indexes are this machine's own;
        ``searching=False`` (a worker writing to a shared catalog) keeps none."""
        self.data_dir = data_dir
        self.searching = searching
        self.embedder = embedder
        self.catalog = open_catalog(data_dir, database_url)
        self.originals = Originals((shared_dir or data_dir) / ORIGINALS_DIR)
        self.index_dir = data_dir / INDEX_DIR
        self.holder = f"{socket.gethostname()}:{self.index_dir.resolve()}"
        self._lock = ReadWriteLock()
        self._changing = threading.Lock()  # held while the indexes change or are saved
        self._saver: threading.Thread | None = None
        self._indexes: Indexes | None = None
        self._following = threading.Event()
        (data_dir / "vectors.faiss").unlink(missing_ok=True)  # the index file before snapshots
        self._check_model()
        self._check_analyzer()
        self._check_versions()
        self.originals.collect(self.catalog.checksums())

    def close(self) -> None:
        self._following.clear()
        if self._saver is not None:
            self._saver.join()
        self.catalog.close()

    def follow(self, every_s: float = FOLLOW_EVERY_S) -> None:
        """Replay the changes other processes make to a shared (PostgreSQL) catalog as they
        come, every ``every_s``, rather than at the next search: a replica stays within a
        second of the catalog even while nobody searches it."""
        if self.catalog.dialect.name != "postgresql" or self._following.is_set():
            return
        self._following.set()

        def follow() -> None:
            while self._following.is_set():
                time.sleep(every_s)
                try:
                    self.indexes()
                except Exception:  # the database restarting, say: the next round retries
                    log.warning("could not follow the catalog's changes", exc_info=True)

        threading.Thread(target=follow, name="koshqon-follow", daemon=True).start()

    def _check_model(self) -> None:
        """The index remembers its model; another model's vectors would be meaningless."""
        model_id, dim = self.catalog.get_meta("model_id"), self.catalog.get_meta("dim")
        if model_id is None:
            with self.catalog.transaction() as db:
                self.catalog.set_meta(db, "model_id", self.embedder.model_id)
                self.catalog.set_meta(db, "dim", str(self.embedder.dim))
            return
        if model_id != self.embedder.model_id or int(dim) != self.embedder.dim:
            raise ModelMismatch(
                f"the index in {self.data_dir} was built with the model '{model_id}' "
                f"(dimension {dim}), but '{self.embedder.model_id}' (dimension "
                f"{self.embedder.dim}) is configured. Set KOSHQON_MODEL={model_id} to use this "
                f"index, or rebuild it for the new model from the stored originals: "
                f"koshqon reindex --data-dir {self.data_dir} (with the server stopped)."
            )

    def _check_analyzer(self) -> None:
        """Stored keyword terms are recomputed when the analyzer changed since they were made
        (and saved indexes, made with the old terms, are rebuilt)."""
        if self.catalog.get_meta("analyzer") == ANALYZER_VERSION:
            return
        with self.catalog.transaction() as db:
            self.catalog.set_terms(db, _terms_of(self.catalog.texts_for_terms()), log=False)
            self.catalog.set_meta(db, "analyzer", ANALYZER_VERSION)
            self.catalog.renew_id(db)

    def _check_versions(self) -> None:
        """A catalog written before passage links were stored gets them, once."""
        if self.catalog.get_meta("versions") == VERSIONS_STORED:
            return
        with self.catalog.transaction() as db:
            relink(self.catalog, db, self.catalog.works())
            self.catalog.set_meta(db, "versions", VERSIONS_STORED)

    # --- the indexes, kept in step with the catalog ------------------------------------------
    def indexes(self) -> Indexes:
        """The indexes, brought up to date with the catalog: loaded from the last snapshot
        (or built from the catalog) at first use, then replaying the changes since. A search
        that finds another process's changes while a snapshot is being saved goes on with
        the indexes as they are (seconds behind) rather than wait for the snapshot."""
        stale = self._indexes is None or self.catalog.last_change() != self._indexes.seq
        if stale and self._changing.acquire(blocking=self._indexes is None):
            try:
                with self._lock.writing():
                    self._refresh()
            finally:
                self._changing.release()
            self._snapshot_if_due()
        return self._indexes

    def _refresh(self) -> None:
        """(Changing the indexes: under both locks.)"""
        try:
            if self._indexes is None:
                with file_lock(self.index_dir / "LOCK", fcntl.LOCK_SH):
                    dim = self.embedder.dim
                    self._indexes = snapshots.load(self.index_dir, self.catalog, dim)
                if self._indexes is None:
                    self._indexes = snapshots.build(self.catalog, self.embedder.dim)
            self._indexes.catch_up(self.catalog)
        except LogForgotten:  # another process saved a snapshot and dropped the log we need
            self._indexes = None
            self._refresh()

    def _snapshot_if_due(self) -> None:
        """A snapshot in the background, so that no search or write waits for it."""
        running = self._saver is not None and self._saver.is_alive()
        if self._indexes.snapshot_due() and not running:
            self._saver = threading.Thread(target=self.snapshot, name="koshqon-snapshot")
            self._saver.start()

    def snapshot(self) -> None:
        """Save the indexes as they are (keyword bases compacted first where due), and drop
        the change log before the previous snapshot. Searches go on meanwhile; changes to
        the indexes wait."""
        with self._changing, file_lock(self.index_dir / "LOCK", fcntl.LOCK_EX):
            compacted = [
                partition.keywords.compacted()
                for partition in self._indexes.partitions.values()
                if partition.keywords.compaction_due()
            ]
            if compacted:
                with self._lock.writing():
                    for install in compacted:
                        install()
            previous = max(self._indexes.saved_seq, 0)
            snapshots.save(self._indexes, self.index_dir, self.catalog.get_meta("catalog_id"))
        # outside the lock: a writer waiting for it holds the catalog's
        saved = self._indexes.saved_seq
        self.catalog.forget_changes(self.holder, saved, min(previous, saved))

    @contextmanager
    def reading(self) -> Iterator[Indexes]:
        """The indexes, with writes to them held off while the caller reads."""
        self.indexes()
        with self._lock.reading():
            yield self._indexes

    @contextmanager
    def _publishing(self) -> Iterator[None]:
        """Around a write's COMMIT: searches held off until the indexes include it."""
        with self._changing, self._lock.writing():
            yield
            self._refresh()

    @contextmanager
    def _writing(self, documents: list[PreparedDocument] = ()) -> Iterator:
        """One catalog transaction, published to the indexes as it commits. If it fails,
        originals stored for ``documents`` go too (unless another write cataloged them)."""
        if self.searching:
            self.indexes()
        publishing = self._publishing if self.searching else nullcontext
        try:
            with self.catalog.transaction(publishing) as db:
                yield db
        except BaseException:
            for document in documents:
                if self.catalog.find_by_sha256(document.sha256) is None:
                    self.originals.delete(document.sha256)
            raise
        if self.searching:
            self._snapshot_if_due()

    # --- writes ---------------------------------------------------------------------------
    def add(self, document: PreparedDocument, progress: Progress | None = None) -> AddResult:
        """Add a prepared document whole, or return the existing one with the same content."""
        return self.add_many([document], progress=progress)[0]

    def add_many(
        self,
        documents: list[PreparedDocument],
        vectors: np.ndarray | None = None,
        progress: Progress | None = None,
    ) -> list[AddResult]:
        """Add documents in one transaction, embedding all their passages in one batch, or
        taking their ``vectors`` (one row per passage, in order) computed elsewhere: the bulk
        import, for vectors encoded on a GPU machine."""
        passages = sum(len(d.chunks) for d in documents)
        if vectors is not None and len(vectors) != passages:
            raise ValueError(f"{len(vectors)} vectors for {passages} passages")
        results: dict[str, AddResult] = {}
        new: dict[str, tuple[PreparedDocument, np.ndarray | None]] = {}
        for document, rows in with_rows(documents, vectors):
            existing = self.catalog.find_by_sha256(document.sha256)
            if existing:
                results[document.sha256] = AddResult(existing, created=False)
            else:
                new.setdefault(document.sha256, (document, rows))
        if new:
            pending = list(new.values())
            if vectors is None:  # only documents not in the collection yet are encoded
                fresh = [document for document, _ in pending]
                pending = with_rows(fresh, passage_vectors(self.embedder, fresh, progress))
            results.update(self._insert(pending))
        return [results[document.sha256] for document in documents]

    def restore(
        self,
        records: list[DocumentRecord],
        documents: list[PreparedDocument],
        progress: Progress | None = None,
    ) -> None:
        """Add rebuilt documents under the ids and dates of their catalog records (reindex)."""
        self._insert(
            with_rows(documents, passage_vectors(self.embedder, documents, progress)),
            dict(zip((d.sha256 for d in documents), records, strict=True)),
        )

    def _insert(
        self,
        documents: list[tuple[PreparedDocument, np.ndarray]],
        kept: dict[str, DocumentRecord] | None = None,
    ) -> dict[str, AddResult]:
        for document, _ in documents:  # first: a catalog row never lacks its original
            self.originals.put(document.sha256, document.original)
        added = {}
        try:
            with self._writing([d for d, _ in documents]) as db:
                for document, vectors in documents:
                    added[document.sha256] = self.catalog.insert_document(
                        db, document, vectors, _terms(document), (kept or {}).get(document.sha256)
                    )[0]
                relink(self.catalog, db, {document.work for document, _ in documents})
        except INTEGRITY_ERRORS:  # one was added by another process meanwhile
            if len(documents) == 1:
                existing = self.catalog.find_by_sha256(documents[0][0].sha256)
                return {existing.sha256: AddResult(existing, created=False)}
            return {d.sha256: self.add_many([d], v)[0] for d, v in documents}
        return {
            sha: AddResult(self.catalog.document(document_id), created=True)
            for sha, document_id in added.items()
        }

    def replace(
        self, document_id: int, document: PreparedDocument, progress: Progress | None = None
    ) -> AddResult:
        """Swap a document's content for a new version under the same id, in one transaction;
        searches see the old passages or the new ones, never both or neither. The result's
        ``created`` is False when the content was already this document's."""
        old = self.catalog.document(document_id)
        if old is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        if old.sha256 == document.sha256:
            return AddResult(old, created=False)
        other = self.catalog.find_by_sha256(document.sha256)
        if other is not None:
            raise DuplicateContent(f"this content is already document {other.id} ({other.title})")
        vectors = passage_vectors(self.embedder, [document], progress)
        self.originals.put(document.sha256, document.original)
        with self._writing([document]) as db:
            self.catalog.replace_document(db, document_id, document, vectors, _terms(document))
            relink(self.catalog, db, {old.work, document.work})
        self.originals.delete(old.sha256)
        return AddResult(self.catalog.document(document_id), created=True)

    def update(self, document_id: int, changes: dict) -> DocumentRecord:
        """Change a document's metadata; a new title also changes its passages' keyword terms
        (titles are searchable), in the same transaction."""
        old = self.catalog.document(document_id)
        if old is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        with self._writing() as db:
            self.catalog.update_document(db, document_id, changes)
            if "title" in changes:
                self.catalog.set_terms(db, _terms_of(self.catalog.texts_for_terms(db, document_id)))
            if "work" in changes:
                relink(self.catalog, db, {old.work, changes["work"]})
        return self.catalog.document(document_id)

    def remove(self, document_id: int) -> DocumentRecord:
        document = self.catalog.document(document_id)
        if document is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        with self._writing() as db:
            self.catalog.delete_document(db, document_id)
        self.originals.delete(document.sha256)
        return document


def passage_vectors(
    embedder: Embedder, documents: list[PreparedDocument], progress: Progress | None = None
) -> np.ndarray:
    """Every passage's vector (before any write, or on another machine), encoded
    ``ENCODE_BATCH`` at a time, each batch reported to ``progress``."""
    texts = [passage_for_embedding(c.text, c.heading) for d in documents for c in d.chunks]
    parts = [np.zeros((0, embedder.dim), dtype=np.float32)]
    for start in range(0, len(texts), ENCODE_BATCH):
        parts.append(embedder.embed(texts[start : start + ENCODE_BATCH], "passage"))
        if progress:
            progress("encoding", min(start + ENCODE_BATCH, len(texts)), len(texts))
    return np.vstack(parts)


def with_rows(documents: list[PreparedDocument], vectors: np.ndarray | None) -> list:
    """Each document with its passages' rows of ``vectors`` (None when there are none)."""
    ends = np.cumsum([len(d.chunks) for d in documents])
    return [
        (d, None if vectors is None else vectors[end - len(d.chunks) : end])
        for d, end in zip(documents, ends, strict=True)
    ]


def _terms(document: PreparedDocument) -> list[list[str]]:
    return [keyword_terms(document.title, c.heading, c.text, c.lang) for c in document.chunks]
