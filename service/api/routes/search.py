from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from index.search import Filters, Mode, SearchResult
from ingest.errors import InvalidParameter

from ...citations import MEDIA_TYPES, Format, export
from ...core import split_languages
from ..deps import DENIED, KoshqonDep, Reader
from ..schemas import DocumentId, Problem, SearchResponse

router = APIRouter(tags=["search"], dependencies=[Reader], responses=DENIED)
INVALID = {422: {"model": Problem, "description": "Invalid parameters"}}


@dataclass
class Search:
    """The parameters of a search, shared by /search and its export."""

    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question.")]
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 10
    lang: Annotated[
        list[str] | None,
        Query(description="Passage languages, repeatable or comma-separated: kk,ru,en"),
    ] = None
    doc_id: Annotated[list[DocumentId] | None, Query(description="Only these documents.")] = None
    doc_type: Annotated[list[str] | None, Query(description="Only these types.")] = None
    mode: Annotated[
        Mode,
        Query(
            description="hybrid: meaning and keywords combined (default); dense: meaning "
            "only, across languages; keyword: BM25 over stemmed words (across languages only "
            "numbers and names match)."
        ),
    ] = "hybrid"

    def run(self, koshqon) -> SearchResult:
        if not self.q.strip():
            raise InvalidParameter("q: the question is empty")
        filters = Filters(split_languages(self.lang), self.doc_id, self.doc_type)
        return koshqon.search(self.q, self.k, filters, self.mode)


def download(text: str, format: Format, name: str) -> Response:
    """Citations as a file (text shows in the browser; the others are saved)."""
    media_type, extension = MEDIA_TYPES[format]
    disposition = "inline" if format == "text" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{name}.{extension}"'}
    return Response(text, media_type=media_type, headers=headers)


FormatQuery = Annotated[
    Format,
    Query(description="text (a citation style: legal acts or author–date), bibtex, ris or csv."),
]
EXPORTED = {**INVALID, 200: {"content": {m: {} for m, _ in MEDIA_TYPES.values()}}}


@router.get("/search", response_model=SearchResponse, responses=INVALID)
def search(koshqon: KoshqonDep, search: Annotated[Search, Depends()]) -> SearchResponse:
    """Ranked passages for a question in any of the languages, each with its citation."""
    return SearchResponse.model_validate(search.run(koshqon))


@router.get("/search/citations", response_class=Response, responses=EXPORTED)
def search_citations(
    koshqon: KoshqonDep, search: Annotated[Search, Depends()], format: FormatQuery = "text"
) -> Response:
    """The results of the same search as citations to take away: one per passage, with its
    article and pages (BibTeX and RIS: one entry per document, the places in a note)."""
    return download(export(koshqon.cited(search.run(koshqon)), format), format, "koshqon-search")
