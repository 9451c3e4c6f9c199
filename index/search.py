"""Search: a question in, ranked passages with their citations out.

The query is embedded with the model's query prefix and matched against every chunk in
FAISS (optionally only those passing the language, document and type filters); each hit
is joined with its catalog row, so every result carries the exact passage and where it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ingest.language import detect_language

from .catalog import ChunkRecord, DocumentRecord
from .store import Store


@dataclass(frozen=True)
class Citation:
    document_id: int
    title: str
    filename: str
    page_start: int | None
    page_end: int | None
    heading: str | None
    char_start: int
    char_end: int
    label: str


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk_id: int
    text: str
    lang: str
    citation: Citation


@dataclass(frozen=True)
class SearchResult:
    query: str
    query_lang: str
    took_ms: float
    results: list[Hit]


@dataclass(frozen=True)
class Filters:
    langs: list[str] | None = None
    document_ids: list[int] | None = None
    doc_types: list[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.langs or self.document_ids or self.doc_types)


def citation_label(
    title: str, heading: str | None, page_start: int | None, page_end: int | None
) -> str:
    """ "Constitution of the Republic of Kazakhstan, Article 10, p. 4" — what a reader quotes."""
    parts = [title]
    if heading:
        parts.append(heading.rsplit(" › ", 1)[-1])
    if page_start is not None:
        same = page_end in (None, page_start)
        parts.append(f"p. {page_start}" if same else f"pp. {page_start}–{page_end}")
    return ", ".join(parts)


def cite(chunk: ChunkRecord, document: DocumentRecord) -> Citation:
    return Citation(
        document_id=document.id,
        title=document.title,
        filename=document.filename,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        heading=chunk.heading,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        label=citation_label(document.title, chunk.heading, chunk.page_start, chunk.page_end),
    )


def search(store: Store, query: str, k: int = 10, filters: Filters | None = None) -> SearchResult:
    started = time.perf_counter()
    filters = filters or Filters()
    vector = store.embedder.embed([query], "query")[0]
    allowed = (
        store.catalog.chunk_ids(
            langs=filters.langs, document_ids=filters.document_ids, doc_types=filters.doc_types
        )
        if filters
        else None
    )
    matches = store.vectors().search(vector, k, allowed)
    chunks = store.catalog.chunks_by_id([chunk_id for chunk_id, _ in matches])
    documents: dict[int, DocumentRecord] = {}
    hits = []
    for chunk_id, score in matches:
        chunk = chunks.get(chunk_id)
        if chunk is None:  # deleted by another process after the vector search
            continue
        if chunk.document_id not in documents:
            documents[chunk.document_id] = store.catalog.document(chunk.document_id)
        hits.append(
            Hit(
                rank=len(hits) + 1,
                score=round(score, 6),
                chunk_id=chunk_id,
                text=chunk.text,
                lang=chunk.lang,
                citation=cite(chunk, documents[chunk.document_id]),
            )
        )
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return SearchResult(
        query=query, query_lang=detect_language(query), took_ms=took_ms, results=hits
    )
