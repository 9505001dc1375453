"""A database with a generated portfolio whose roll rates are planted, for the analytics tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from types import MappingProxyType

import pytest

from arrears import migrate
from arrears.analytics.behaviour import BASE_ROLL_RATES, DEFAULT_MODEL, BehaviourModel, tilted
from arrears.analytics.loader import Generated, generate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres

AS_OF = date(2026, 6, 30)
MONTHS = 12
SEED = 20260630
LOANS = 8_000
# The planted behaviour: the default segments (good cures 1.25x, bad 0.5x the base rates), and
# an experiment whose treatment arm cures 1.5x the base rates while its case is open.
TREATMENT = tilted(BASE_ROLL_RATES, cure=1.5)
PLANTED = BehaviourModel(
    segment_roll_rates=DEFAULT_MODEL.segment_roll_rates,
    arms=("control", "treatment"),
    arm_roll_rates=MappingProxyType({"treatment": TREATMENT}),
)


async def fresh_database(postgres: EmbeddedPostgres, name: str) -> Database:
    """A database of its own, migrated by its owner, opened as the application logs in."""
    database = f"arrears_{name}_{uuid.uuid4().hex[:8]}"
    migrate.upgrade(postgres.ensure_database(database))
    return Database(postgres.app_url(database))


@pytest.fixture(scope="package")
async def generated(postgres: EmbeddedPostgres) -> AsyncIterator[tuple[Database, Generated]]:
    """8,000 loans over 12 months, generated from the planted model."""
    db = await fresh_database(postgres, "analytics")
    made = await generate(db, loans=LOANS, months=MONTHS, seed=SEED, as_of=AS_OF, model=PLANTED)
    yield db, made
    await db.dispose()
