"""The store: the only writer of the catalog and the vector index, keeping them in step.

A document is added in one SQLite transaction (document, chunks and vectors together), and
only then put in the FAISS index, whose file is replaced atomically. If the process dies in
between, the next reader sees that the FAISS ids differ from the catalog's and rebuilds the
index from the stored vectors. A generation counter in the catalog lets every process
notice writes made by another one (the CLI ingesting while the server runs).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import DocumentNotFound, ModelMismatch
from ingest.models import PreparedDocument

from .catalog import Catalog, DocumentRecord
from .embedder import Embedder
from .vectors import VectorIndex

CATALOG_FILE = "catalog.sqlite"
VECTORS_FILE = "vectors.faiss"


@dataclass(frozen=True)
class AddResult:
    document: DocumentRecord
    created: bool


def passage_for_embedding(text: str, heading: str | None) -> str:
    """Continuation passages get their heading path in front, so "Статья 10" stays findable."""
    if heading and not text.startswith(heading.rsplit(" › ", 1)[-1]):
        return f"{heading}\n{text}"
    return text


class Store:
    def __init__(self, data_dir: Path, embedder: Embedder):
        self.data_dir = data_dir
        self.embedder = embedder
        self.catalog = Catalog(data_dir / CATALOG_FILE)
        self._vectors_path = data_dir / VECTORS_FILE
        self._lock = threading.RLock()
        self._vectors: VectorIndex | None = None
        self._generation = -1
        self._check_model()

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
                f"index, or re-index: ingest the documents again into a new data directory "
                f"(koshqon ingest PATH --data-dir NEW_DIR) with the new model."
            )

    # --- the vector index, kept in step with the catalog -------------------------------------
    def vectors(self) -> VectorIndex:
        """The FAISS index, reloaded (or rebuilt) when the catalog changed under it."""
        with self._lock:
            generation = self.catalog.generation()
            if self._vectors is None or generation != self._generation:
                self._vectors = self._load_or_rebuild()
                self._generation = generation
            return self._vectors

    def _load_or_rebuild(self) -> VectorIndex:
        expected = np.array(self.catalog.chunk_ids(), dtype=np.int64)
        if self._vectors_path.exists():
            index = VectorIndex.load(self._vectors_path)
            if index.dim == self.embedder.dim and np.array_equal(index.ids(), expected):
                return index
        ids, vectors = self.catalog.all_vectors(self.embedder.dim)
        index = VectorIndex.build(self.embedder.dim, ids, vectors)
        index.save(self._vectors_path)
        return index

    def _apply(self, generation: tuple[int, int], change) -> None:
        """Apply a committed change to the in-memory index, or reload if another process
        wrote in between; then persist the index file."""
        with self._lock:
            before, after = generation
            if self._vectors is not None and self._generation == before:
                change(self._vectors)
                self._generation = after
                self._vectors.save(self._vectors_path)
            else:
                self._vectors = None
                self.vectors()

    # --- writes ---------------------------------------------------------------------------
    def add(self, document: PreparedDocument) -> AddResult:
        """Add a prepared document whole, or return the existing one with the same content."""
        existing = self.catalog.find_by_sha256(document.sha256)
        if existing:
            return AddResult(existing, created=False)
        texts = [passage_for_embedding(c.text, c.heading) for c in document.chunks]
        vectors = self.embedder.embed(texts, "passage")
        self.vectors()
        try:
            with self.catalog.transaction() as db:
                document_id, chunk_ids = self.catalog.insert_document(db, document, vectors)
                generation = self.catalog.bump_generation(db)
        except sqlite3.IntegrityError:  # the same file was added by another process meanwhile
            return AddResult(self.catalog.find_by_sha256(document.sha256), created=False)
        self._apply(generation, lambda index: index.add(chunk_ids, vectors))
        return AddResult(self.catalog.document(document_id), created=True)

    def remove(self, document_id: int) -> DocumentRecord:
        document = self.catalog.document(document_id)
        if document is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        self.vectors()
        with self.catalog.transaction() as db:
            chunk_ids = self.catalog.delete_document(db, document_id)
            generation = self.catalog.bump_generation(db)
        self._apply(generation, lambda index: index.remove(chunk_ids))
        return document
