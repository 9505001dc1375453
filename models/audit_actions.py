"""The audit trail's vocabulary: every action name, and the step keys the reports read back.

Writers (activities, services, routes) append these and readers (the reports, compliance
queries) select them, so a name is spelled once, here. Pure and sandbox-safe: it imports only
the standard library and `models.enums`, so workflows may import it too.
"""

from __future__ import annotations

from enum import StrEnum

from models.enums import MessageStatus, StayResolution, TaskStatus


class AuditAction(StrEnum):
    """What an audit event records: "<subject>.<what happened>"."""

    # the case's read model, kept in step by activities
    CASE_OPENED = "case.opened"
    CASE_RESTARTED = "case.restarted"
    CASE_STAGE_CHANGED = "case.stage_changed"
    CASE_CLOSED = "case.closed"
    # payments: reported by the loan system, then applied by the case
    PAYMENT_RECEIVED = "payment.received"
    PAYMENT_APPLIED = "payment.applied"
    # tasks: created by the case, claimed and released by staff, finished by the case
    TASK_CREATED = "task.created"
    TASK_CLAIMED = "task.claimed"
    TASK_RELEASED = "task.released"
    TASK_ASSIGNED = "task.assigned"  # a supervisor gave the task to a person
    TASK_ESCALATED = "task.escalated"
    TASK_CANCELLED = "task.cancelled"
    # documents and messages: rendered, read by staff, and each status a message reaches
    DOCUMENT_RENDERED = "document.rendered"
    DOCUMENT_READ = "document.read"
    MESSAGE_QUEUED = "message.queued"
    MESSAGE_SENDING = "message.sending"
    MESSAGE_SENT = "message.sent"
    MESSAGE_BATCHED = "message.batched"
    MESSAGE_PRINTED = "message.printed"
    MESSAGE_FAILED = "message.failed"
    PRINT_BATCH_BUILT = "print_batch.built"
    # reads and exports that compliance must be able to show
    PII_READ = "pii.read"
    AUDIT_EXPORTED = "audit.exported"
    REPORT_GENERATED = "report.generated"
    REPORT_DOWNLOADED = "report.downloaded"
    # the borrower on their own page (actor `borrower`): what they asked for, never what they typed
    BORROWER_CODE_SENT = "borrower.code_sent"
    BORROWER_SIGNED_IN = "borrower.signed_in"
    BORROWER_PROMISED = "borrower.promised"
    BORROWER_PAYMENT_STARTED = "borrower.payment_started"
    BORROWER_PLAN_REQUESTED = "borrower.plan_requested"
    BORROWER_CALLBACK_REQUESTED = "borrower.callback_requested"
    BORROWER_HOLD_REQUESTED = "borrower.hold_requested"
    BORROWER_QUESTION_ANSWERED = "borrower.question_answered"

    # strategy: scorecards trained and run, strategies stored and promoted, experiments' draws
    SCORE_MODEL_TRAINED = "score.model_trained"
    SCORE_RUN = "score.run"
    STRATEGY_STORED = "strategy.stored"
    STRATEGY_PROMOTED = "strategy.promoted"
    EXPERIMENT_STARTED = "experiment.started"
    EXPERIMENT_ASSIGNED = "experiment.assigned"
    EXPERIMENT_ARM_STOPPED = "experiment.arm_stopped"
    EXPERIMENT_ENDED = "experiment.ended"

    # A step the case took, refused or suppressed, under its rule: "<kind>.<status>" of the
    # workflow's action record. Step kinds (`policies.StepKind`) take any of the three statuses;
    # "message.refused" and "message.suppressed" are also statuses a message reaches, and
    # "task.done" also ends a task.
    MESSAGE_DONE = "message.done"
    MESSAGE_REFUSED = "message.refused"
    MESSAGE_SUPPRESSED = "message.suppressed"
    TASK_DONE = "task.done"
    TASK_REFUSED = "task.refused"
    TASK_SUPPRESSED = "task.suppressed"
    FEE_DONE = "fee.done"
    FEE_REFUSED = "fee.refused"
    FEE_SUPPRESSED = "fee.suppressed"
    ENFORCEMENT_DONE = "enforcement.done"
    ENFORCEMENT_REFUSED = "enforcement.refused"
    ENFORCEMENT_SUPPRESSED = "enforcement.suppressed"
    ADVANCE_DONE = "advance.done"
    ADVANCE_REFUSED = "advance.refused"
    ADVANCE_SUPPRESSED = "advance.suppressed"
    # ... and what the case itself or a person decided or recorded on it
    PROMISE_DONE = "promise.done"
    LOSS_MITIGATION_DONE = "loss_mitigation.done"
    EBA_DONE = "eba.done"
    HOLD_DONE = "hold.done"
    CONTACT_DONE = "contact.done"
    BANKRUPTCY_DONE = "bankruptcy.done"
    CLOSE_DONE = "close.done"
    SEGMENT_DONE = "segment.done"  # a score run moved the case's segment (set_scored_segment)

    @classmethod
    def for_step(cls, kind: str, status: str) -> AuditAction:
        """The action of a step's record of `kind` with `status` (done, refused, suppressed)."""
        try:
            return cls(f"{kind}.{status}")
        except ValueError:
            raise ValueError(
                f"no audit action for a {kind!r} step {status!r}: add it to AuditAction"
            ) from None

    @classmethod
    def for_message(cls, status: MessageStatus) -> AuditAction:
        """The action that records a message reaching `status`."""
        return cls(f"message.{status.value}")

    @classmethod
    def for_task(cls, status: TaskStatus) -> AuditAction:
        """The action that records a task ending in `status` (escalated, done, cancelled) or claimed."""
        return cls(f"task.{status.value}")


# ----------------------------------------------------------------------------------- step keys
# Keys of the steps and kinds of the tasks whose records the reports read; the case workflow
# writes them.
ACKNOWLEDGMENT_KEY_LIKE = "loss_mitigation.%.acknowledgment"  # every application's, in SQL LIKE
EBA_DEFAULT_KEY = "eba.default"
EVALUATION_TASK = "evaluation"
APPEAL_REVIEW_TASK = "appeal_review"


def acknowledgment_key(application: int) -> str:
    """The step that acknowledges loss-mitigation application number `application`."""
    return f"loss_mitigation.{application}.acknowledgment"


def application_of(key: str) -> int:
    """The application number in a loss-mitigation step's key."""
    return int(key.split(".")[1])


def stay_resolution_key(court_case: str, resolution: StayResolution) -> str:
    """The record of a bankruptcy case's stay ending by relief, dismissal or discharge."""
    return f"bankruptcy.{court_case}.{resolution.value}"


def stay_resolution_of(key: str) -> str:
    """The resolution in a bankruptcy record's key (its last part; court case numbers hold dots)."""
    return key.rsplit(".", 1)[-1]
