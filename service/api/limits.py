"""Request bodies counted as they arrive: a declared Content-Length over the limit is
refused before anything is read, and a body sent without one (chunked) is refused as soon
as it passes the limit, so neither memory nor the disk fills with what will be refused."""

from __future__ import annotations

import json

from ingest.errors import FileTooLarge

from ..config import Settings

MULTIPART_OVERHEAD = 64 * 1024


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware (it must see the body's chunks, which Starlette's
    BaseHTTPMiddleware would read for it)."""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings

    def limit(self, path: str) -> tuple[int, str]:
        """Bytes a body may have, and the setting that says so: a job holds several files."""
        if path.startswith("/jobs"):
            return self.settings.max_job_bytes + MULTIPART_OVERHEAD, "KOSHQON_MAX_JOB_MB"
        return self.settings.max_upload_bytes + MULTIPART_OVERHEAD, "KOSHQON_MAX_UPLOAD_MB"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, setting = self.limit(scope["path"])
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            return await refuse(send, int(length), limit, setting)
        received, exceeded, started = 0, False, False

        async def counting():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def sending(message):
            """The app's answer, or, once the body went over, the 413 in its place (the
            form parser turns the interruption into a 400 of its own)."""
            nonlocal started
            if not exceeded:
                started = started or message["type"] == "http.response.start"
                await send(message)
            elif not started:
                started = True
                await refuse(send, received, limit, setting)

        try:
            await self.app(scope, counting, sending)
        except BodyTooLarge:
            if not started:
                await refuse(send, received, limit, setting)


async def refuse(send, size: int, limit: int, setting: str) -> None:
    """413 in problem+json, sent before the rest of the body is read."""
    error = FileTooLarge(
        f"the request is over {limit / 1e6:.1f} MB ({size / 1e6:.1f} MB or more sent); "
        f"the limit is set by {setting}"
    )
    body = json.dumps(
        {"type": "about:blank", "title": error.title, "status": 413, "detail": str(error)}
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
