"""The work queue: human tasks the workflows opened, most urgent first; claim, release, decide."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, case, func, or_, true, update
from sqlmodel import col, select

from api.access import CaseWorker, Supervisor, visible_cases
from api.cases import workflow
from api.cases.schemas import Accepted, CommandBody, command_body
from api.cases.service import next_call_barred
from api.cases.workflow import Update
from api.deps import DatabaseDep, TemporalDep
from api.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized, error_responses
from api.models import Page
from api.service import ONE_LINE, Limit, Offset, ShortText, Text, actor
from arrears import audit
from arrears.auth import SUBJECT_MAX, Principal
from models.audit_actions import AuditAction
from models.base import utcnow
from models.cases import Case
from models.delinquency import case_days_past_due
from models.enums import CaseStage, PolicyPack, Role, TaskStatus
from models.strategy import CaseScore
from models.tasks import Task
from models.values import BoundedDate
from workflows.dto import PlanTerms, TaskDecision

router = APIRouter(prefix="/v1/tasks", tags=["work queue"])

LIVE = (TaskStatus.OPEN, TaskStatus.ESCALATED)
AMBER_WITHIN = timedelta(hours=48)
ONE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict)


class Priority(BaseModel):
    band: Literal["red", "amber", "green"] = Field(
        description="red: past its SLA deadline; amber: due within 48 hours; green: later"
    )
    risk: int = Field(description="days-past-due tier of the case, 0 (under 30) to 4 (120 and more)")
    rank: int = Field(description="position in this listing, 1 is the most urgent")


class QueueScore(BaseModel):
    """Where the case's score places it within its band, and why."""

    shade: int = Field(description="the case's shade of red: 1 (work first) to 50")
    p_cure: float = Field(description="the scorecard's probability of a cure within 60 days")
    p_roll: float = Field(description="the scorecard's probability of rolling to the next bucket")
    reason: str = Field(description="why: roll and cure odds, days past due, the next legal step")


class TaskOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    key: str = Field(description="the task's key in its workflow")
    kind: str
    status: TaskStatus
    rule_id: str
    citation: str
    due_at: datetime
    assignee: str | None
    escalated_at: datetime | None = Field(description="when the SLA passed and a supervisor took over")
    overdue: bool
    priority: Priority
    stage: CaseStage
    policy_pack: PolicyPack
    days_past_due: int
    arrears: Decimal
    currency: str
    team: str
    next_call_at: datetime | None = Field(
        default=None, description="the first moment staff may call about the case's debt; null: now"
    )
    next_call_rule: str | None = Field(default=None, description="the rule that bars a call until then")
    next_call_reason: str | None = Field(default=None, description="why, and when the next call is allowed")
    score: QueueScore | None = Field(
        default=None, description="the score's place for the case within its band; null: not scored yet"
    )


def _band() -> ColumnElement[int]:
    now = func.now()
    return case(
        (col(Task.due_at) < now, 0),
        (col(Task.due_at) < now + AMBER_WITHIN, 1),
        else_=2,
    )


def _risk(dpd: ColumnElement[int]) -> ColumnElement[int]:
    return func.least(dpd / 30, 4)


def _band_of(task: Task, now: datetime) -> Literal["red", "amber", "green"]:
    if task.due_at < now:
        return "red"
    return "amber" if task.due_at < now + AMBER_WITHIN else "green"


def _key(task: Task) -> str:
    return task.idempotency_key.split(":", 1)[1]


