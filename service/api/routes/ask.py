"""Answers with citations: the best sentences of the top passages, each marked [n]."""

from __future__ import annotations

from fastapi import APIRouter

from index.answer import Answer
from index.search import Filters

from ...core import split_languages
from ..deps import DENIED, KoshqonDep, Reader
from ..schemas import AnswerCitation, AskRequest, AskResponse, Problem, SearchHit

router = APIRouter(tags=["answers"], dependencies=[Reader], responses=DENIED)


def ask_response(answer: Answer) -> AskResponse:
    return AskResponse(
        question=answer.question,
        status=answer.status,
        answer=answer.answer,
        citations=[
            AnswerCitation(
                marker=c.marker,
                chunk_id=c.hit.chunk_id,
                sentence=c.sentence,
                char_start=c.char_start,
                char_end=c.char_end,
                lang=c.hit.lang,
                citation=c.hit.citation,
            )
            for c in answer.citations
        ],
        evidence=[SearchHit.model_validate(hit) for hit in answer.evidence],
        answerer=answer.answerer,
        took_ms=answer.took_ms,
    )


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={422: {"model": Problem, "description": "Invalid parameters"}},
)
def ask(koshqon: KoshqonDep, request: AskRequest) -> AskResponse:
    """Answer a question in Kazakh, Russian or English from the collection: each sentence of
    the answer is a sentence of a source, marked [n] and cited; "not_found" when the
    collection holds nothing close enough."""
    filters = Filters(split_languages(request.lang), request.doc_id, request.doc_type)
    return ask_response(koshqon.ask(request.question, request.k, filters, request.mode))
