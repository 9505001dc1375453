"""The database layer: a failed statement's error text names the statement, not its values."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from arrears.db import Database


async def test_a_failed_statement_keeps_its_bound_values_out_of_the_error(db: Database) -> None:
    address = "ann.borrower@example.org"
    with pytest.raises(DBAPIError) as failed:
        async with db.session() as session:
            connection = await session.connection()
            await connection.execute(
                text("SELECT 1 / 0 WHERE CAST(:who AS text) IS NOT NULL"), {"who": address}
            )
    assert "division by zero" in str(failed.value)
    assert address not in str(failed.value)
