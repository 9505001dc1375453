"""The cases routes live in `api.cases`; the paging parameters are in `api.service`.

Kept for the routes that still import `Limit` and `Offset` from here."""

from __future__ import annotations

from api.service import Limit, Offset

__all__ = ["Limit", "Offset"]
