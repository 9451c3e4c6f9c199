"""One JSON line per request: when, which request (its id, also sent back as
X-Request-ID), the route, the status and the time taken. What readers search for is
private: the query text is logged only with KOSHQON_LOG_QUERIES=true."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote_plus

LOG = logging.getLogger("koshqon.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AccessLog:
    """Pure ASGI middleware, so that it sees the route a request matched."""

    def __init__(self, app, log_queries: bool = False):
        self.app, self.log_queries = app, log_queries

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        started, status = time.perf_counter(), 500

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            entry = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "request_id": request_id,
                "method": scope["method"],
                "route": route.path if route is not None else scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
            if self.log_queries and scope.get("query_string"):
                entry["query"] = unquote_plus(scope["query_string"].decode("latin-1"))
            LOG.info(json.dumps(entry, ensure_ascii=False))
