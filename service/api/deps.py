"""Dependencies shared by the routers: the application, and who may call a route."""

from typing import Annotated

from fastapi import Depends, Request

from ..access import Role
from ..core import Koshqon
from .schemas import Problem

SESSION_COOKIE = "koshqon_session"


def get_koshqon(request: Request) -> Koshqon:
    return request.app.state.koshqon


KoshqonDep = Annotated[Koshqon, Depends(get_koshqon)]


def credential(request: Request) -> str | None:
    """The caller's key (Authorization: Bearer) or the web page's session cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authorise(request: Request, role: Role) -> None:
    """Raise unless the caller may do what ``role`` may (401, 403), or while its address
    has failed too many keys (429: limits.Throttle)."""
    given = credential(request)
    with request.app.state.throttle.attempt(client_address(request), given is not None):
        request.app.state.koshqon.access.check(role, given)


def require(role: Role):
    """A route dependency: 401 without a valid key, 403 with a lesser role's."""

    def check(request: Request) -> None:
        authorise(request, role)

    return Depends(check)


Reader, Librarian, Admin = require("reader"), require("librarian"), require("admin")

DENIED = {
    401: {"model": Problem, "description": "No valid key (once keys exist)"},
    403: {"model": Problem, "description": "The key's role may not do this"},
    429: {"model": Problem, "description": "Too many failed keys from this address"},
}
