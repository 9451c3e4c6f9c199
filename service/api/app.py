"""The FastAPI application: routers, problem-details errors and the upload size guard."""

from __future__ import annotations

import json
import logging
import os
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from index.database import UNREACHABLE
from ingest.errors import KoshqonError, NotAllowed, NotSignedIn, TooManyAttempts

from ..config import SERVER_FILE, Settings, get_settings
from ..core import Koshqon
from ..jobs import Jobs
from .deps import authorise
from .errors import http_status, in_words
from .limits import BodyLimit, Throttle
from .logs import AccessLog
from .routes import ask, documents, health, jobs, keys, search, web
from .schemas import Problem

log = logging.getLogger("koshqon.server")

PROBLEM_JSON = "application/problem+json"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
UPLOAD_ROUTES = ("/documents", "/jobs")
DOCS_PAGES = ("/docs", "/redoc")  # Swagger UI and ReDoc, served from fastapi-offline
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def problem(status: int, title: str, detail: str, errors: list[dict] | None = None):
    body = Problem(title=title, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON
    )


def problem_of(error: KoshqonError) -> JSONResponse:
    response = problem(http_status(error), error.title, str(error))
    if isinstance(error, NotSignedIn):
        response.headers["WWW-Authenticate"] = 'Bearer realm="koshqon"'
    if response.status_code == 503:
        response.headers["Retry-After"] = "5"
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def content_policy(path: str) -> str:
    """Scripts, styles and images from this site only; never inside another site's frame.
    The API reference pages start their renderer with an inline script (and ReDoc its
    search in a worker)."""
    sources = "'self' 'unsafe-inline'" if path in DOCS_PAGES else "'self'"
    return (
        f"default-src {sources}; img-src {sources} data:; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def problem_responses(schema: dict) -> dict:
    """Error responses documented as they are sent: application/problem+json, a Problem."""
    problem_schema = {"$ref": "#/components/schemas/Problem"}
    for operations in schema["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": problem_schema}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)
    return schema


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    """The application; given the ``url`` it is served at, it says so in DATA/server.json
    while it runs, so that `koshqon search` and `ask` on that folder ask it instead of
    loading the model themselves."""
    settings = settings or get_settings()
    announcement = settings.data_dir / SERVER_FILE

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.koshqon = Koshqon(settings)
        app.state.koshqon.store.indexes()  # loaded before the first search, not during it
        app.state.jobs = Jobs(app.state.koshqon, run=settings.serve_jobs)
        app.state.koshqon.store.follow()  # a shared catalog's changes, made elsewhere
        if url:
            announcement.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        yield
        if url:
            announcement.unlink(missing_ok=True)
        if app.state.jobs.close():  # else the process ends with the runner still in a file
            app.state.koshqon.close()

    app = FastAPIOffline(  # the API reference works without the internet
        static_url="/api-docs-assets",
        title="Koshqon",
        summary="Search Kazakh, Russian and English documents; every passage cited.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.throttle = Throttle()
    for module in (search, ask, documents, jobs, keys, health, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.WEB / "static"), name="static")

    @app.middleware("http")
    async def refuse_cross_site_writes(request: Request, call_next):
        """A write sent by a page of another site (a form, a no-cors fetch) is refused: the
        browser says where it comes from in Origin and Sec-Fetch-Site. Clients that are
        not browsers (curl, scripts) send neither, and need a key once keys exist."""
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("origin")
            site = request.headers.get("sec-fetch-site")
            host = request.headers.get("host", "")
            if site == "cross-site" or (origin and origin.split("://", 1)[-1] != host):
                error = NotAllowed(f"a write from another site ({origin or site}) is refused")
                return problem_of(error)
        return await call_next(request)

    @app.middleware("http")
    async def uploads_need_a_key_first(request: Request, call_next):
        """An upload is refused before its body is read, not after (the routes' own
        checks run once FastAPI has parsed the whole form), and the connection is closed
        rather than drained of the body. The key is looked up in the catalog off the
        event loop, which would otherwise wait for the database with every request."""
        if request.method in ("POST", "PUT") and request.url.path.startswith(UPLOAD_ROUTES):
            try:
                await run_in_threadpool(authorise, request, "librarian")
            except KoshqonError as error:
                response = problem_of(error)
                response.headers["Connection"] = "close"
                return response
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        """No framing (clickjacking of the library's delete buttons), no type sniffing,
        scripts and styles from this site only."""
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", content_policy(request.url.path))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(KoshqonError)
    async def koshqon_error(request: Request, error: KoshqonError):
        return problem_of(error)

    async def catalog_down(request: Request, error: Exception):
        log.warning("the catalog's database does not answer: %s", error)
        response = problem(
            503,
            "Catalog unavailable",
            "the catalog's database does not answer; try again in a few seconds",
        )
        response.headers["Retry-After"] = "5"
        return response

    for kind in UNREACHABLE:  # PostgreSQL restarting or failing over, say
        app.add_exception_handler(kind, catalog_down)

    @app.exception_handler(web.SignInFirst)
    async def sign_in_first(request: Request, error: web.SignInFirst):
        return RedirectResponse(f"/signin?next={quote(str(error))}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        return problem(422, "Invalid request", in_words(errors), errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        response = problem(error.status_code, str(error.detail), str(error.detail))
        response.headers.update(error.headers or {})  # Allow, on a 405
        return response

    fastapi_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = problem_responses(fastapi_openapi())
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(AccessLog, log_queries=settings.log_queries)
    # outermost: a request for another host name (DNS rebinding) is answered 400 first
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    return app
