"""Citations to take away: documents, or passages of them, as text in a citation style,
BibTeX, RIS or CSV, for a reference manager, a spreadsheet or a paper's bibliography.

Text has two styles: legal acts (doc_type "law") are cited by title, year and article, as
Kazakhstani legal writing cites a law; everything else author–date, as studies are. The
words around the source ("p.", "accessed") are in the document's language."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Literal

from index.catalog import DocumentRecord

Format = Literal["text", "bibtex", "ris", "csv"]
MEDIA_TYPES: dict[str, tuple[str, str]] = {  # format: (media type, file extension)
    "text": ("text/plain; charset=utf-8", "txt"),
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
WORDS = {  # page, pages, accessed
    "kk": ("б.", "б.", "қаралған күні"),
    "ru": ("с.", "с.", "дата обращения"),
    "en": ("p.", "pp.", "accessed"),
}
BIBTEX_TYPES = {"article": "article", "report": "techreport", "study": "misc", "law": "misc"}
RIS_TYPES = {"law": "STAT", "article": "JOUR", "report": "RPRT", "study": "RPRT", "guide": "BOOK"}
BIBTEX_ESCAPES = {"\\": r"\textbackslash{}", **{c: "\\" + c for c in "{}%&$#_"}}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run
CSV_COLUMNS = (
    "document_id", "title", "author", "year", "doc_type", "language", "heading",
    "page_start", "page_end", "source_url", "passage",
)  # fmt: skip


@dataclass(frozen=True)
class Cited:
    """A document, and where in it (a search hit's heading, pages and passage) if known."""

    document: DocumentRecord
    heading: str | None = None
    page_start: int | None = None
    page_end: int | None = None
    passage: str | None = None


def export(cited: list[Cited], format: Format, accessed: date | None = None) -> str:
    """The citations in ``format``: text and CSV one per item (a search's hits, in order),
    BibTeX and RIS one entry per document, its cited places in a note."""
    accessed = accessed or date.today()
    if format == "text":
        return "".join(f"{as_text(item, accessed)}\n" for item in cited)
    if format == "csv":
        return as_csv(cited)
    documents: dict[int, list[Cited]] = {}
    for item in cited:
        documents.setdefault(item.document.id, []).append(item)
    entry = as_bibtex if format == "bibtex" else as_ris
    return "\n".join(entry(items, accessed) for items in documents.values())


def place(item: Cited) -> str:
    """Where in the document: "Глава 2 › Статья 10, с. 4" (the deepest heading only)."""
    words = WORDS.get(item.document.language, WORDS["en"])
    parts = [item.heading.rsplit(" › ", 1)[-1]] if item.heading else []
    if item.page_start:
        if item.page_end and item.page_end != item.page_start:
            parts.append(f"{words[1]} {item.page_start}–{item.page_end}")
        else:
            parts.append(f"{words[0]} {item.page_start}")
    return ", ".join(parts)


def as_text(item: Cited, accessed: date) -> str:
    d = item.document
    year = f" ({d.year})" if d.year else ""
    if d.doc_type == "law" or not d.author:
        parts = [f"{d.title}{year}"]
    else:
        parts = [f"{d.author}{year}", d.title]
    if where := place(item):
        parts.append(where)
    if d.source_url:
        accessed_word = WORDS.get(d.language, WORDS["en"])[2]
        parts.append(f"URL: {d.source_url} ({accessed_word}: {accessed:%d.%m.%Y})")
    return ". ".join(part.rstrip(".") for part in parts) + "."


def _bibtex_value(text: str) -> str:
    escaped = "".join(BIBTEX_ESCAPES.get(character, character) for character in text)
    return "{" + escaped + "}"


def as_bibtex(items: list[Cited], accessed: date) -> str:
    d = items[0].document
    fields = {
        "title": d.title,
        "author": d.author,
        "year": str(d.year) if d.year else None,
        "howpublished": d.doc_type if d.doc_type not in ("article", "report") else None,
        "langid": d.language,
        "url": d.source_url,
        "urldate": accessed.isoformat() if d.source_url else None,
        "note": "; ".join(filter(None, map(place, items))) or None,
    }
    lines = [f"@{BIBTEX_TYPES.get(d.doc_type, 'misc')}{{koshqon{d.id},"]
    lines += [f"  {name} = {_bibtex_value(value)}," for name, value in fields.items() if value]
    return "\n".join(lines) + "\n}\n"


def as_ris(items: list[Cited], accessed: date) -> str:
    d = items[0].document
    tags = [("TY", RIS_TYPES.get(d.doc_type, "GEN")), ("TI", d.title), ("AU", d.author)]
    tags += [("PY", str(d.year) if d.year else None), ("LA", d.language)]
    tags += [("UR", d.source_url), ("Y2", f"{accessed:%Y/%m/%d}" if d.source_url else None)]
    first_pages = [item.page_start for item in items if item.page_start]
    tags += [("SP", str(min(first_pages)) if first_pages else None)]
    tags += [("N1", "; ".join(filter(None, map(place, items))) or None), ("ID", f"koshqon{d.id}")]
    lines = [f"{tag}  - {' '.join(value.split())}" for tag, value in tags if value]
    return "\n".join([*lines, "ER  - "]) + "\n"


def _cell(value):
    """Text from uploaded files that a spreadsheet would take for a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(cited: list[Cited]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in cited:
        d = item.document
        row = [d.id, d.title, d.author, d.year, d.doc_type, d.language, item.heading]
        writer.writerow(
            map(_cell, [*row, item.page_start, item.page_end, d.source_url, item.passage])
        )
    return out.getvalue()
