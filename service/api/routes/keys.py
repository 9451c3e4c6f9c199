"""Access keys over HTTP, for an admin (the same as `koshqon keys`)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import DENIED, Admin, KoshqonDep
from ..schemas import KeyCreated, KeyInfo, KeyList, KeyRequest, Problem

router = APIRouter(prefix="/keys", tags=["keys"], dependencies=[Admin], responses=DENIED)


@router.get("", response_model=KeyList)
def list_keys(koshqon: KoshqonDep) -> KeyList:
    """Every key's name, role and date; never the key."""
    return KeyList(keys=[KeyInfo.model_validate(key) for key in koshqon.access.listed()])


@router.post("", status_code=201, response_model=KeyCreated)
def add_key(koshqon: KoshqonDep, request: KeyRequest) -> KeyCreated:
    """A new key, shown in this response only: the server keeps its digest."""
    key = koshqon.access.add(request.name, request.role)
    created = next(k for k in koshqon.access.listed() if k.name == request.name)
    return KeyCreated(**KeyInfo.model_validate(created).model_dump(), key=key)


@router.delete(
    "/{name}",
    status_code=204,
    responses={404: {"model": Problem, "description": "No such key"}},
)
def revoke_key(koshqon: KoshqonDep, name: str) -> Response:
    """The key stops working at once, and the web sessions signed in with it end."""
    koshqon.access.revoke(name)
    return Response(status_code=204)
