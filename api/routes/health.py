"""Liveness."""

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="Liveness probe")
async def healthz() -> Health:
    """Answers while the process serves requests; touches no dependency."""
    return Health(status="ok")
