"""The daily print batch as an activity, run by the print schedule's workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from temporalio import activity

from arrears import print_batch
from arrears.db import Database


class PrintActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="build_print_batch")
    async def build_print_batch(self, day: date) -> int:
        """Build (once) the print batch for a day; returns the number of letters in it."""
        async with self.db.session() as session:
            batch = await print_batch.build(session, day)
            return batch.letters

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        return [self.build_print_batch]
