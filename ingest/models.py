"""The contract between ingest and index: extracted documents and their chunks.

Character offsets always index into ``Extracted.text`` (the normalised full text that the
catalog stores), so every chunk can be traced back to the exact place it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# what a long step reports as it goes: (stage, done, total), e.g. ("reading", 3, 22) for the
# third of 22 pages read by OCR, or ("encoding", 64, 300) for passages encoded
Progress = Callable[[str, int, int], None]

DOC_TYPES = ("law", "study", "report", "article", "guide", "glossary", "other")


@dataclass(frozen=True)
class Limits:
    """What reading one file may take, beyond its size (settings KOSHQON_MAX_PAGES,
    KOSHQON_MAX_UNPACKED_MB, KOSHQON_MAX_HTML_DEPTH; docs/security.md). A file over a
    limit is refused with the limit named, before the work it would cost."""

    pages: int = 3000  # of a PDF, as declared and as found
    unpacked_mb: float = 200  # a DOCX's parts, decompressed
    html_depth: int = 400  # nested elements of an HTML page


@dataclass(frozen=True)
class Budget:
    """What one file may cost its reading process (KOSHQON_PARSE_MEMORY_MB,
    KOSHQON_PARSE_SECONDS), the structural limits it reads within, and its priority
    (KOSHQON_INGEST_NICENESS)."""

    memory_mb: int = 2048
    seconds: float = 300
    limits: Limits = Limits()
    niceness: int = 10  # reading (and OCR, which inherits it) runs behind searches


DEFAULT_LIMITS, DEFAULT_BUDGET = Limits(), Budget()


@dataclass(frozen=True)
class PageSpan:
    """Where one page lies in the document text (1-based page number, [start, end))."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    """Normalised text of one file, with page spans for paged formats (PDF) and metadata
    found in the file itself (PDF info, HTML <title>, DOCX core properties)."""

    text: str
    pages: tuple[PageSpan, ...] = ()
    title: str | None = None
    author: str | None = None
    year: int | None = None
    ocr_pages: tuple[int, ...] = ()  # pages whose text came from OCR, not the file
    ocr_doubtful: tuple[int, ...] = ()  # OCR pages of low confidence (likely misread)

    def pages_of(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page touched by the span [start, end); (None, None) without pages."""
        if not self.pages:
            return None, None
        touched = [p.number for p in self.pages if p.start < end and start < p.end]
        if not touched:  # an empty span between pages belongs to the page that follows
            following = (p.number for p in self.pages if p.start >= start)
            touched = [next(following, self.pages[-1].number)]
        return touched[0], touched[-1]


@dataclass(frozen=True)
class Chunk:
    """A passage ready to embed: ``text == document_text[char_start:char_end]``."""

    ordinal: int
    text: str
    char_start: int
    char_end: int
    heading: str | None
    page_start: int | None
    page_end: int | None
    lang: str
    tokens: int


@dataclass(frozen=True)
class Metadata:
    """What a librarian knows about a document; empty fields are filled from the file."""

    title: str | None = None
    author: str | None = None
    year: int | None = None
    doc_type: str | None = None
    source_url: str | None = None
    language: str | None = None
    work: str | None = None  # shared by the language versions of one text (a law in kk/ru/en)

    def given(self) -> dict:
        """The fields filled in (None means "not given", not "erase")."""
        return {name: value for name, value in vars(self).items() if value is not None}


@dataclass(frozen=True)
class PreparedDocument:
    """A file read, cleaned, language-tagged and chunked: everything the store needs."""

    filename: str
    sha256: str
    media_type: str
    text: str
    pages: tuple[PageSpan, ...]
    title: str
    author: str | None
    year: int | None
    doc_type: str
    source_url: str | None
    language: str
    languages: tuple[str, ...]
    chunks: tuple[Chunk, ...] = field(default=())
    ocr_pages: tuple[int, ...] = ()  # pages read by OCR, whose text may hold misreadings
    ocr_doubtful: tuple[int, ...] = ()  # those of them Tesseract was unsure of
    work: str | None = None
    original: bytes = field(default=b"", repr=False)  # the file as given, kept by the store
