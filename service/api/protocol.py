"""Raw UTF-8 in a URL, as curl sends `http://…/search?q=кандастар`, is percent-encoded before
the HTTP parser sees it: h11 (and httptools) accept only ASCII in the request line and
would answer a plain-text 400 that is not a problem+json. Browsers encode it themselves."""

from __future__ import annotations

from urllib.parse import quote

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ASCII_KEPT = "".join(map(chr, range(0x21, 0x7F)))  # printable ASCII passes as it is


def encoded(request_line: bytes) -> bytes:
    """Every byte from 0x80 up as %XX; nothing else changes."""
    if request_line.isascii():
        return request_line
    return quote(request_line, safe=ASCII_KEPT + " \r").encode("ascii")


class Utf8RequestLines(H11Protocol):
    """uvicorn's h11 protocol, reading each request line with ``encoded`` (pipelined
    requests after the first of a connection's bursts are read as they come)."""

    _in_request_line = True

    def data_received(self, data: bytes) -> None:
        # a request's first bytes; not the rest of a body answered before it was read
        if self._in_request_line and self.conn.their_state is h11.IDLE:
            end = data.find(b"\n")
            line, rest = (data, b"") if end < 0 else (data[:end], data[end:])
            self._in_request_line = end < 0
            data = encoded(line) + rest
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._in_request_line = True  # the next bytes start the next request
        super().on_response_complete()
