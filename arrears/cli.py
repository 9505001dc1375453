"""The `arrears` command line."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arrears import audit, cli_audit, cli_simulate, cli_strategy, demo
from arrears.auth import issue_token
from arrears.db import one_off_session
from arrears.delinquency_rows import read_file
from arrears.reports import service as reports
from arrears.runtime import Endpoints, embedded_stack, services
from arrears.serve import serve
from arrears.settings import Settings, get_settings
from models.enums import PolicyPack, ReportKind, Role

# No local variables in tracebacks: they would print database URLs with their passwords.
app = typer.Typer(
    help="Arrears: default-management case system.", no_args_is_help=True, pretty_exceptions_show_locals=False
)
app.add_typer(cli_audit.app, name="audit")
app.add_typer(cli_strategy.score_app, name="score")
app.add_typer(cli_strategy.strategy_app, name="strategy")
app.add_typer(cli_strategy.experiment_app, name="experiment")
cli_simulate.app.command("strategy")(cli_strategy.simulate_strategy)
app.add_typer(cli_simulate.app, name="simulate")
report_app = typer.Typer(help="Regulator and investor reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")
console = Console()
err = Console(stderr=True)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def run(verbose: Annotated[bool, typer.Option(help="Log at INFO.")] = False) -> None:
    """Run everything: embedded servers (unless configured), migrations, worker and API."""
    _setup_logging(verbose)
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    console.print("starting PostgreSQL and Temporal (embedded unless configured)…")
    with embedded_stack(settings) as endpoints:
        asyncio.run(_run(endpoints))


async def _run(endpoints: Endpoints) -> None:
    settings = get_settings()
    mail_sink = None
    if settings.smtp_host is None and settings.dev_mailbox:
        # development: e-mail goes to a local SMTP server that files it under .arrears/mail
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox

        mail_sink = Controller(
            Mailbox(settings.data_dir / "mail"), hostname="127.0.0.1", port=settings.dev_smtp_port
        )
        mail_sink.start()
        settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": settings.dev_smtp_port})
    try:
        await _serve_all(endpoints, settings, mail_sink is not None)
    finally:
        if mail_sink is not None:
            mail_sink.stop()


async def _serve_all(endpoints: Endpoints, settings: Settings, mailbox: bool) -> None:
    async with services(settings, endpoints) as svc:
        if settings.demo_data and await demo.is_empty(svc.db):
            result = await demo.load(svc.intake, datetime.now(UTC).date())
            console.print(f"[green]demo portfolio loaded:[/] {result.opened} cases opened")
            if settings.demo_portfolio_loans:
                made = await cli_simulate.demo_portfolio(svc.db, settings)
                console.print(f"[green]synthetic portfolio loaded:[/] {made.loans:,} loans")
        restarted = await svc.intake.start_missing_workflows()
        if restarted:
            console.print(f"started {restarted} case workflow(s) that intake had left unstarted")
        orphans = await svc.intake.runs.restart_orphans()
        if orphans:
            console.print(f"restarted {orphans} open case(s) whose workflow run had ended")
        token = issue_token(settings, role=Role.ADMIN, subject="dev-admin")
        lines = [
            f"Workbench    http://{settings.api_host}:{settings.api_port}/web"
            + (
                ""
                if settings.environment == "production"
                else "  (demo teams: collections-us, -nl, -se, -be)"
            ),
            f"API docs     http://{settings.api_host}:{settings.api_port}/docs",
            f"Health       http://{settings.api_host}:{settings.api_port}/healthz",
        ]
        if settings.embedded_temporal:
            lines.append(f"Temporal UI  http://127.0.0.1:{settings.temporal_ui_port}")
        lines += [
            f"Temporal     {endpoints.temporal_address}  (namespace {settings.temporal_namespace})",
            f"Data         {settings.data_dir.resolve()}" if settings.embedded_postgres else "",
            f"E-mail       {(settings.data_dir / 'mail').resolve()} (a local mailbox)" if mailbox else "",
            "",
            "Ctrl-C stops everything.",
        ]
        console.print(Panel("\n".join(lines), title="Arrears is running"))
        console.print("Dev token (admin, `arrears token --role ROLE` for others):")
        print(token, flush=True)
        await serve(svc)
    console.print("stopped.")


@app.command()
def worker(verbose: Annotated[bool, typer.Option(help="Log at INFO.")] = False) -> None:
    """Run a Temporal worker only (production: DATABASE_URL and TEMPORAL_ADDRESS set)."""
    _setup_logging(verbose)
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        asyncio.run(_serve_only(endpoints, worker=True, api=False))


@app.command()
def api(verbose: Annotated[bool, typer.Option(help="Log at INFO.")] = False) -> None:
    """Run the HTTP API only (production: DATABASE_URL and TEMPORAL_ADDRESS set)."""
    _setup_logging(verbose)
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        asyncio.run(_serve_only(endpoints, worker=False, api=True))


async def _serve_only(endpoints: Endpoints, *, worker: bool, api: bool) -> None:
    async with services(get_settings(), endpoints, run_migrations=False) as svc:
        await serve(svc, worker=worker, api=api)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest migration."""
    from arrears import migrate as migrations

    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        if endpoints.migration_database_url is None:
            err.print("[red]MIGRATION_DATABASE_URL is not set[/]: migrations run as the schema's owner")
            raise typer.Exit(2)
        migrations.upgrade(endpoints.migration_database_url)
    console.print("[green]schema is up to date[/]")


