"""Strategies: variants of a pack, stored only once they keep every legal minimum; one champion
per pack works the cases outside any experiment."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit
from models.audit_actions import AuditAction
from models.enums import PolicyPack
from models.strategy import Strategy, StrategyStatus
from policies import get_pack
from policies.strategy import STRATEGY_RULE, Variant, VariantRefused, violations


class StrategyError(ValueError):
    """A strategy that cannot be stored, found or used; the message says why."""


def parse(body: Any) -> Variant:
    """A variant from its JSON body; a clear error for a malformed one."""
    try:
        return Variant.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise StrategyError(f"not a strategy: {problems}") from None


def read(path: Path) -> Variant:
    """A variant from a JSON file."""
    try:
        body = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StrategyError(f"cannot read {path.name}: {exc}") from None
    return parse(body)


def builtin(name: str) -> Variant:
    """One of the variants that ship with the project (arrears/strategy/variants/<name>.json)."""
    file = resources.files("arrears.strategy").joinpath(f"variants/{name}.json")
    if not file.is_file():
        raise StrategyError(f"no built-in strategy {name!r}")
    return parse(json.loads(file.read_text()))


def check(variant: Variant) -> Variant:
    """The variant, if it keeps every legal minimum of its pack; else VariantRefused."""
    found = violations(get_pack(variant.pack), variant)
    if found:
        raise VariantRefused(variant, found)
    return variant


def digest(variant: Variant) -> str:
    return hashlib.sha256(json.dumps(variant.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


async def store(session: AsyncSession, variant: Variant, *, actor: audit.Actor) -> Strategy:
    """Validate and store a variant as a new version; the same body again returns the stored one."""
    check(variant)
    sha = digest(variant)
    existing = (
        await session.exec(
            select(Strategy).where(
                Strategy.policy_pack == variant.pack,
                Strategy.name == variant.name,
                Strategy.version == variant.version,
            )
        )
    ).first()
    if existing is not None:
        if existing.sha256 != sha:
            raise StrategyError(
                f"{variant.label} for {variant.pack.value} exists with other rules: give it a new version"
            )
        return existing
    row = Strategy(
        policy_pack=variant.pack,
        name=variant.name,
        version=variant.version,
        sha256=sha,
        body=variant.model_dump(mode="json"),
        created_by=actor.name,
    )
    session.add(row)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.STRATEGY_STORED,
        reason=f"strategy {variant.label} for {variant.pack.value} stored: it keeps the pack's minimums",
        rule_id=STRATEGY_RULE.id,
        citation=STRATEGY_RULE.citation,
        payload={"strategy": variant.label, "pack": variant.pack.value, "sha256": sha},
        idempotency_key=f"strategy:{row.id}:stored",
    )
    return row


async def find(session: AsyncSession, pack: PolicyPack, label: str) -> Strategy:
    """A stored strategy by `name` (its newest version) or `name@vN`."""
    name, _, version = label.partition("@v")
    query = select(Strategy).where(Strategy.policy_pack == pack, Strategy.name == name)
    if version:
        if not version.isdigit():
            raise StrategyError(f"{label!r}: a version is written name@v2")
        query = query.where(Strategy.version == int(version))
    row = (await session.exec(query.order_by(col(Strategy.version).desc()))).first()
    if row is None:
        raise StrategyError(f"no strategy {label!r} for {pack.value}")
    return row


def variant_of(row: Strategy) -> Variant:
    return parse(row.body)


async def champion(session: AsyncSession, pack: PolicyPack) -> Strategy | None:
    """The pack's champion strategy, if one was promoted."""
    return (
        await session.exec(
            select(Strategy).where(Strategy.policy_pack == pack, Strategy.status == StrategyStatus.CHAMPION)
        )
    ).first()


async def make_champion(session: AsyncSession, row: Strategy, *, actor: audit.Actor, reason: str) -> None:
    """`row` becomes its pack's champion; the former champion is retired. Audited."""
    former = await champion(session, row.policy_pack)
    if former is not None and former.id != row.id:
        former.status = StrategyStatus.RETIRED
        session.add(former)
    row.status = StrategyStatus.CHAMPION
    session.add(row)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.STRATEGY_PROMOTED,
        reason=reason[: audit.REASON_MAX],
        rule_id=STRATEGY_RULE.id,
        citation=STRATEGY_RULE.citation,
        payload={
            "strategy": f"{row.name}@v{row.version}",
            "pack": row.policy_pack.value,
            "sha256": row.sha256,
            "former": f"{former.name}@v{former.version}" if former is not None else None,
        },
    )
