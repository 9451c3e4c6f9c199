from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from index.search import Filters, Mode
from ingest.errors import InvalidParameter

from ...core import split_languages
from ..deps import DENIED, KoshqonDep, Reader
from ..schemas import DocumentId, Problem, SearchResponse

router = APIRouter(tags=["search"], dependencies=[Reader], responses=DENIED)


@router.get(
    "/search",
    response_model=SearchResponse,
    responses={422: {"model": Problem, "description": "Invalid parameters"}},
)
def search(
    koshqon: KoshqonDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question.")],
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 10,
    lang: Annotated[
        list[str] | None,
        Query(description="Passage languages, repeatable or comma-separated: kk,ru,en"),
    ] = None,
    doc_id: Annotated[list[DocumentId] | None, Query(description="Only these documents.")] = None,
    doc_type: Annotated[list[str] | None, Query(description="Only these types.")] = None,
    mode: Annotated[
        Mode,
        Query(
            description="hybrid: meaning and keywords combined (default); dense: meaning "
            "only, across languages; keyword: BM25 over stemmed words (across languages only "
            "numbers and names match)."
        ),
    ] = "hybrid",
) -> SearchResponse:
    """Ranked passages for a question in any of the languages, each with its citation."""
    if not q.strip():
        raise InvalidParameter("q: the question is empty")
    filters = Filters(langs=split_languages(lang), document_ids=doc_id, doc_types=doc_type)
    return SearchResponse.model_validate(koshqon.search(q, k, filters, mode))
