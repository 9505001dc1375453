"""The benches' databases: an embedded PostgreSQL holding a generated portfolio (bench.kpis and
bench.dashboard), and rows in the loader's column order for the benches that bulk-load their own
(bench.api and bench.reports).

The generated portfolio is `--loans` loans over 12 months to 2026-11-30, seed 20261130, written
by `arrears.analytics.loader.generate` (the generator `arrears simulate portfolio` runs) without
the sequencer's queue: no bench reads the log's hashes. With `--data DIR` the database is kept
in DIR/pgdata and reused, as it is, when it exists; without, it lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arrears import migrate
from arrears.analytics import loader
from arrears.analytics.behaviour import BehaviourModel
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres

AS_OF = date(2026, 11, 30)
MONTHS = 12
SEED = 20261130
DATABASE = "arrears_bench"
console = Console()


def row(columns: Sequence[str], **values: object) -> tuple[object, ...]:
    """One row in the order of `columns` (the loader's `COLUMNS[table]`); a column not given is NULL."""
    unknown = values.keys() - set(columns)
    if unknown:
        raise ValueError(f"not columns of this table: {', '.join(sorted(unknown))}")
    return tuple(values.get(column) for column in columns)


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """`--data DIR`: keep the database there, and reuse it when it exists."""
    parser.add_argument("--data", type=Path, help="keep the database here; reuse it when it exists")


@contextmanager
def generated(*, loans: int, data: Path | None, model: BehaviourModel, vacuum: bool) -> Iterator[str]:
    """The application's URL of a migrated database holding the generated portfolio: made in
    `data` (or a temporary folder) and generated when new, reused as it is when `data` holds
    one; `vacuum` runs VACUUM ANALYZE after generating. The server stops afterwards."""
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as folder:
        where = data or Path(folder)
        existed = (where / "pgdata").exists()
        postgres = EmbeddedPostgres(where / "pgdata", delete_on_stop=data is None)
        postgres.start()
        try:
            owner = postgres.ensure_database(DATABASE)
            migrate.upgrade(owner)
            url = postgres.app_url(DATABASE)
            if not existed:
                asyncio.run(_generate(url, loans=loans, model=model))
                if vacuum:
                    with psycopg.connect(conninfo(owner), autocommit=True) as conn:
                        conn.execute("VACUUM ANALYZE")
            yield url
        finally:
            postgres.stop()


def conninfo(url: str) -> str:
    """psycopg's form of a SQLAlchemy database URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


async def _generate(url: str, *, loans: int, model: BehaviourModel) -> None:
    db = Database(url)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            job = bar.add_task(f"generating {loans:,} loans over {MONTHS} months", total=loans)
            began = time.perf_counter()
            await loader.generate(
                db,
                loans=loans,
                months=MONTHS,
                seed=SEED,
                as_of=AS_OF,
                model=model,
                sequenced=False,
                progress=lambda n: bar.advance(job, n),
            )
        console.print(f"generated {loans:,} loans in {time.perf_counter() - began:.1f} s")
    finally:
        await db.dispose()
