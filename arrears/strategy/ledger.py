"""The simulation's side of the case workflow: activities under the production names that
record what each case did (a ledger per case) instead of writing rows and sending messages. The
send applies the real contact rules at the server's clock, which the time-skipping server moves."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity

from models.enums import CaseOutcome, CaseStage, Channel, PolicyPack
from policies import contact, get_pack
from workflows.case.tasks import DECISIONS
from workflows.dto import (
    ActionInput,
    ActionRecord,
    CallInput,
    CaseClosure,
    PaymentRecord,
    SendRequest,
    SendResult,
    StageUpdate,
    TaskInput,
    TaskOutcome,
)

# What staff decide when the simulation works a task: the ordinary, non-committal answer.
STAFF_DECISIONS = {
    "live_contact": "attempted",
    "scra_check": "not_active",
    "completeness_review": "incomplete",
    "forbearance_review": "reinstatement",
    "proof_of_claim": "filed",
    "assign_personnel": "assigned",
    "scra_rate_cap": "not_applicable",
    "forbearance_assessment": "not_appropriate",
    "fee_notice": "filed",
    "offer_acceptance": "declined",
    "close_approval": "reject",
}
assert all(d in DECISIONS[k] for k, d in STAFF_DECISIONS.items())
DEFAULT_COSTS = {
    "letter": Decimal("1.10"),
    "sms": Decimal("0.06"),
    "email": Decimal("0.01"),
    "task": Decimal("4.00"),
}


# ------------------------------------------------------------------------------- the ledger
@dataclass(slots=True)
class CaseLedger:
    """What one simulated case did, as its activities recorded it."""

    opened: date
    delinquent_since: date
    arrears: Decimal
    currency: str
    stages: list[tuple[CaseStage, datetime]] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    sent: list[tuple[Channel | None, str, datetime, bool]] = field(
        default_factory=list
    )  # channel, doc, at, collection
    collected: Decimal = Decimal("0")
    outcome: CaseOutcome | None = None
    closed_at: datetime | None = None
    tasks: int = 0
    holds: list[tuple[str, datetime]] = field(default_factory=list)
    promises: int = 0
    promises_kept: int = 0
    open_at_horizon: bool = False
    lost: bool = False  # ended early: the test server refused its workflow task


class SimulatedActivities:
    """The case workflow's activities, recording into ledgers instead of the database and mail."""

    def __init__(self, pack: PolicyPack, timezone: str) -> None:
        self.pack = get_pack(pack)
        self.timezone = timezone
        self.cases: dict[uuid.UUID, CaseLedger] = {}
        self.open_tasks: list[tuple[uuid.UUID, str, str]] = []
        self.stalled_seconds = 0.0  # waiting on the test server's stalls, and getting it going

    @staticmethod
    def _now() -> datetime:
        return activity.info().current_attempt_scheduled_time  # the server's (skipped) clock

    @activity.defn(name="record_stage")
    async def record_stage(self, update: StageUpdate) -> None:
        self.cases[update.case_id].stages.append((update.stage, update.at))

    @activity.defn(name="record_payment")
    async def record_payment(self, record: PaymentRecord) -> None:
        ledger = self.cases[record.case_id]
        ledger.collected += record.payment.amount
        ledger.arrears = record.arrears_after

    @activity.defn(name="close_case")
    async def close_case(self, closure: CaseClosure) -> None:
        ledger = self.cases[closure.case_id]
        ledger.outcome, ledger.closed_at = closure.outcome, closure.at

    @activity.defn(name="record_action")
    async def record_action(self, data: ActionInput) -> None:
        self.cases[data.case_id].actions.append(data.record)

    @activity.defn(name="record_call")
    async def record_call(self, data: CallInput) -> None:
        self.cases[data.case_id].actions.append(data.record)

    @activity.defn(name="create_task")
    async def create_task(self, data: TaskInput) -> None:
        self.cases[data.case_id].tasks += 1
        self.open_tasks.append((data.case_id, data.task.key, data.task.kind))

    @activity.defn(name="finish_task")
    async def finish_task(self, outcome: TaskOutcome) -> None:
        return None

    @activity.defn(name="send_document")
    async def send_document(self, request: SendRequest) -> SendResult:
        """The real send's rules without the send: holds suppress, the contact rules say "not
        now" with a retry time, anything else goes out."""
        ledger = self.cases[request.case_id]
        at = self._now()
        if request.collection and request.holds:
            result = SendResult(
                status="suppressed", channel=request.channel, reason=f"{request.holds[0]} hold"
            )
        else:
            result = SendResult(status="stored", channel=None)
            if request.channel is not None:
                sent = [t for c, _, t, _ in ledger.sent if c is request.channel]
                decision = contact.check(
                    self.pack, channel=request.channel, at=at, timezone=self.timezone, sent=sent
                )
                if not decision.allowed and decision.retry_at is not None:
                    return SendResult(
                        status="refused",
                        channel=request.channel,
                        reason=decision.reason,
                        rule_id=decision.rule.id if decision.rule else None,
                        citation=decision.rule.citation if decision.rule else None,
                        retry_at=decision.retry_at,
                    )
                status = "batched" if request.channel is Channel.LETTER else "sent"
                result = SendResult(status=status, channel=request.channel)
                ledger.sent.append((request.channel, request.document, at, request.collection))
        if request.record is not None:
            status, detail = result.step_outcome(request.document, request.record.detail)
            record = request.record.model_copy(update={"status": status, "detail": detail, "at": at})
            ledger.actions.append(record)
            result = result.model_copy(update={"record": record})
        return result

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_stage,
            self.record_payment,
            self.close_case,
            self.record_action,
            self.record_call,
            self.create_task,
            self.finish_task,
            self.send_document,
        ]