@router.get(
    "", summary="The work queue, most urgent first", responses=error_responses(Unauthorized, Forbidden)
)
async def list_tasks(
    principal: CaseWorker,
    db: DatabaseDep,
    mine: Annotated[bool, Query(description="only tasks claimed by the caller")] = False,
    team: Annotated[ShortText | None, Query(description="only tasks of this team's cases")] = None,
    overdue: Annotated[bool, Query(description="only tasks past their SLA deadline")] = False,
    kind: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TaskOut]:
    """Open and escalated tasks on cases the caller may see. Ordered by SLA band (red, amber,
    green), then the case's shade of red from its score (unscored cases after), then its
    days-past-due tier, then arrears, then the deadline itself."""
    dpd = case_days_past_due()
    band, risk = _band(), _risk(dpd)
    where: list[ColumnElement[bool]] = [col(Task.status).in_(LIVE), visible_cases(principal)]
    if mine:
        where.append(col(Task.assignee) == principal.subject)
    if team is not None:
        where.append(col(Case.team) == team)
    if overdue:
        where.append(col(Task.due_at) < func.now())
    if kind is not None:
        where.append(col(Task.kind) == kind)
    async with db.session() as session:
        total = (
            await session.exec(
                select(func.count())
                .select_from(Task)
                .join(Case, col(Case.id) == col(Task.case_id))
                .where(*where)
            )
        ).one()
        rows = (
            await session.exec(
                select(Task, Case, dpd, CaseScore)
                .join(Case, col(Case.id) == col(Task.case_id))
                .outerjoin(CaseScore, col(CaseScore.case_id) == col(Task.case_id))
                .where(*where)
                .order_by(
                    band,
                    col(CaseScore.shade).asc().nulls_last(),
                    risk.desc(),
                    col(Case.arrears).desc(),
                    col(Task.due_at),
                    col(Task.id),
                )
                .limit(limit)
                .offset(offset)
            )
        ).all()
    now = utcnow()
    items = [
        TaskOut(
            id=task.id,
            case_id=task.case_id,
            key=_key(task),
            kind=task.kind,
            status=task.status,
            rule_id=task.rule_id,
            citation=task.citation,
            due_at=task.due_at,
            assignee=task.assignee,
            escalated_at=task.escalated_at,
            overdue=task.due_at < now,
            priority=Priority(band=_band_of(task, now), risk=min(int(d) // 30, 4), rank=offset + i + 1),
            score=_score(score),
            stage=case_row.stage,
            policy_pack=case_row.policy_pack,
            days_past_due=int(d),
            arrears=case_row.arrears,
            currency=case_row.currency,
            team=case_row.team,
            **_next_call(case_row, now),
        )
        for i, (task, case_row, d, score) in enumerate(rows)
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)


def _score(score: CaseScore | None) -> QueueScore | None:
    if score is None:
        return None
    return QueueScore(shade=score.shade, p_cure=score.p_cure, p_roll=score.p_roll, reason=score.reason)


def _next_call(case_row: Case, now: datetime) -> dict[str, Any]:
    if not next_call_barred(case_row, now):
        return {}
    return {
        "next_call_at": case_row.next_call_at,
        "next_call_rule": case_row.next_call_rule,
        "next_call_reason": case_row.next_call_reason,
    }


class TaskClaim(BaseModel):
    id: uuid.UUID
    assignee: str | None
    status: TaskStatus


async def _load(db: DatabaseDep, principal: Principal, task_id: uuid.UUID) -> tuple[Task, Case]:
    async with db.session() as session:
        row = (
            await session.exec(
                select(Task, Case)
                .join(Case, col(Case.id) == col(Task.case_id))
                .where(col(Task.id) == task_id, visible_cases(principal))
            )
        ).first()
    if row is None:
        raise NotFound(f"no task {task_id}")
    return row[0], row[1]


@router.post("/{task_id}/claim", summary="Claim a task", responses=ONE_ERRORS)
async def claim(task_id: uuid.UUID, principal: CaseWorker, db: DatabaseDep) -> TaskClaim:
    """Take the task: others see it as yours until you release or complete it."""
    task, case_row = await _load(db, principal, task_id)
    async with db.session() as session:
        claimed = (
            await session.exec(
                update(Task)
                .where(
                    col(Task.id) == task_id,
                    col(Task.status).in_(LIVE),
                    or_(
                        col(Task.assignee) == principal.subject,
                        and_(col(Task.assignee).is_(None), _open_to(principal)),
                    ),
                )
                .values(assignee=principal.subject)
                .returning(col(Task.status))
            )
        ).first()
        if claimed is None:
            raise Conflict(_why_not(task, principal))
        await audit.append(
            session,
            actor=actor(principal),
            action=AuditAction.TASK_CLAIMED,
            reason=f"{task.kind} claimed",
            case_id=case_row.id,
            loan_id=case_row.loan_id,
            payload={"task_id": str(task.id), "kind": task.kind},
        )
    return TaskClaim(id=task.id, assignee=principal.subject, status=claimed[0])


def _open_to(principal: Principal) -> ColumnElement[bool]:
    """Which unclaimed tasks the caller may take: an escalated one waits for a supervisor."""
    if principal.role is Role.SUPERVISOR:
        return true()
    return col(Task.escalated_at).is_(None)


def _barred(task: Task, principal: Principal) -> bool:
    """Someone else holds the task, or it is escalated and the caller is no supervisor."""
    if task.assignee is not None:
        return task.assignee != principal.subject
    return task.escalated_at is not None and principal.role is not Role.SUPERVISOR


def _why_not(task: Task, principal: Principal) -> str:
    if task.status not in LIVE:
        return f"the task is {task.status.value}"
    if task.assignee is None and task.escalated_at is not None and principal.role is not Role.SUPERVISOR:
        return "the task is escalated: a supervisor takes it"
    if _barred(task, principal):
        return f"the task is claimed by {task.assignee}"
    return "the task changed meanwhile; reload it"


@router.post("/{task_id}/release", summary="Release a claimed task", responses=ONE_ERRORS)
async def release(task_id: uuid.UUID, principal: CaseWorker, db: DatabaseDep) -> TaskClaim:
    """Give the task back to the queue. Its claimant or a supervisor may."""
    task, case_row = await _load(db, principal, task_id)
    if task.assignee is None:
        raise Conflict("the task is not claimed")
    if task.assignee != principal.subject and principal.role is not Role.SUPERVISOR:
        raise Conflict(f"the task is claimed by {task.assignee}; only they or a supervisor may release it")
    async with db.session() as session:
        await session.exec(
            update(Task)
            .where(col(Task.id) == task_id, col(Task.assignee) == task.assignee)
            .values(assignee=None)
        )
        await audit.append(
            session,
            actor=actor(principal),
            action=AuditAction.TASK_RELEASED,
            reason=f"{task.kind} released",
            case_id=case_row.id,
            loan_id=case_row.loan_id,
            payload={"task_id": str(task.id), "kind": task.kind},
        )
    return TaskClaim(id=task.id, assignee=None, status=task.status)


class AssignIn(BaseModel):
    assignee: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX, pattern=ONE_LINE)] = Field(
        description="the person who takes the task over, as they sign in"
    )
    reason: Text = Field(description="why, for the audit trail")


