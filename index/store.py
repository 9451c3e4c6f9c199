"""The store: the only writer of the catalog and the indexes, keeping them in step.

Documents are added in one SQLite transaction (documents, chunks, vectors and keyword terms
together), and only then put in the FAISS and BM25 indexes, which are caches of the catalog:
the FAISS file is replaced atomically, the BM25 index lives in memory. If the process dies in
between, the next reader sees that the FAISS ids differ from the catalog's and rebuilds the
index from the stored vectors. A generation counter in the catalog lets every process
notice writes made by another one (the CLI ingesting while the server runs).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import DocumentNotFound, DuplicateContent, ModelMismatch
from ingest.models import PreparedDocument

from .analysis import ANALYZER_VERSION, analyze
from .calibration import Background
from .catalog import Catalog, DocumentRecord
from .embedder import Embedder
from .keyword import KeywordIndex
from .originals import Originals
from .vectors import VectorIndex

CATALOG_FILE = "catalog.sqlite"
VECTORS_FILE = "vectors.faiss"
ORIGINALS_DIR = "originals"


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


def _terms_of(rows) -> list[tuple[int, list[str]]]:
    return [(r["id"], keyword_terms(r["title"], r["heading"], r["text"], r["lang"])) for r in rows]


@dataclass(frozen=True)
class Indexes:
    """The search indexes at one catalog generation, each passage's language, and each
    language's background similarity (index/calibration.py)."""

    vectors: VectorIndex
    keywords: KeywordIndex
    languages: dict[int, str]  # chunk id -> language
    background: Background

    def add(self, ids: list[int], vectors, term_lists: list[list[str]], langs) -> None:
        langs = list(langs)
        self.vectors.add(ids, vectors)
        self.keywords.add(ids, term_lists)
        self.languages.update(zip(ids, langs, strict=True))
        self.background.add(vectors, langs)

    def remove(self, ids: list[int]) -> None:
        ids = [i for i in ids if i in self.languages]
        self.background.remove(self.vectors.vectors_of(ids), [self.languages[i] for i in ids])
        self.vectors.remove(ids)
        self.keywords.remove(ids)
        for chunk_id in ids:
            self.languages.pop(chunk_id, None)


@dataclass
class Write:
    """A write in progress: its transaction, and what it changes in the indexes once
    committed."""

    db: sqlite3.Connection | None = None
    change: Callable[[Indexes], None] = lambda indexes: None


