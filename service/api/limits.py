"""Limits on what a client may send. Request bodies are counted as they arrive: a declared
Content-Length over the limit is refused before anything is read, and a body sent without
one (chunked) is refused as soon as it passes the limit, so neither memory nor the disk
fills with what will be refused. Failed keys are throttled per client address."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.errors import FileTooLarge, NotSignedIn, TooManyAttempts

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


class Throttle:
    """Failed authentications per client address: ``burst`` at once, then ``per_second``
    on average; past that, every request with a key from that address gets 429 with
    Retry-After until the allowance refills (about a second), so a guesser tries at most
    ``per_second`` keys a second, while a valid key costs nothing and addresses that do
    not fail are never held up. At most ``addresses`` are remembered, the oldest dropped."""

    def __init__(self, per_second: float = 10, burst: int = 10, addresses: int = 10_000):
        self.per_second, self.burst, self.addresses = per_second, burst, addresses
        self._left: OrderedDict[str, tuple[float, float]] = OrderedDict()  # allowance, when
        self._lock = threading.Lock()

    def _allowance(self, address: str, now: float) -> float:
        left, then = self._left.get(address, (self.burst, now))
        return min(self.burst, left + (now - then) * self.per_second)

    @contextmanager
    def attempt(self, address: str, counted: bool) -> Iterator[None]:
        """Around a check of a key from ``address``: refused at once while the address is
        over its allowance (``counted``: a key was given), and a failure (NotSignedIn)
        taken from the allowance."""
        if counted:
            with self._lock:
                left = self._allowance(address, time.monotonic())
            if left < 1:
                wait = max(1, math.ceil((1 - left) / self.per_second))
                raise TooManyAttempts(
                    f"too many failed keys from {address}; try again in {wait} s", wait
                )
        try:
            yield
        except NotSignedIn:
            if counted:
                with self._lock:
                    now = time.monotonic()
                    self._left[address] = (self._allowance(address, now) - 1, now)
                    self._left.move_to_end(address)
                    while len(self._left) > self.addresses:
                        self._left.popitem(last=False)
            raise
