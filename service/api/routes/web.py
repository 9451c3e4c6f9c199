"""The web page: search and ask, the document view and the librarian's view.

Pages are rendered on the server from the same route functions the JSON API serves, so a
page shows exactly what the API returns. The one script (static/app.js) uploads, edits and
deletes through the JSON API, and scrolls to the cited passage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from index.search import Mode
from ingest.errors import KoshqonError, NotSignedIn, TooManyAttempts
from ingest.models import DOC_TYPES
from ingest.readers import READERS

from ...access import SESSION_HOURS
from ...web import i18n
from ...web.markup import highlighted, linked_markers, marked, plain, view_url
from ..deps import SESSION_COOKIE, KoshqonDep, authorise, client_address, credential
from ..errors import http_status
from ..schemas import AskRequest, DocumentId
from .ask import ask as ask_api
from .documents import get_document, list_documents
from .search import Search
from .search import search as search_api

WEB = Path(__file__).resolve().parents[2] / "web"
RESULTS_SHOWN = 10
RECENT_SHOWN = 5
YEAR = 60 * 60 * 24 * 365


class SignInFirst(Exception):
    """A page that needs a key, asked for without one: the app redirects to /signin."""


def may_see(role):
    """A page dependency: without a valid key where one is needed, the sign-in page."""

    def check(request: Request) -> None:
        try:
            authorise(request, role)
        except NotSignedIn as error:
            raise SignInFirst(request.url.path) from error

    return Depends(check)


router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(WEB / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
templates.env.filters.update(highlighted=highlighted, marked=marked, plain=plain)
templates.env.globals.update(view_url=view_url, linked_markers=linked_markers)


def page(
    request: Request,
    template: str,
    ui: str | None,
    remembered: str | None,
    status: int = 200,
    **context,
) -> HTMLResponse:
    """Render a page in the chosen interface language; a language asked for by `?ui=` is
    remembered in a cookie for the next pages."""
    language = i18n.choose(ui, remembered, request.headers.get("accept-language", ""))
    holder = request.app.state.koshqon.access.holder(credential(request))
    context.setdefault("signed_in", holder[0] if holder else None)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": i18n.STRINGS[language],
            "ui": language,
            "languages": i18n.NATIVE_NAMES,
            **context,
        },
        status_code=status,
    )
    if ui == language:
        response.set_cookie(i18n.COOKIE, language, max_age=YEAR, samesite="lax")
    return response


UiParam = Annotated[str | None, Query(description="Interface language: kk, ru or en.")]
UiCookie = Annotated[str | None, Cookie(alias=i18n.COOKIE)]


@router.get("/", response_class=HTMLResponse, dependencies=[may_see("reader")])
def search_page(
    request: Request,
    koshqon: KoshqonDep,
    ui: UiParam = None,
    remembered: UiCookie = None,
    q: Annotated[str, Query(max_length=2000)] = "",
    lang: Annotated[list[str] | None, Query()] = None,
    mode: Mode = "hybrid",
    action: Literal["search", "ask"] = "search",
) -> HTMLResponse:
    """The query box; below it the ranked passages or, for "ask", the cited answer."""
    context = {"q": q, "lang": lang or [], "mode": mode, "action": action, "error": None}
    try:
        if q.strip() and action == "ask":
            question = AskRequest(question=q, lang=lang, mode=mode)
            context["answer"] = ask_api(koshqon, question).model_dump()
        elif q.strip():
            query = Search(q=q, k=RESULTS_SHOWN, lang=lang, mode=mode)
            found = search_api(koshqon, query).model_dump()
            context["results"], context["references"] = found["results"], found["references"]
            context["no_match"], context["missing"] = found["no_match"], found["missing"]
            given = {name: value for name, value in asdict(query).items() if value}
            context["citations"] = "/search/citations?" + urlencode(given, doseq=True)
        else:
            context["holdings"] = holdings(koshqon.documents())
    except KoshqonError as error:
        context["error"] = str(error)
    return page(request, "search.html", ui, remembered, **context)


def holdings(documents: list) -> dict:
    """What the collection holds, for the empty search page: counts by language and type,
    and the latest additions."""
    return {
        "documents": len(documents),
        "passages": sum(d.chunks for d in documents),
        "languages": Counter(d.language for d in documents).most_common(),
        "types": Counter(d.doc_type for d in documents).most_common(),
        "recent": sorted(documents, key=lambda d: d.added_at, reverse=True)[:RECENT_SHOWN],
    }


@router.get(
    "/view/documents/{document_id}", response_class=HTMLResponse, dependencies=[may_see("reader")]
)
def document_page(
    request: Request,
    koshqon: KoshqonDep,
    document_id: DocumentId,
    ui: UiParam = None,
    remembered: UiCookie = None,
    chunk: int | None = None,
    start: int | None = None,
    end: int | None = None,
) -> HTMLResponse:
    """Metadata and passages in order; the cited passage (and sentence) marked and in view."""
    try:
        document = get_document(koshqon, document_id).model_dump()
    except KoshqonError as error:
        return page(request, "error.html", ui, remembered, http_status(error), error=str(error))
    return page(
        request,
        "document.html",
        ui,
        remembered,
        document=document,
        chunk=chunk,
        start=start,
        end=end,
    )


@router.get("/library", response_class=HTMLResponse, dependencies=[may_see("librarian")])
def library_page(
    request: Request, koshqon: KoshqonDep, ui: UiParam = None, remembered: UiCookie = None
) -> HTMLResponse:
    """Upload with metadata, ingestion progress, and each document to edit or delete."""
    documents = list_documents(koshqon).model_dump()["documents"]
    return page(
        request,
        "library.html",
        ui,
        remembered,
        documents=documents,
        doc_types=DOC_TYPES,
        accept=",".join(sorted(READERS)),
    )


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for it whatever the page says."""
    return FileResponse(WEB / "static" / "favicon.svg", media_type="image/svg+xml")


@router.get("/signin", response_class=HTMLResponse)
def signin_page(
    request: Request, ui: UiParam = None, remembered: UiCookie = None, next: str = "/"
) -> HTMLResponse:
    return page(request, "signin.html", ui, remembered, next=_local(next), error=None)


@router.post("/signin", response_class=HTMLResponse)
def sign_in(
    request: Request,
    koshqon: KoshqonDep,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
    remembered: UiCookie = None,
):
    """A session for a valid key, kept in an HttpOnly, SameSite=Strict cookie."""
    try:
        with request.app.state.throttle.attempt(client_address(request), counted=True):
            token = koshqon.access.sign_in(key.strip())
    except (NotSignedIn, TooManyAttempts) as error:
        context = {"next": _local(next), "error": str(error)}
        status = 429 if isinstance(error, TooManyAttempts) else 401
        return page(request, "signin.html", None, remembered, status, **context)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/signout")
def sign_out(request: Request, koshqon: KoshqonDep) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        koshqon.access.sign_out(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _local(path: str) -> str:
    """Only a path on this site to go back to after signing in (no open redirect)."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"
