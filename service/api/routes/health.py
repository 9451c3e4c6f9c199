from fastapi import APIRouter

from ..deps import KoshqonDep
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(koshqon: KoshqonDep) -> Health:
    """The model in use, its vector dimension, and how much is indexed."""
    return Health.model_validate(koshqon.health())
