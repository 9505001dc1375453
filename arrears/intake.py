"""Delinquency intake: validate rows, upsert borrower and loan, open cases, start workflows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from arrears import audit
from arrears.case_runs import CaseRuns, case_input
from arrears.db import Database
from arrears.delinquency_rows import DelinquencyRecord, RowError, validate_rows
from arrears.strategy import experiments
from models.audit_actions import AuditAction
from models.base import utcnow
from models.borrowers import Borrower
from models.cases import Case
from models.enums import CaseStatus
from models.loans import DelinquencySnapshot, Loan
from policies import get_pack
from workflows.case import workflow_id
from workflows.dto import CaseInput

CHUNK = 200
STARTS_IN_FLIGHT = 32
CHUNKS_IN_FLIGHT = 4  # chunks stored whose workflows are still starting


@dataclass(slots=True)
class IntakeResult:
    """What one intake call did."""

    received: int = 0
    accepted: int = 0
    opened: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    case_ids: list[uuid.UUID] = field(default_factory=list)


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
            "reminder_fee_agreed": record.reminder_fee_agreed,
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
                delinquent_since=record.as_of - timedelta(days=record.days_past_due),
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
        # a new case is drawn into an arm of its pack's running experiment; others keep theirs
        strategy = (
            await experiments.strategy_for(session, case, actor=actor)
            if opened
            else await experiments.kept_strategy(session, case)
        )
        return (
            case,
            case_input(
                case,
                record.loan_id,
                exposure=record.balance,
                reminder_fee_agreed=record.reminder_fee_agreed,
                installment=record.installment,
                due_day=record.due_day,
                product=record.product,
            ).model_copy(update={"strategy": strategy}),
            opened,
        )

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
        return len(await self._start_all(await self.runs.open_cases(started=False)))
