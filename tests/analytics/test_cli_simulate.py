"""`arrears simulate portfolio` as a user runs it: bad input gets a clear error, good input a
portfolio and its counts, and a seed already loaded is refused."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.cli_simulate import demo_portfolio
from arrears.embedded import EmbeddedPostgres
from arrears.settings import Settings
from tests.analytics.conftest import fresh_database

ARREARS = str(Path(sys.executable).parent / "arrears")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loans", "0"], "--loans must be between 1 and 10,000,000, not 0"),
        (["--loans", "-5"], "--loans must be between 1 and 10,000,000, not -5"),
        (["--months", "0"], "--months must be between 1 and 120, not 0"),
        (["--months", "500"], "--months must be between 1 and 120, not 500"),
        (["--seed", "-1"], "--seed must be 0 or more, not -1"),
        (["--as-of", "2026-13-01"], "--as-of must be a date written YYYY-MM-DD, not '2026-13-01'"),
        (["--loans", "many"], "Invalid value for '--loans'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["simulate", "portfolio", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


async def _arrears(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        ARREARS, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_generates_a_portfolio_and_refuses_the_same_seed_twice(
    postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    db = await fresh_database(postgres, "cli")
    env = {
        **os.environ,
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    args = ("simulate", "portfolio", "--loans", "60", "--months", "4", "--seed", "5", "--as-of", "2026-06-30")
    try:
        code, out, err = await _arrears(*args, env=env)
        assert code == 0, err
        assert "portfolio through 2026-06-30" in out
        counts = {
            cells[1].strip(): cells[2].strip()
            for cells in (line.split("│") for line in out.splitlines())
            if len(cells) == 4
        }
        assert counts["loans"] == "60", out
        async with db.session() as session:
            connection = await session.connection()
            packs = (await connection.execute(text("SELECT DISTINCT policy_pack FROM loans"))).scalars().all()
            snapshots = (
                await connection.execute(text("SELECT count(*) FROM delinquency_snapshots"))
            ).scalar_one()
        assert sorted(packs) == ["be_consumer", "nl_consumer", "se_consumer", "us_mortgage"]
        assert counts["delinquency snapshots"] == f"{snapshots:,}"
        assert snapshots > 60 * 3  # a report at each month's end while the loan is in the book

        code, out, err = await _arrears(*args, env=env)
        assert code == 2
        assert "a portfolio generated with seed 5 is already loaded (60 loans)" in " ".join(err.split())
    finally:
        await db.dispose()


async def test_the_demo_loads_a_generated_portfolio_when_asked(
    postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    db = await fresh_database(postgres, "demo")
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        demo_portfolio_loans=30,
        demo_portfolio_months=3,
        demo_portfolio_seed=4,
    )
    try:
        made = await demo_portfolio(db, settings)
        async with db.session() as session:
            connection = await session.connection()
            loans = (await connection.execute(text("SELECT count(*) FROM loans"))).scalar_one()
            open_cases = (
                await connection.execute(
                    text("SELECT count(*) FROM cases WHERE status = 'open' AND run_id IS NULL")
                )
            ).scalar_one()
        assert (made.loans, loans) == (30, 30)
        assert open_cases == made.open_cases  # left for `arrears run` to start, as intake leaves them
    finally:
        await db.dispose()
