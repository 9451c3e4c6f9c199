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

The passages belong to a generation (a model and a passage size). When a rebuild switches
the catalog to a new one (index/reindex.py), the store loads the new model and indexes in
the background and swaps them in at once, answering from the old ones until then.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunking import Chunker
from ingest.errors import DocumentNotFound, DuplicateContent, KoshqonError, ModelMismatch
from ingest.models import PreparedDocument, Progress

from . import indexes as snapshots
from .analysis import ANALYZER_VERSION, analyze
from .blobs import open_blobs
from .catalog import Catalog, DocumentRecord, Generation
from .database import INTEGRITY_ERRORS, UNREACHABLE, open_database
from .embedder import Embedder
from .indexes import GenerationChanged, Indexes, LogForgotten
from .originals import Originals
from .parallel import relink

CATALOG_FILE = "catalog.sqlite"
VERSIONS_STORED = "1"  # how passage links of language versions are computed (index/parallel.py)
INDEX_DIR = "index"
ENCODE_BATCH = 64  # passages encoded between two progress reports
FOLLOW_EVERY_S = 0.5  # how often a server looks for other processes' changes
PASSAGES = (256, 32)  # tokens per passage and overlap, where a generation records none
log = logging.getLogger("koshqon.store")
# the model of a generation, loaded (a server moving to a rebuilt collection's new model)
ModelLoader = Callable[[Generation], Embedder]


