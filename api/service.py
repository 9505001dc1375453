"""What the routes share: free-text types, the caller as an audit actor, and loading a case."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlmodel.ext.asyncio.session import AsyncSession

from api.access import may_see
from api.errors import NotFound
from arrears import audit
from arrears.auth import Principal
from models.cases import Case

# Free text from people: printable, so that nothing the database or a letter cannot hold gets in.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]


class Accepted(BaseModel):
    """The workflow accepted the action."""

    case_id: uuid.UUID
    result: str


def actor(principal: Principal) -> audit.Actor:
    return audit.Actor(principal.subject, principal.role.value)


async def load_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    """The case, if it exists and the caller may see it; 404 in both other cases (no probing)."""
    case = await session.get(Case, case_id)
    if case is None or not may_see(principal, case):
        raise NotFound(f"no case {case_id}")
    return case
