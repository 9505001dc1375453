"""Activities for human tasks: create (or reopen), escalate, decide, cancel. Each idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import and_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from temporalio import activity

from arrears import audit
from arrears.db import Database
from models.audit_actions import AuditAction
from models.base import utcnow
from models.cases import Case
from models.enums import TaskStatus
from models.tasks import Task
from workflows.dto import TaskInput, TaskOutcome


def _task_key(case_id: object, key: str) -> str:
    return f"{case_id}:{key}"


class TaskActivities:
    """Keeps the tasks table, the staff work queue, in step with the workflow."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="create_task")
    async def create_task(self, data: TaskInput) -> None:
        """Create the task, or reopen it after a stay cancelled it, and audit that."""
        view = data.task
        due_at = audit.day_end(view.due)
        key = _task_key(data.case_id, view.key)
        async with self.db.session() as session:
            await session.exec(
                insert(Task)
                .values(
                    case_id=data.case_id,
                    kind=view.kind,
                    status=TaskStatus.OPEN,
                    rule_id=view.rule_id,
                    citation=view.citation,
                    idempotency_key=key,
                    due_at=due_at,
                    created_at=utcnow(),
                )
                .on_conflict_do_update(
                    index_elements=["idempotency_key"],
                    set_={
                        "status": TaskStatus.OPEN,
                        "due_at": due_at,
                        "completed_at": None,
                        "escalated_at": None,
                    },
                    # reopen after a stay, but never let a late, retried create undo a later cancel
                    where=and_(col(Task.status) == TaskStatus.CANCELLED, col(Task.completed_at) < data.at),
                )
            )
            case = await session.get(Case, data.case_id)
            await audit.append(
                session,
                actor=audit.WORKFLOW,
                action=AuditAction.TASK_CREATED,
                reason=f"{view.kind} due {view.due.isoformat()}",
                case_id=data.case_id,
                loan_id=case.loan_id if case else None,
                rule_id=view.rule_id,
                citation=view.citation,
                payload={"task": view.key, "kind": view.kind, "due": view.due.isoformat()},
                idempotency_key=f"{key}:created:{data.at.isoformat()}",
            )

    @activity.defn(name="finish_task")
    async def finish_task(self, outcome: TaskOutcome) -> None:
        """Mark a task escalated, done or cancelled, and audit who and why."""
        key = _task_key(outcome.case_id, outcome.key)
        status = TaskStatus(outcome.status)
        async with self.db.session() as session:
            task = (
                await session.exec(select(Task).where(Task.idempotency_key == key).with_for_update())
            ).first()
            if task is None and outcome.task is not None and status is TaskStatus.CANCELLED:
                # cancelled before its creation was recorded: keep the final state, and a late
                # create (see create_task) cannot reopen it
                view = outcome.task
                task = Task(
                    case_id=outcome.case_id,
                    kind=view.kind,
                    rule_id=view.rule_id,
                    citation=view.citation,
                    idempotency_key=key,
                    due_at=audit.day_end(view.due),
                    created_at=outcome.at,
                )
                session.add(task)
            if task is None:
                raise LookupError(f"task {outcome.key} of case {outcome.case_id} has no row")
            task.status = status
            if status is TaskStatus.ESCALATED:
                # the mark, not an assignee: whoever holds the task keeps it, and no user's name
                # can pass for the escalation
                task.escalated_at = task.escalated_at or outcome.at
            else:
                task.completed_at = outcome.at
                task.decision = outcome.decision
            case = await session.get(Case, outcome.case_id)
            await audit.append(
                session,
                actor=audit.Actor(
                    outcome.actor, outcome.role or ("system" if outcome.actor == "case-workflow" else "staff")
                ),
                action=AuditAction.for_task(status),
                reason=outcome.reason or outcome.status,
                case_id=outcome.case_id,
                loan_id=case.loan_id if case else None,
                rule_id=task.rule_id,
                citation=task.citation,
                payload={"task": outcome.key, "kind": task.kind, "decision": outcome.decision},
                idempotency_key=f"{key}:{outcome.status}:{outcome.at.isoformat()}",
            )

    def all(self) -> list[Callable[..., Awaitable[None]]]:
        """Every activity of this class, for worker registration."""
        return [self.create_task, self.finish_task]
