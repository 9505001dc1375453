"""`arrears audit`: checkpoints, proofs and verification of the audit log, and its partitions."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console

from arrears import audit
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
from arrears.db import Database, one_off_session
from arrears.runtime import embedded_stack
from arrears.settings import Settings, get_settings

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("verify")
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


async def _verify(
    url: str, against: audit.Checkpoint | SignedHead | None, keys: dict[str, Ed25519PublicKey]
) -> audit.Verification:
    async with one_off_session(url) as session:
        return await audit.verify(session, against, keys)


@app.command("checkpoint")
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
    db = Database(url, pool_size=2)
    try:
        await Sequencer.from_settings(db, settings).sign_now()
        async with db.session() as session:
            return await audit.checkpoint(session)
    finally:
        await db.dispose()


@app.command("public-key")
def audit_public_key(
    out: Annotated[Path, typer.Option(help="Where to write the public key (PEM) that verifies the heads.")],
) -> None:
    """Export the public key of the tree heads' signing key, for whoever checks proofs."""
    out.write_text(public_pem(signing_key(get_settings()).public_key()))
    console.print(f"public key written to {out}")


@app.command("prove")
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


@app.command("verify-proof")
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


@app.command("consistency")
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
    async with one_off_session(url) as session:

        async def head(arg: str) -> SignedHead:
            if arg.isdigit():
                return await stored_head(session, int(arg))
            return SignedHead.from_dict(json.loads(Path(arg).read_text()))

        return await consistency_proof(session, await head(old), await head(new))


@app.command("partitions")
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
    async with one_off_session(url) as session:
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