class Store:
    def __init__(self, data_dir: Path, embedder: Embedder):
        self.data_dir = data_dir
        self.embedder = embedder
        self.catalog = Catalog(data_dir / CATALOG_FILE)
        self.originals = Originals(data_dir / ORIGINALS_DIR)
        self._vectors_path = data_dir / VECTORS_FILE
        self._lock = threading.RLock()
        self._indexes: Indexes | None = None
        self._generation = -1
        self._check_model()
        self._check_analyzer()

    def close(self) -> None:
        self.catalog.close()

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
        """Stored keyword terms are recomputed when the analyzer changed since they were made."""
        if self.catalog.get_meta("analyzer") == ANALYZER_VERSION:
            return
        updates = [(" ".join(terms), i) for i, terms in _terms_of(self.catalog.texts_for_terms())]
        with self.catalog.transaction() as db:
            self.catalog.set_terms(db, updates)
            self.catalog.set_meta(db, "analyzer", ANALYZER_VERSION)
            self.catalog.bump_generation(db)

    # --- the indexes, kept in step with the catalog ------------------------------------------
    def indexes(self) -> Indexes:
        """FAISS and BM25, reloaded (or rebuilt) when the catalog changed under them."""
        with self._lock:
            generation = self.catalog.generation()
            if self._indexes is None or generation != self._generation:
                vectors, languages = self._load_vectors(), self.catalog.chunk_languages()
                background = Background(self.embedder.dim)
                ids, stored = vectors.stored()  # already in memory: no second catalog read
                background.add(stored, [languages[int(i)] for i in ids])
                self._indexes = Indexes(vectors, self._load_keywords(), languages, background)
                self._generation = generation
            return self._indexes

    @contextmanager
    def reading(self) -> Iterator[Indexes]:
        """The indexes, with writes to them held off while the caller reads."""
        with self._lock:
            yield self.indexes()

    def vectors(self) -> VectorIndex:
        return self.indexes().vectors

    def _load_vectors(self) -> VectorIndex:
        expected = np.array(self.catalog.chunk_ids(), dtype=np.int64)
        if self._vectors_path.exists():
            index = VectorIndex.load(self._vectors_path)
            if (
                index is not None
                and index.dim == self.embedder.dim
                and np.array_equal(index.ids(), expected)
            ):
                return index
        ids, vectors = self.catalog.all_vectors(self.embedder.dim)
        index = VectorIndex.build(self.embedder.dim, ids, vectors)
        index.save(self._vectors_path)
        return index

    def _load_keywords(self) -> KeywordIndex:
        index = KeywordIndex()
        index.add(*self.catalog.all_terms())
        return index

    @contextmanager
    def _writing(self, documents: list[PreparedDocument] = ()) -> Iterator[Write]:
        """One catalog transaction, then its change to the in-memory indexes, with searches
        held off from the commit until the indexes match it. If another process wrote in
        between, the indexes are reloaded instead. If the transaction fails, originals stored
        for ``documents`` go too (unless another write cataloged them)."""
        with self._lock:
            self.indexes()
            write = Write()
            try:
                with self.catalog.transaction() as db:
                    write.db = db
                    yield write
                    before, after = self.catalog.bump_generation(db)
            except BaseException:
                for document in documents:
                    if self.catalog.find_by_sha256(document.sha256) is None:
                        self.originals.delete(document.sha256)
                raise
            if self._indexes is not None and self._generation == before:
                write.change(self._indexes)
                self._generation = after
                self._indexes.vectors.save(self._vectors_path)
            else:
                self._indexes = None
                self.indexes()

    # --- writes ---------------------------------------------------------------------------
    def add(self, document: PreparedDocument) -> AddResult:
        """Add a prepared document whole, or return the existing one with the same content."""
        return self.add_many([document])[0]

    def add_many(self, documents: list[PreparedDocument]) -> list[AddResult]:
        """Add documents in one transaction, embedding all their passages in one batch."""
        results: dict[str, AddResult] = {}
        new: dict[str, PreparedDocument] = {}
        for document in documents:
            existing = self.catalog.find_by_sha256(document.sha256)
            if existing:
                results[document.sha256] = AddResult(existing, created=False)
            else:
                new.setdefault(document.sha256, document)
        if new:
            results.update(self._insert(list(new.values())))
        return [results[document.sha256] for document in documents]

    def _encode(self, documents: list[PreparedDocument]):
        """Every passage's vector (one batch) and keyword terms, before any write."""
        chunks = [(d, c) for d in documents for c in d.chunks]
        vectors = self.embedder.embed(
            [passage_for_embedding(c.text, c.heading) for _, c in chunks], "passage"
        )
        term_lists = [keyword_terms(d.title, c.heading, c.text, c.lang) for d, c in chunks]
        return chunks, vectors, term_lists

    def restore(self, records: list[DocumentRecord], documents: list[PreparedDocument]) -> None:
        """Add rebuilt documents under the ids and dates of their catalog records (reindex)."""
        self._insert(documents, dict(zip((d.sha256 for d in documents), records, strict=True)))

    def _insert(
        self, documents: list[PreparedDocument], kept: dict[str, DocumentRecord] | None = None
    ) -> dict[str, AddResult]:
        chunks, vectors, term_lists = self._encode(documents)
        for document in documents:  # first: a catalog row never lacks its original
            self.originals.put(document.sha256, document.original)
        added, all_ids, offset = {}, [], 0
        try:
            with self._writing(documents) as write:
                for document in documents:
                    end = offset + len(document.chunks)
                    document_id, chunk_ids = self.catalog.insert_document(
                        write.db,
                        document,
                        vectors[offset:end],
                        term_lists[offset:end],
                        (kept or {}).get(document.sha256),
                    )
                    added[document.sha256] = document_id
                    all_ids.extend(chunk_ids)
                    offset = end
                write.change = lambda indexes: indexes.add(
                    all_ids, vectors, term_lists, [c.lang for _, c in chunks]
                )
        except sqlite3.IntegrityError:  # one was added by another process meanwhile
            if len(documents) == 1:
                existing = self.catalog.find_by_sha256(documents[0].sha256)
                return {documents[0].sha256: AddResult(existing, created=False)}
            return {d.sha256: self.add(d) for d in documents}
        return {
            sha: AddResult(self.catalog.document(document_id), created=True)
            for sha, document_id in added.items()
        }

    def replace(self, document_id: int, document: PreparedDocument) -> AddResult:
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
        chunks, vectors, term_lists = self._encode([document])
        self.originals.put(document.sha256, document.original)
        with self._writing([document]) as write:
            old_ids, new_ids = self.catalog.replace_document(
                write.db, document_id, document, vectors, term_lists
            )

            def change(indexes: Indexes) -> None:
                indexes.remove(old_ids)
                indexes.add(new_ids, vectors, term_lists, [c.lang for _, c in chunks])

            write.change = change
        self.originals.delete(old.sha256)
        return AddResult(self.catalog.document(document_id), created=True)

    def update(self, document_id: int, changes: dict) -> DocumentRecord:
        """Change a document's metadata; a new title also changes its passages' keyword terms
        (titles are searchable), in the same transaction."""
        if self.catalog.document(document_id) is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        with self._writing() as write:
            self.catalog.update_document(write.db, document_id, changes)
            retermed = _terms_of(self.catalog.texts_for_terms(write.db, document_id))
            self.catalog.set_terms(write.db, [(" ".join(terms), i) for i, terms in retermed])

            def change(indexes: Indexes) -> None:
                ids = [chunk_id for chunk_id, _ in retermed]
                indexes.keywords.remove(ids)
                indexes.keywords.add(ids, [terms for _, terms in retermed])

            write.change = change
        return self.catalog.document(document_id)

    def remove(self, document_id: int) -> DocumentRecord:
        document = self.catalog.document(document_id)
        if document is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        with self._writing() as write:
            chunk_ids = self.catalog.delete_document(write.db, document_id)
            write.change = lambda indexes: indexes.remove(chunk_ids)
        self.originals.delete(document.sha256)
        return document
