"""Delinquency intake: validate rows, upsert borrower and loan, open cases, start workflows."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from arrears import audit
from arrears.case_runs import CaseRuns, case_input
from arrears.db import Database
from models.audit_actions import AuditAction
from models.base import utcnow
from models.borrowers import Borrower
from models.cases import Case
from models.enums import CaseStatus, PolicyPack
from models.loans import DelinquencySnapshot, Loan
from models.values import BoundedDate, Money
from policies import get_pack
from workflows.case import workflow_id
from workflows.dto import CaseInput

CHUNK = 200
STARTS_IN_FLIGHT = 32
CHUNKS_IN_FLIGHT = 4  # chunks stored whose workflows are still starting


_CONTROL = frozenset(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


class DelinquencyRecord(BaseModel):
    """One row of a delinquency file, as the loan system reports it."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    loan_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    borrower_id: str = Field(min_length=1, max_length=64)
    borrower_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()-]{5,31}$")
    address: str | None = Field(default=None, max_length=500)
    timezone: str | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    policy_pack: PolicyPack
    product: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    principal: Money
    balance: Money
    arrears: Money
    installment: Money
    due_day: int = Field(ge=1, le=28)
    next_due_date: BoundedDate
    days_past_due: int = Field(ge=0, le=36500)
    as_of: BoundedDate
    team: str = Field(default="default", min_length=1, max_length=64)

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        if isinstance(value, str) and any(c in value for c in _CONTROL):
            raise ValueError("control characters are not allowed")
        return value

    @field_validator("email", "phone", "address", "timezone", "language", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DelinquencyRecord:
        pack = get_pack(self.policy_pack)
        if self.currency != pack.currency:
            raise ValueError(
                f"currency: {self.policy_pack.value} loans are in {pack.currency}, not {self.currency}"
            )
        if self.arrears > self.balance:
            raise ValueError("arrears: larger than the balance")
        if self.days_past_due > 0 and self.arrears == 0:
            raise ValueError("arrears: zero while days_past_due is positive")
        if self.language is not None and self.language not in pack.languages:
            raise ValueError(
                f"language: {self.policy_pack.value} letters exist in "
                f"{', '.join(pack.languages)}, not {self.language}"
            )
        return self


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one input row was refused."""

    row: int
    field: str
    reason: str


@dataclass(slots=True)
class IntakeResult:
    """What one intake call did."""

    received: int = 0
    accepted: int = 0
    opened: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    case_ids: list[uuid.UUID] = field(default_factory=list)


def validate_rows(
    rows: Iterable[tuple[int, Any]],
) -> Iterator[tuple[int, DelinquencyRecord] | RowError]:
    """Validate raw rows, yielding records or one error per bad row (its first problem)."""
    for number, raw in rows:
        if isinstance(raw, RowError):
            yield raw
            continue
        if not isinstance(raw, dict):
            yield RowError(number, "(row)", "expected an object with the delinquency fields")
            continue
        try:
            yield number, DelinquencyRecord.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or _field_from_message(first["msg"])
            yield RowError(number, where, _clean(first["msg"]))


def _field_from_message(message: str) -> str:
    head = message.removeprefix("Value error, ").split(":", 1)
    return head[0] if len(head) == 2 and " " not in head[0] else "(row)"


def _clean(message: str) -> str:
    message = message.removeprefix("Value error, ")
    head = message.split(":", 1)
    return head[1].strip() if len(head) == 2 and " " not in head[0] else message


def read_file(name: str, content: str) -> Iterator[tuple[int, Any]]:
    """Rows of a CSV (header line first) or JSON Lines file, numbered as a person counts them."""
    if name.endswith((".jsonl", ".ndjson", ".json")):
        # Lines end at "\n" (a CRLF file's "\r" goes too), not wherever str.splitlines() cuts:
        # U+2028, U+2029 and NEL may sit inside a JSON string, and a stray VT, FF or file
        # separator must not split one row into several and shift every row number after it.
        for number, line in enumerate(content.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(number, "(row)", f"not valid JSON: {exc.msg}")
    elif name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(content))
        for number, row in enumerate(reader, start=2):  # line 1 is the header
            if None in row:
                yield number, RowError(number, "(row)", "more values than header columns")
            else:
                yield number, {k: v for k, v in row.items() if v is not None}
    else:
        raise ValueError(f"{name}: unsupported file type; use .csv or .jsonl")


class IntakeService:
    """Opens cases for delinquent loans, at most one open case per loan."""

    def __init__(self, db: Database, client: Client, *, task_queue: str) -> None:
        self.db = db
        self.client = client
        self.task_queue = task_queue
        self._starts = asyncio.Semaphore(STARTS_IN_FLIGHT)
        self.runs = CaseRuns(db, client, task_queue=task_queue)

    async def ingest(
        self,
        rows: Iterable[tuple[int, Any]],
        *,
        source: str,
        actor: audit.Actor = audit.SYSTEM,
        progress: Callable[[int], None] | None = None,
    ) -> IntakeResult:
        """Validate and store rows in chunks; each good row commits whole or not at all."""
        result = IntakeResult()
        chunk: list[tuple[int, DelinquencyRecord]] = []
        # Pipelined: while one chunk's workflows start, the next chunk is stored. A few chunks
        # may be in flight; their case IDs are gathered in row order at the end.
        starting: list[asyncio.Task[list[uuid.UUID]]] = []

        async def store(rows: list[tuple[int, DelinquencyRecord]]) -> None:
            pending = await self._ingest_chunk(rows, result, source=source, actor=actor)
            starting.append(asyncio.create_task(self._start_all(pending)))
            if progress:
                progress(len(rows))
            unfinished = [t for t in starting if not t.done()]
            if len(unfinished) > CHUNKS_IN_FLIGHT:
                await asyncio.wait(unfinished, return_when=asyncio.FIRST_COMPLETED)

        try:
            for item in validate_rows(rows):
                result.received += 1
                if isinstance(item, RowError):
                    result.errors.append(item)
                    if progress:
                        progress(1)
                    continue
                chunk.append(item)
                if len(chunk) >= CHUNK:
                    await store(chunk)
                    chunk = []
            if chunk:
                await store(chunk)
        finally:
            # every start is awaited, even when storing failed: a case stored is a case started
            # (or, if this process dies first, started by the next intake or `arrears run`)
            done = await asyncio.gather(*starting, return_exceptions=True)
        for ids in done:
            if isinstance(ids, BaseException):
                raise ids
            result.case_ids.extend(ids)
        result.errors.sort(key=lambda e: e.row)
        return result

    async def _ingest_chunk(
        self,
        chunk: list[tuple[int, DelinquencyRecord]],
        result: IntakeResult,
        *,
        source: str,
        actor: audit.Actor,
    ) -> list[tuple[Case, CaseInput]]:
        """Store a chunk in one transaction (a savepoint per row); return the workflows to start."""
        to_start: list[tuple[Case, CaseInput]] = []
        async with self.db.session() as session:
            await audit.hold_lock(session)  # each opening appends; the lock would be held anyway
            for number, record in chunk:
                try:
                    async with session.begin_nested():
                        outcome = await self._store(session, record, source=source, actor=actor)
                except Exception as exc:  # a row the database refuses must not sink the chunk
                    result.errors.append(RowError(number, "(row)", f"not stored: {exc}"))
                    continue
                result.accepted += 1
                if outcome is None:
                    result.unchanged += 1
                    continue
                case, start_input, opened = outcome
                result.opened += int(opened)
                if case.run_id is None:
                    to_start.append((case, start_input))
        return to_start

    async def _store(
        self, session: AsyncSession, record: DelinquencyRecord, *, source: str, actor: audit.Actor
    ) -> tuple[Case, CaseInput, bool] | None:
        """Upsert borrower and loan, record the snapshot, open a case if none is open.

        Returns None when this exact snapshot (loan, as_of) was already taken in.
        """
        pack = get_pack(record.policy_pack)
        now = utcnow()
        borrower_id = (
            await session.exec(
                insert(Borrower)
                .values(
                    id=uuid.uuid4(),
                    external_id=record.borrower_id,
                    name=record.borrower_name,
                    email=record.email,
                    phone=record.phone,
                    address=record.address,
                    timezone=record.timezone or pack.default_timezone,
                    language=record.language or pack.languages[0],
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_update(
                    index_elements=["external_id"],
                    set_={
                        "name": record.borrower_name,
                        "email": record.email,
                        "phone": record.phone,
                        "address": record.address,
                        "timezone": record.timezone or pack.default_timezone,
                        "language": record.language or pack.languages[0],
                        "updated_at": now,
                    },
                )
                .returning(col(Borrower.id))
            )
        ).scalar_one()
        loan_values = {
            "borrower_id": borrower_id,
            "policy_pack": record.policy_pack,
            "product": record.product,
            "currency": record.currency,
            "principal": record.principal,
            "balance": record.balance,
            "arrears": record.arrears,
            "installment": record.installment,
            "due_day": record.due_day,
            "next_due_date": record.next_due_date,
            "days_past_due": record.days_past_due,
            "team": record.team,
            "updated_at": now,
        }
        loan_id = (
            await session.exec(
                insert(Loan)
                .values(id=uuid.uuid4(), external_id=record.loan_id, created_at=now, **loan_values)
                .on_conflict_do_update(index_elements=["external_id"], set_=loan_values)
                .returning(col(Loan.id))
            )
        ).scalar_one()
        snapshot = (
            await session.exec(
                insert(DelinquencySnapshot)
                .values(
                    id=uuid.uuid4(),
                    loan_id=loan_id,
                    as_of=record.as_of,
                    days_past_due=record.days_past_due,
                    arrears=record.arrears,
                    balance=record.balance,
                    currency=record.currency,
                    source=source,
                    received_at=now,
                )
                .on_conflict_do_nothing(index_elements=["loan_id", "as_of"])
                .returning(col(DelinquencySnapshot.id))
            )
        ).scalar_one_or_none()

        case = (
            await session.exec(select(Case).where(Case.loan_id == loan_id, Case.status == CaseStatus.OPEN))
        ).first()
        opened = False
        if snapshot is None and (case is None or case.run_id is not None):
            return None  # the same report again: nothing to do
        if case is None:
            if record.arrears == 0:
                return None  # a current loan: nothing to open
            case = Case(
                loan_id=loan_id,
                workflow_id=workflow_id(record.loan_id),
                policy_pack=record.policy_pack,
                stage=pack.initial_stage(record.days_past_due),
                days_past_due_at_open=record.days_past_due,
                opened_as_of=record.as_of,
                arrears=record.arrears,
                currency=record.currency,
                team=record.team,
            )
            session.add(case)
            await session.flush()
            await audit.append(
                session,
                actor=actor,
                action=AuditAction.CASE_OPENED,
                reason=f"delinquency reported by {source}",
                case_id=case.id,
                loan_id=loan_id,
                rule_id=pack.case_opening.id,
                citation=pack.case_opening.citation,
                payload={
                    "days_past_due": record.days_past_due,
                    "arrears": str(record.arrears),
                    "currency": record.currency,
                    "as_of": record.as_of.isoformat(),
                    "policy_pack": record.policy_pack.value,
                },
                idempotency_key=f"{case.id}:opened",
            )
            opened = True
        return case, case_input(case, record.loan_id, exposure=record.balance), opened

    async def _start_all(self, pending: list[tuple[Case, CaseInput]]) -> list[uuid.UUID]:
        """Start the workflows, then record their run IDs; the case IDs started, in order."""
        run_ids = await asyncio.gather(*(self._start(start_input) for _, start_input in pending))
        if not pending:
            return []
        async with self.db.session() as session:
            # one statement for the chunk; a run ID already recorded (a concurrent intake) stays
            cases = Case.metadata.tables["cases"]
            await session.execute(
                update(cases)
                .where(cases.c.id == bindparam("case"), cases.c.run_id.is_(None))
                .values(run_id=bindparam("run")),
                [
                    {"case": case.id, "run": run_id}
                    for (case, _), run_id in zip(pending, run_ids, strict=True)
                    if run_id is not None  # still waiting for the loan's previous run to end
                ],
            )
        return [case.id for case, _ in pending]

    async def _start(self, case: CaseInput) -> str | None:
        """Start the case's own run (never another case's); None: left for a later start."""
        async with self._starts:
            return await self.runs.start(case)

    async def start_missing_workflows(self) -> int:
        """Start the workflow of every open case that has none yet (after a crash mid-intake)."""
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Case, col(Loan.external_id), col(Loan.balance))
                    .join(Loan, col(Loan.id) == col(Case.loan_id))
                    .where(Case.status == CaseStatus.OPEN, col(Case.run_id).is_(None))
                )
            ).all()
        pending = [(case, case_input(case, ext, exposure=balance)) for case, ext, balance in rows]
        return len(await self._start_all(pending))
