"""The `arrears` command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit, demo
from arrears.audit_proofs import (
    CONSISTENCY_KIND,
    SignedHead,
    keyring,
    load_public_key,
    public_pem,
    verify_consistency_document,
    verify_inclusion_document,
)
from arrears.audit_sequencer import (
    NotSequenced,
    Sequencer,
    consistency_proof,
    inclusion_proof,
    signing_key,
    stored_head,
    trusted_keys,
)
from arrears.auth import issue_token
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
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
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
        restarted = await svc.intake.start_missing_workflows()
        if restarted:
            console.print(f"started {restarted} case workflow(s) that intake had left unstarted")
        orphans = await svc.intake.runs.restart_orphans()
        if orphans:
            console.print(f"restarted {orphans} open case(s) whose workflow run had ended")
        token = issue_token(settings, role=Role.ADMIN, subject="dev-admin")
        lines = [
            f"Workbench    http://{settings.api_host}:{settings.api_port}/web"
            + ("  (sign in: pick a role; team 'default')" if settings.environment != "production" else ""),
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


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A file from `arrears audit checkpoint`: the log must still contain it."),
    ] = None,
) -> None:
    """Check the whole log: chain, leaves and every signed head; name the first broken sequence number."""
    against = None
    if checkpoint is not None:
        try:
            against = audit.read_anchor(checkpoint.read_text())
        except (OSError, ValueError) as exc:
            err.print(f"[red]{checkpoint}: {exc}[/]")
            raise typer.Exit(2) from exc
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:
        result = asyncio.run(_verify(endpoints.database_url, against, trusted_keys(settings)))
    if as_json:
        print(json.dumps(_as_dict(result)))
    elif result.ok:
        console.print(
            f"[green]audit trail intact[/]: {result.events} events, head #{result.head_seq}, "
            f"{result.heads_checked} signed head(s) checked, {result.pending} waiting for the sequencer"
        )
    else:
        console.print(f"[red]audit trail broken at #{result.first_broken_seq}[/]: {result.problem}")
    raise typer.Exit(0 if result.ok else 1)


def _as_dict(result: audit.Verification) -> dict[str, object]:
    return {name: getattr(result, name) for name in result.__slots__}


@contextlib.asynccontextmanager
async def _session(url: str) -> AsyncIterator[AsyncSession]:
    """One unit of work for a one-off command, as the application's login."""
    from arrears.db import Database

    db = Database(url, pool_size=1)
    try:
        async with db.session() as session:
            yield session
    finally:
        await db.dispose()


async def _verify(
    url: str, against: audit.Checkpoint | SignedHead | None, keys: dict[str, Ed25519PublicKey]
) -> audit.Verification:
    async with _session(url) as session:
        return await audit.verify(session, against, keys)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option(help="Where to write the latest signed tree head (JSON).")],
) -> None:
    """Sequence what is queued, verify the log, and export its latest signed tree head."""
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:
        try:
            head = asyncio.run(_checkpoint(endpoints.database_url, settings))
        except ValueError as exc:
            err.print(f"[red]{exc}[/]: no checkpoint written")
            raise typer.Exit(1) from exc
    out.write_text(head.to_json())
    console.print(
        f"signed tree head of {head.tree_size} events, root {head.root_hash.hex()[:16]}… written to {out}"
    )


async def _checkpoint(url: str, settings: Settings) -> SignedHead:
    from arrears.db import Database

    db = Database(url, pool_size=2)
    try:
        await Sequencer.from_settings(db, settings).sign_now()
        async with db.session() as session:
            return await audit.checkpoint(session)
    finally:
        await db.dispose()


@audit_app.command("public-key")
def audit_public_key(
    out: Annotated[Path, typer.Option(help="Where to write the public key (PEM) that verifies the heads.")],
) -> None:
    """Export the public key of the tree heads' signing key, for whoever checks proofs."""
    out.write_text(public_pem(signing_key(get_settings()).public_key()))
    console.print(f"public key written to {out}")


@audit_app.command("prove")
def audit_prove(
    event_id: Annotated[str, typer.Argument(help="The audit event's ID.")],
    out: Annotated[Path | None, typer.Option(help="Write the proof here instead of printing it.")] = None,
) -> None:
    """An inclusion proof of one event against the latest signed tree head (RFC 9162 audit path)."""
    try:
        key = uuid.UUID(event_id)
    except ValueError as exc:
        err.print(f"[red]not an event ID: {event_id!r}[/]")
        raise typer.Exit(2) from exc
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:
        try:
            proof = asyncio.run(_prove(endpoints.database_url, settings, key))
        except NotSequenced as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    _emit(proof, out)


