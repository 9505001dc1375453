"""What the routes of several domains share: free-text and paging parameters, and the caller as an
audit actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

from arrears import audit
from arrears.auth import Principal

# Free text from people: printable, so that nothing the database or a letter cannot hold gets in.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# A name or a number on one line: no control character at all.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]

MAX_PAGE = 200
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def actor(principal: Principal) -> audit.Actor:
    return audit.Actor(principal.subject, principal.role.value)