class Switching(KoshqonError):
    """A write prepared for the generation the catalog has just switched from."""

    title = "Switching to a new model"


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
        models: ModelLoader | None = None,
        passages: tuple[int, int] = PASSAGES,
    ):
        """The catalog in ``data_dir`` (SQLite) or at ``database_url`` (PostgreSQL), with
        the files (originals, queued uploads) in ``shared_dir``, a folder every machine
        sharing the catalog mounts, or else in ``data_dir`` (SQLite) or PostgreSQL
        (index/blobs.py). The indexes are this machine's own; ``searching=False`` (a
        worker writing to a shared catalog) keeps none.

        ``embedder`` is the model for a new collection; an existing one is searched with
        the model its passages were made with, loaded by ``models`` when it is another
        (without ``models``, that is a ModelMismatch). ``passages`` (tokens, overlap) is
        the passage size where the collection records none."""
        self.data_dir = data_dir
        self.searching = searching
        self.catalog = open_catalog(data_dir, database_url)
        self.blobs = open_blobs(self.catalog, data_dir, shared_dir)
        self.originals = Originals(self.blobs)
        self.index_dir = data_dir / INDEX_DIR
        self.holder = f"{socket.gethostname()}:{self.index_dir.resolve()}"
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.models, self.passages = models, passages
        self._lock = ReadWriteLock()
        self._changing = threading.Lock()  # held while the indexes change or are saved
        self._saver: threading.Thread | None = None
        self._indexes: Indexes | None = None
        self._following = threading.Event()
        self._follower: threading.Thread | None = None
        self._switching = threading.Event()  # a move to a new generation under way
        (data_dir / "vectors.faiss").unlink(missing_ok=True)  # the index file before snapshots
        generation = self.catalog.active_generation() or self.catalog.first_generation(
            embedder.model_id, embedder.dim, *passages
        )
        self.model = (generation, self._model_of(generation, embedder))
        self._check_analyzer()
        self._check_versions()
        self.originals.collect(self.catalog.checksums())

    def close(self) -> None:
        if self._following.is_set():
            self._following.clear()
            self._follower.join()
            try:
                self.catalog.serve(self.name, None)
            except UNREACHABLE:  # its row is dropped by the next rebuild that waits for it
                log.warning("could not record that %s stopped serving", self.name)
        if self._saver is not None:
            self._saver.join()
        self.catalog.close()

    @property
    def generation(self) -> Generation:
        return self.model[0]

    @property
    def embedder(self) -> Embedder:
        """The model of the generation searched (queries are encoded with it)."""
        return self.model[1]

    @property
    def switching(self) -> bool:
        """Whether this process is moving to the generation the catalog switched to."""
        return self._switching.is_set()

    @property
    def chunker(self) -> Chunker:
        """What cuts texts into passages for this generation: its size, its model's tokens."""
        tokens = self.generation.chunk_tokens or self.passages[0]
        overlap = self.generation.chunk_overlap
        overlap = self.passages[1] if overlap is None else overlap
        return Chunker(self.embedder.count_tokens, tokens, overlap)

    def follow(self, every_s: float = FOLLOW_EVERY_S) -> None:
        """Replay the changes other processes make to the catalog as they come, every
        ``every_s``, rather than at the next search: a server stays within a second of the
        catalog even while nobody searches it, and moves to a new generation as soon as
        it is switched to. The catalog records that this process serves (``serving``)."""
        if self._following.is_set():
            return
        self._following.set()
        self.catalog.serve(self.name, self.generation.number)

        def follow() -> None:
            while self._following.is_set():
                time.sleep(every_s)
                try:
                    self.indexes()
                except Exception:  # the database restarting, say: the next round retries
                    log.warning("could not follow the catalog's changes", exc_info=True)

        self._follower = threading.Thread(target=follow, name="koshqon-follow", daemon=True)
        self._follower.start()

    def _model_of(self, generation: Generation, embedder: Embedder) -> Embedder:
        """The model ``generation``'s passages were made with: ``embedder`` if it is
        that one, else loaded by ``models``."""
        if (embedder.model_id, embedder.dim) == (generation.model_id, generation.dim):
            return embedder
        if self.models is None:
            raise ModelMismatch(
                f"the collection in {self.catalog.database.location} was built with the model "
                f"'{generation.model_id}' (dimension {generation.dim}), not "
                f"'{embedder.model_id}' (dimension {embedder.dim}). Move it to the new model "
                "with `koshqon reindex` (the collection stays searchable meanwhile)."
            )
        loaded = self.models(generation)
        if (loaded.model_id, loaded.dim) != (generation.model_id, generation.dim):
            raise ModelMismatch(
                f"the model '{generation.model_id}' loaded here has dimension {loaded.dim}, "
                f"but the collection's passages have {generation.dim}"
            )
        return loaded

    def _check_analyzer(self) -> None:
        """Stored keyword terms are recomputed when the analyzer changed since they were made
        (and saved indexes, made with the old terms, are rebuilt)."""
        if self.catalog.get_meta("analyzer") == ANALYZER_VERSION:
            return
        with self.catalog.transaction() as db:
            self.catalog.set_terms(db, _terms_of(self.catalog.texts_for_terms(db)), log=False)
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
        that finds another process's changes while a snapshot is being saved, or while
        this process moves to a new generation, goes on with the indexes as they are
        (seconds behind) rather than wait."""
        stale = self._indexes is None or self.catalog.last_change() != self._indexes.seq
        if (
            stale
            and not (self._switching.is_set() and self._indexes is not None)
            and self._changing.acquire(blocking=self._indexes is None)
        ):
            try:
                with self._lock.writing():
                    self._refresh()
            finally:
                self._changing.release()
            self._snapshot_if_due()
        return self._indexes

    def _refresh(self) -> None:
        """(Changing the indexes: under both locks.)"""
        if self._indexes is None:
            self._indexes = self._opened(self.generation)
        try:
            self._indexes.catch_up(self.catalog)
        except GenerationChanged:  # searches go on with these until the new ones are ready
            self._switch_soon()
        except LogForgotten:  # another process saved a snapshot and dropped the log we need
            if self.catalog.active_generation().number != self.generation.number:
                self._switch_soon()
                return
            self._indexes = snapshots.build(
                self.catalog, self.generation.dim, self.generation.number
            )
            self._refresh()

    def _opened(self, generation: Generation) -> Indexes:
        """``generation``'s indexes as saved (NEXT's, just after a switch to it), or else
        built from the catalog; not caught up with the log yet."""
        with file_lock(self.index_dir / "LOCK", fcntl.LOCK_SH):
            saved = snapshots.load(self.index_dir, self.catalog, generation.dim, generation.number)
        if saved is not None:
            return saved
        return snapshots.build(self.catalog, generation.dim, generation.number)

    def _switch_soon(self) -> None:
        """Move to the active generation in the background, answering from the indexes
        at hand meanwhile."""
        if not self._switching.is_set():
            self._switching.set()
            threading.Thread(target=self._switch, name="koshqon-switch", daemon=True).start()

    def _switch(self) -> None:
        """Load the active generation's model and indexes while the old ones answer, then
        swap them in at once."""
        try:
            while True:
                generation = self.catalog.active_generation()
                embedder = self._model_of(generation, self.embedder)  # seconds, if loaded
                indexes = self._opened(generation) if self.searching else None
                try:  # most of the replay before searches are held off for the rest
                    if indexes is not None:
                        indexes.catch_up(self.catalog)
                except LogForgotten:
                    indexes = snapshots.build(self.catalog, generation.dim, generation.number)
                except GenerationChanged:  # switched again meanwhile
                    continue
                with self._changing, self._lock.writing():
                    try:
                        if indexes is not None:
                            indexes.catch_up(self.catalog)
                    except (LogForgotten, GenerationChanged):
                        continue
                    self.model, self._indexes = (generation, embedder), indexes
                break
            if self._following.is_set():
                self.catalog.serve(self.name, generation.number)
            log.info("now searching generation %d (%s)", generation.number, generation.model_id)
        except Exception:
            log.exception("could not move to the catalog's new generation")
        finally:
            self._switching.clear()

    def _snapshot_if_due(self) -> None:
        """A snapshot in the background, so that no search or write waits for it."""
        running = self._saver is not None and self._saver.is_alive()
        if self._indexes.snapshot_due() and not running:
            self._saver = threading.Thread(target=self.snapshot, name="koshqon-snapshot")
            self._saver.start()

    def snapshot(self) -> None:
        """Save the indexes as they are (keyword bases compacted first where due), and drop
        the change log before the previous snapshot. Searches go on meanwhile; changes to
        the indexes wait. Indexes of a generation the catalog switched from are not saved."""
        with self._changing, file_lock(self.index_dir / "LOCK", fcntl.LOCK_EX):
            indexes = self._indexes
            if indexes.generation != self.catalog.active_generation().number:
                return
            compacted = [
                partition.keywords.compacted()
                for partition in indexes.partitions.values()
                if partition.keywords.compaction_due()
            ]
            if compacted:
                with self._lock.writing():
                    for install in compacted:
                        install()
            previous = max(indexes.saved_seq, 0)
            snapshots.save(indexes, self.index_dir, self.catalog.get_meta("catalog_id"))
        # outside the lock: a writer waiting for it holds the catalog's
        saved = indexes.saved_seq
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
    def _writing(
        self, documents: list[PreparedDocument] = (), generation: Generation | None = None
    ) -> Iterator:
        """One catalog transaction, published to the indexes as it commits. If it fails,
        originals stored for ``documents`` go too (unless another write cataloged them).
        A write of passages made for ``generation`` is refused (Switching) if the catalog
        has switched to another since."""
        if self.searching:
            self.indexes()
        publishing = self._publishing if self.searching else nullcontext
        try:
            with self.catalog.transaction(publishing) as db:
                if generation is not None:
                    self._check_generation(db, generation)
                yield db
        except BaseException as error:
            for document in documents:
                if self.catalog.find_by_sha256(document.sha256) is None:
                    self.originals.delete(document.sha256)
            if isinstance(error, Switching):
                self._switch_soon()
            raise
        if self.searching:
            self._snapshot_if_due()

    def _check_generation(self, db, generation: Generation) -> None:
        active = self.catalog.active_generation(db)
        if active.number != generation.number:
            raise Switching(
                f"the collection has just moved to the model {active.model_id} "
                f"(generation {active.number}); this process is moving to it: try again in a "
                "few seconds"
            )

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
        generation, embedder = self.model  # one generation's, throughout
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
                pending = with_rows(fresh, passage_vectors(embedder, fresh, progress))
            results.update(self._insert(pending, generation))
        return [results[document.sha256] for document in documents]

    def _insert(
        self, documents: list[tuple[PreparedDocument, np.ndarray]], generation: Generation
    ) -> dict[str, AddResult]:
        for document, _ in documents:  # first: a catalog row never lacks its original
            self.originals.put(document.sha256, document.original)
        added = {}
        try:
            with self._writing([d for d, _ in documents], generation) as db:
                for document, vectors in documents:
                    added[document.sha256] = self.catalog.insert_document(
                        db, document, vectors, _terms(document), generation.number
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
        generation, embedder = self.model
        vectors = passage_vectors(embedder, [document], progress)
        self.originals.put(document.sha256, document.original)
        with self._writing([document], generation) as db:
            self.catalog.replace_document(
                db, document_id, document, vectors, _terms(document), generation.number
            )
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
