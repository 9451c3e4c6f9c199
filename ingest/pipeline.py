"""From a file to a prepared document: read → normalise → detect language → chunk.

This is the whole of ingest; it knows nothing of vectors or storage. The token counter
comes from whoever embeds the chunks, so the chunk budget is measured in that model's
own tokens.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import PurePath

from .chunking import Chunker
from .language import detect_language
from .models import Chunk, Extracted, Metadata, PreparedDocument
from .readers import extract, media_type_of
from .titles import title_from_filename, title_from_text

MIN_LANGUAGE_SHARE = 0.1


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _languages_by_share(chunks: list[Chunk]) -> list[str]:
    """Languages of the chunks, most text first; those under 10% of the text are dropped."""
    sizes = Counter()
    for chunk in chunks:
        sizes[chunk.lang] += len(chunk.text)
    total = sum(sizes.values()) or 1
    return [lang for lang, size in sizes.most_common() if size / total >= MIN_LANGUAGE_SHARE]


def passages(extracted: Extracted, chunker: Chunker) -> tuple[Chunk, ...]:
    """The text cut into passages, each with its heading path, pages and language: at
    ingest, and again from the stored text when the collection is rebuilt for another
    model or passage size (index/reindex.py)."""
    chunks = []
    spans = chunker.chunk(extracted.text, page_starts=(p.start for p in extracted.pages))
    for ordinal, span in enumerate(spans):
        text = extracted.text[span.start : span.end]
        page_start, page_end = extracted.pages_of(span.start, span.end)
        chunks.append(
            Chunk(
                ordinal=ordinal,
                text=text,
                char_start=span.start,
                char_end=span.end,
                heading=span.heading,
                page_start=page_start,
                page_end=page_end,
                lang=detect_language(text),
                tokens=span.tokens,
            )
        )
    return tuple(chunks)


def prepare(
    data: bytes,
    filename: str,
    metadata: Metadata,
    chunker: Chunker,
    read: Callable[[bytes, str], Extracted] = extract,
) -> PreparedDocument:
    """Everything the store needs to add one file; raises a KoshqonError with the reason.
    ``read`` extracts the text: in this process, or in a limited one for files from
    outside (ingest/contained.py, as the service reads them)."""
    media_type = media_type_of(filename)
    extracted = read(data, filename)
    chunks = passages(extracted, chunker)
    languages = _languages_by_share(chunks) or [detect_language(extracted.text)]
    return PreparedDocument(
        filename=PurePath(filename).name,
        sha256=sha256_of(data),
        media_type=media_type,
        text=extracted.text,
        pages=extracted.pages,
        title=metadata.title
        or extracted.title
        or title_from_text(extracted.text)
        or title_from_filename(filename),
        author=metadata.author or extracted.author,
        year=metadata.year or extracted.year,
        doc_type=metadata.doc_type or "other",
        source_url=metadata.source_url,
        language=metadata.language or languages[0],
        languages=tuple(languages),
        chunks=chunks,
        ocr_pages=extracted.ocr_pages,
        ocr_doubtful=extracted.ocr_doubtful,
        work=metadata.work,
        original=data,
    )
