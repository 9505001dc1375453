"""Enumerations shared by tables, DTOs, policy packs and workflows (pure, sandbox-safe)."""

from enum import StrEnum


class PolicyPack(StrEnum):
    US_MORTGAGE = "us_mortgage"
    NL_CONSUMER = "nl_consumer"
    SE_CONSUMER = "se_consumer"
    BE_CONSUMER = "be_consumer"


class CaseStage(StrEnum):
    EARLY = "early"
    LOSS_MITIGATION = "loss_mitigation"
    FORBEARANCE = "forbearance"
    ENFORCEMENT = "enforcement"
    BANKRUPTCY_STAY = "bankruptcy_stay"
    CLOSED = "closed"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CaseOutcome(StrEnum):
    CURED = "cured"
    PAID_OFF = "paid_off"
    MODIFIED = "modified"
    SETTLED = "settled"
    CHARGED_OFF = "charged_off"
    FORECLOSED = "foreclosed"
    TRANSFERRED = "transferred"


class StayResolution(StrEnum):
    """How a bankruptcy stay ends before it expires."""

    RELIEF = "relief"
    DISMISSAL = "dismissal"
    DISCHARGE = "discharge"


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    COMPLIANCE = "compliance"
    REGULATOR = "regulator"
    ADMIN = "admin"
    SYSTEM = "system"


class Segment(StrEnum):
    """Payer segment: good payers get flexibility, forgetful ones nudges, bad ones a strict track."""

    GOOD = "good"
    FORGETFUL = "forgetful"
    BAD = "bad"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    CALL = "call"


class CallDirection(StrEnum):
    """Who placed a telephone call: staff (counted under Reg F's call frequency) or the borrower."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # intended, not yet handed to its channel
    SENDING = "sending"  # claimed by an attempt and handed (or being handed) to its channel
    SENT = "sent"  # accepted by the SMTP server or the SMS gateway
    REFUSED = "refused"  # a contact rule said not now; retry_at says when
    SUPPRESSED = "suppressed"  # a contact rule said never (stay, cease communication)
    BATCHED = "batched"  # a letter waiting for its day's print batch
    PRINTED = "printed"  # a letter in a print batch
    FAILED = "failed"  # the channel refused it for good


class ReportKind(StrEnum):
    DELINQUENCY = "delinquency"
    NON_PERFORMING_FORBORNE = "non_performing_forborne"
    LOSS_MITIGATION = "loss_mitigation"
    BANKRUPTCY_ENFORCEMENT = "bankruptcy_enforcement"
    KPI = "kpi"


class ReportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    PDF = "pdf"
