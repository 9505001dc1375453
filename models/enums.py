"""Enumerations shared by tables, DTOs, policy packs and workflows (pure, sandbox-safe)."""

from enum import StrEnum


class PolicyPack(StrEnum):
    US_MORTGAGE = "us_mortgage"
    NL_CONSUMER = "nl_consumer"
    SE_CONSUMER = "se_consumer"


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


class HoldKind(StrEnum):
    STAY = "stay"
    DISPUTE = "dispute"
    CEASE = "cease"
    SCRA = "scra"
