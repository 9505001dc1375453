"""The engagement table: the migrations create it, it takes every funnel step, and the
application may record events but never change or delete one."""

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from arrears.db import async_url
from models.engagement import EngagementKind


def test_engagement_events_columns_hold_no_personal_data(database_url: str) -> None:
    engine = create_engine(async_url(database_url))
    columns = {c["name"] for c in inspect(engine).get_columns("engagement_events")}
    engine.dispose()
    assert columns == {"id", "case_id", "message_id", "template", "kind", "occurred_at"}


@pytest.mark.parametrize(
    "statement", ["UPDATE engagement_events SET template = 'x'", "DELETE FROM engagement_events"]
)
def test_application_cannot_change_recorded_events(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_every_funnel_step_is_accepted_by_the_check(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        check = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            ("ck_engagement_events_engagementkind",),
        ).fetchone()
    assert check is not None
    for kind in EngagementKind:
        assert f"'{kind.value}'" in check[0]