@router.post("/{task_id}/assign", summary="Reassign a task (supervisors)", responses=ONE_ERRORS)
async def assign(task_id: uuid.UUID, body: AssignIn, principal: Supervisor, db: DatabaseDep) -> TaskClaim:
    """Give an open or escalated task to a person, whoever holds it now; audited with both names."""
    task, case_row = await _load(db, principal, task_id)
    async with db.session() as session:
        assigned = (
            await session.exec(
                update(Task)
                .where(col(Task.id) == task_id, col(Task.status).in_(LIVE))
                .values(assignee=body.assignee)
                .returning(col(Task.status))
            )
        ).first()
        if assigned is None:
            raise Conflict(_why_not(task, principal))
        await audit.append(
            session,
            actor=actor(principal),
            action=AuditAction.TASK_ASSIGNED,
            reason=body.reason,
            case_id=case_row.id,
            loan_id=case_row.loan_id,
            payload={"task_id": str(task.id), "kind": task.kind, "from": task.assignee, "to": body.assignee},
        )
    return TaskClaim(id=task.id, assignee=body.assignee, status=assigned[0])


@command_body(PlanTerms)
class PlanIn(CommandBody):
    """A plan's terms, as the decision's workflow command takes them."""


class DecisionIn(BaseModel):
    decision: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
    reason: Text = Field(description="why, for the audit trail")
    plan: PlanIn | None = None
    denial_reasons: list[Text] = Field(default_factory=list, max_length=20)
    service_end: BoundedDate | None = None


@router.post(
    "/{task_id}/complete",
    summary="Decide a task",
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable),
)
async def complete(
    task_id: uuid.UUID, body: DecisionIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """The decision goes to the case workflow as an update; if its validator refuses it (a
    decision the task does not take, an appeal decided by the first decider), the answer is 409
    with the workflow's reason and nothing changes."""
    task, case_row = await _load(db, principal, task_id)
    if task.status not in LIVE or _barred(task, principal):
        raise Conflict(_why_not(task, principal))
    decision = TaskDecision(
        by=principal.subject, role=principal.role.value, task=_key(task), **body.model_dump()
    )
    result = await workflow.update(client, case_row, Update.COMPLETE_TASK, decision)
    return Accepted(case_id=case_row.id, result=result)
