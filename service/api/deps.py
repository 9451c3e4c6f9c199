"""Dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Request

from ..core import Koshqon


def get_koshqon(request: Request) -> Koshqon:
    return request.app.state.koshqon


KoshqonDep = Annotated[Koshqon, Depends(get_koshqon)]
