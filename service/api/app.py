"""The FastAPI application: routers, problem-details errors and the upload size guard."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ingest.errors import KoshqonError

from ..config import Settings, get_settings
from ..core import Koshqon, too_large
from ..jobs import Jobs
from .errors import http_status
from .routes import ask, documents, health, jobs, search, web
from .schemas import Problem

PROBLEM_JSON = "application/problem+json"
MULTIPART_OVERHEAD = 64 * 1024


def problem(status: int, title: str, detail: str, errors: list[dict] | None = None):
    body = Problem(title=title, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.koshqon = Koshqon(settings)
        app.state.koshqon.store.indexes()  # loaded before the first search, not during it
        app.state.jobs = Jobs(app.state.koshqon)
        yield
        app.state.jobs.close()
        app.state.koshqon.close()

    app = FastAPI(
        title="Koshqon",
        summary="Search Kazakh, Russian and English documents; every passage cited.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    for module in (search, ask, documents, jobs, health, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.WEB / "static"), name="static")

    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next):
        """Say 413 from the Content-Length header, before reading a large body."""
        length = request.headers.get("content-length", "")
        limit = settings.max_upload_bytes + MULTIPART_OVERHEAD
        if request.method in ("POST", "PUT") and length.isdigit() and int(length) > limit:
            error = too_large(f"the upload is {int(length) / 1e6:.1f} MB", settings)
            return problem(http_status(error), error.title, str(error))
        return await call_next(request)

    @app.exception_handler(KoshqonError)
    async def koshqon_error(request: Request, error: KoshqonError):
        return problem(http_status(error), error.title, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, "Invalid request", detail, errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return problem(error.status_code, str(error.detail), str(error.detail))

    return app