async def _prove(url: str, settings: Settings, event_id: uuid.UUID) -> dict[str, Any]:
    from arrears.db import Database

    db = Database(url, pool_size=2)
    try:
        await Sequencer.from_settings(db, settings).sign_now()
        async with db.session() as session:
            return await inclusion_proof(session, event_id)
    finally:
        await db.dispose()


def _emit(document: dict[str, Any], out: Path | None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        print(text, end="")
    else:
        out.write_text(text)
        console.print(f"proof written to {out}")


def _keys(public_key: list[Path] | None) -> dict[str, Ed25519PublicKey]:
    if public_key:
        try:
            return keyring(load_public_key(p.read_text()) for p in public_key)
        except (OSError, ValueError) as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from exc
    return trusted_keys(get_settings())


@audit_app.command("verify-proof")
def audit_verify_proof(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="An inclusion or consistency proof.")
    ],
    public_key: Annotated[
        list[Path] | None, typer.Option(help="A trusted public key (PEM or base64); repeat for rotated keys.")
    ] = None,
) -> None:
    """Check a proof offline, with nothing but the public key(s): no database is opened."""
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        err.print(f"[red]{file}: {exc}[/]")
        raise typer.Exit(2) from exc
    keys = _keys(public_key)
    if not isinstance(document, dict):
        problem: str | None = "not a proof"
    elif document.get("kind") == CONSISTENCY_KIND:
        problem = verify_consistency_document(document, keys)
    else:
        problem = verify_inclusion_document(document, keys)
    if problem:
        console.print(f"[red]proof refused[/]: {problem}")
        raise typer.Exit(1)
    console.print("[green]proof holds[/]")


@audit_app.command("consistency")
def audit_consistency(
    old: Annotated[
        str, typer.Argument(help="The older head: a tree size, or a head file from `checkpoint`.")
    ],
    new: Annotated[str, typer.Argument(help="The newer head: a tree size, or a head file.")],
    out: Annotated[Path | None, typer.Option(help="Write the proof here.")] = None,
) -> None:
    """Prove that the newer signed head extends the older one, and verify the proof."""
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:
        try:
            document = asyncio.run(_consistency(endpoints.database_url, old, new))
        except (LookupError, ValueError, OSError) as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    problem = verify_consistency_document(document, trusted_keys(settings))
    _emit(document, out)
    if problem:
        console.print(f"[red]not consistent[/]: {problem}")
        raise typer.Exit(1)
    console.print(
        f"[green]the tree of {document['new']['tree_size']} events extends the one of "
        f"{document['old']['tree_size']}[/]"
    )


async def _consistency(url: str, old: str, new: str) -> dict[str, Any]:
    async with _session(url) as session:

        async def head(arg: str) -> SignedHead:
            if arg.isdigit():
                return await stored_head(session, int(arg))
            return SignedHead.from_dict(json.loads(Path(arg).read_text()))

        return await consistency_proof(session, await head(old), await head(new))


@audit_app.command("partitions")
def audit_partitions(
    months: Annotated[int, typer.Option(min=1, max=240, help="Months ahead of this one to create.")] = 36,
) -> None:
    """Create the audit trail's monthly partitions ahead, as the schema's owner (MIGRATION_DATABASE_URL)."""
    with embedded_stack(get_settings(), start_temporal=False) as endpoints:
        if endpoints.migration_database_url is None:
            err.print(
                "[red]MIGRATION_DATABASE_URL is not set[/]: partitions are created by the schema's owner"
            )
            raise typer.Exit(2)
        created = asyncio.run(_partitions(endpoints.migration_database_url, months))
    console.print(f"{len(created)} partition(s) created" + (f": {', '.join(created)}" if created else ""))


async def _partitions(url: str, months: int) -> list[str]:
    from sqlalchemy import text

    today = datetime.now(UTC).date()
    created = []
    async with _session(url) as session:
        for ahead in range(months + 1):
            m = today.year * 12 + today.month - 1 + ahead
            name = (
                await session.execute(
                    text("SELECT audit_events_add_partition(:m)"),
                    {"m": date(m // 12, m % 12 + 1, 1)},
                )
            ).scalar()
            if name:
                created.append(str(name))
    return created


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

    async with _session(url) as session:
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