@app.command(name="import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="A .csv or .jsonl delinquency file."),
    ],
) -> None:
    """Take in a delinquency file; bad rows are listed with row, field and reason."""
    if file.suffix not in {".csv", ".jsonl", ".ndjson"}:
        err.print(f"[red]{file}: use a .csv or .jsonl file[/]")
        raise typer.Exit(2)
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        code = asyncio.run(_import(file, endpoints))
    raise typer.Exit(code)


async def _import(file: Path, endpoints: Endpoints) -> int:
    content = file.read_text(encoding="utf-8-sig")
    rows = list(read_file(file.name, content))
    settings = get_settings()  # a configured database is migrated by `arrears migrate`, as its owner
    async with services(settings, endpoints, run_migrations=settings.embedded_postgres) as svc:
        with Progress(
            TextColumn("[bold]importing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(file.name, total=len(rows))
            result = await svc.intake.ingest(
                rows, source="import", progress=lambda n: progress.advance(task, n)
            )
    console.print(
        f"{result.received} rows: {result.accepted} accepted, {result.opened} cases opened, "
        f"{result.unchanged} unchanged, {len(result.errors)} rejected"
    )
    if result.errors:
        table = Table("row", "field", "reason", title="rejected rows")
        for e in result.errors:
            table.add_row(str(e.row), e.field, e.reason)
        err.print(table)
        return 1
    return 0


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="The role the token carries.")],
    subject: Annotated[str, typer.Option(help="The user the token names.")] = "dev-user",
    team: Annotated[str | None, typer.Option(help="The agent's team.")] = None,
) -> None:
    """Issue a development JWT (HS256, signed with JWT_SIGNING_KEY)."""
    print(issue_token(get_settings(), role=role, subject=subject, team=team))


@app.command(name="demo")
def demo_(
    force: Annotated[bool, typer.Option(help="Load even if the database already has loans.")] = False,
) -> None:
    """Load the demo portfolio (only into an empty database unless --force)."""
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        asyncio.run(_demo(endpoints, force=force))


async def _demo(endpoints: Endpoints, *, force: bool) -> None:
    settings = get_settings()
    async with services(settings, endpoints, run_migrations=settings.embedded_postgres) as svc:
        if not force and not await demo.is_empty(svc.db):
            console.print("the database already has loans; nothing loaded (use --force)")
            return
        result = await demo.load(svc.intake, datetime.now(UTC).date())
    console.print(f"demo portfolio: {result.opened} cases opened, {result.unchanged} unchanged")


@app.command()
def document(
    document_id: Annotated[str, typer.Argument(help="The document's ID (from the audit trail or the API).")],
    out: Annotated[Path, typer.Option(help="Where to write the PDF.")],
) -> None:
    """Write a stored document's PDF, byte for byte, and check it against its SHA-256."""
    try:
        key = uuid.UUID(document_id)
    except ValueError as exc:
        err.print(f"[red]not a document ID: {document_id!r}[/]")
        raise typer.Exit(2) from exc
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        found = asyncio.run(_document(endpoints.database_url, key))
    if found is None:
        err.print(f"[red]no document {key}[/]")
        raise typer.Exit(1)
    pdf, digest = found
    out.write_bytes(pdf)
    console.print(f"{out}: {len(pdf)} bytes, sha256 {digest}")


async def _document(url: str, key: uuid.UUID) -> tuple[bytes, str] | None:
    import hashlib

    from models.documents import Document

    async with one_off_session(url) as session:
        doc = await session.get(Document, key)
    if doc is None:
        return None
    if hashlib.sha256(doc.pdf).hexdigest() != doc.sha256:
        raise RuntimeError(f"document {key} does not match its stored SHA-256")
    return doc.pdf, doc.sha256


@report_app.command("generate")
def report_generate(
    kind: Annotated[ReportKind, typer.Argument(help="Which report.")],
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the period.")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day; it must be over.")],
    pack: Annotated[PolicyPack | None, typer.Option(help="One policy pack (default: every pack).")] = None,
    out: Annotated[Path | None, typer.Option(help="A folder to write the CSV, JSON and PDF into.")] = None,
) -> None:
    """Generate a report as of the period's end, store it (and audit it), optionally write its files."""
    params = reports.ReportParams(kind, start.date(), end.date(), pack)
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        try:
            with console.status(f"computing the {kind.value} report"):
                files = asyncio.run(_report(endpoints.database_url, params, get_settings().servicer_name))
        except reports.ReportRequestInvalid as exc:
            err.print(f"[red]{exc}[/]: nothing stored")
            raise typer.Exit(2) from exc
    table = Table("format", "bytes", "sha256", title=f"{kind.value} report, {params.key()}")
    for name, (content, digest) in files.items():
        table.add_row(name, str(len(content)), digest)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{params.key().replace(':', '_')}.{name}").write_bytes(content)
    console.print(table)


async def _report(url: str, params: reports.ReportParams, servicer: str) -> dict[str, tuple[bytes, str]]:
    from arrears.db import Database

    db = Database(url)
    try:
        report = await reports.generate(
            db, params, actor=audit.Actor("cli", "admin"), trigger="on_demand", servicer=servicer
        )
        async with db.session() as session:
            stored = await reports.files_of(session, report.id)
    finally:
        await db.dispose()
    return {f.format.value: (f.content, f.sha256) for f in stored}


if __name__ == "__main__":
    app()
