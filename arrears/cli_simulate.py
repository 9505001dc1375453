"""`arrears simulate portfolio`: a synthetic portfolio, deterministic for a seed, for the KPIs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from arrears import migrate
from arrears.analytics.loader import Generated, SimulationError, check, ensure_new, generate
from arrears.db import Database
from arrears.runtime import Endpoints, embedded_stack
from arrears.settings import Settings, get_settings

app = typer.Typer(help="Synthetic data to see the KPIs on.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


class _Rate(ProgressColumn):
    """Loans written per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} loans/s" if task.speed else "", style="cyan")


def progress_bar() -> Progress:
    """The generation's progress: loans written, rate, time spent and left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command("portfolio")
def portfolio(
    loans: Annotated[int, typer.Option("--loans", help="How many loans, across every pack.")] = 10_000,
    months: Annotated[int, typer.Option("--months", help="Months of history, ending this month.")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same portfolio.")] = 1,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The last snapshot's day, YYYY-MM-DD (default: today, UTC).")
    ] = None,
) -> None:
    """Generate a portfolio: loans with due schedules and segments, monthly snapshots, cases,
    payments, calls, promises, messages and engagement, written to the database."""
    try:
        check(loans=loans, months=months, seed=seed)
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except SimulationError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        err.print(f"[red]--as-of must be a date written YYYY-MM-DD, not {as_of!r}[/]")
        raise typer.Exit(2) from exc
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:
        try:
            result = asyncio.run(_generate(endpoints, loans=loans, months=months, seed=seed, as_of=day))
        except SimulationError as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from exc
    _report(result)


async def _generate(endpoints: Endpoints, *, loans: int, months: int, seed: int, as_of: date) -> Generated:
    if endpoints.migration_database_url is not None and get_settings().embedded_postgres:
        migrate.upgrade(endpoints.migration_database_url)
    db = Database(endpoints.database_url)
    try:
        await ensure_new(db, seed=seed)
        with progress_bar() as bar:
            task = bar.add_task(f"simulating {months} months", total=loans)
            return await generate(
                db,
                loans=loans,
                months=months,
                seed=seed,
                as_of=as_of,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        await db.dispose()


def _report(g: Generated) -> None:
    table = Table("written", "rows", title=f"portfolio through {g.as_of.isoformat()}")
    for name, count in (
        ("loans", g.loans),
        ("delinquency snapshots", g.snapshots),
        ("cases", g.cases),
        ("  still open (started by `arrears run`)", g.open_cases),
        ("payments", g.payments),
        ("audit events", g.audit_events),
        ("messages", g.messages),
        ("engagement events", g.engagement_events),
    ):
        table.add_row(name, f"{count:,}")
    console.print(table)


async def demo_portfolio(db: Database, settings: Settings) -> Generated:
    """The demo's synthetic portfolio beside the hand-made cases (DEMO_PORTFOLIO_LOANS)."""
    with progress_bar() as bar:
        task = bar.add_task("synthetic demo portfolio", total=settings.demo_portfolio_loans)
        return await generate(
            db,
            loans=settings.demo_portfolio_loans,
            months=settings.demo_portfolio_months,
            seed=settings.demo_portfolio_seed,
            as_of=datetime.now(UTC).date(),
            progress=lambda n: bar.advance(task, n),
        )
