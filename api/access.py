"""Who may see what: roles per route, object-level visibility, and masking of personal data.

The matrix, in one place (the role-matrix test walks it):

| route group                    | agent       | supervisor | compliance | regulator | admin  |
|--------------------------------|-------------|------------|------------|-----------|--------|
| work queue, claim, complete    | own team    | all        | -          | -         | -      |
| reassign a task                | -           | all        | -          | -         | -      |
| cases: list, detail, timeline  | own team    | all        | all,masked | -         | masked |
| documents, messages            | own team    | all        | all        | -         | -      |
| case actions                   | own team    | all        | -          | -         | -      |
| close a case                   | -           | all        | -          | -         | -      |
| audit search, verify, export   | -           | -          | all        | -         | -      |
| delinquency intake             | -           | yes        | -          | -         | yes    |
| reports: list, download        | -           | -          | yes        | yes       | yes    |
| reports: generate              | -           | -          | yes        | -         | yes    |
| KPI dashboard, its CSVs        | -           | all        | all        | -         | all    |

"Own team" means a case whose team is the token's `team` claim, or one assigned to the caller.
Agents and supervisors contact borrowers, so they see names and contact details (and each read
writes `pii.read` to the audit trail); compliance and admin see masked values; regulators see no
borrower at all, only reports.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col

from api.deps import require_roles
from arrears.auth import Principal
from models.cases import Case
from models.enums import Role

CASE_READERS = (Role.AGENT, Role.SUPERVISOR, Role.COMPLIANCE, Role.ADMIN)
DOCUMENT_READERS = (Role.AGENT, Role.SUPERVISOR, Role.COMPLIANCE)
CASE_WORKERS = (Role.AGENT, Role.SUPERVISOR)
KPI_READERS = (Role.SUPERVISOR, Role.COMPLIANCE, Role.ADMIN)
PII_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})

CaseReader = Annotated[Principal, Depends(require_roles(*CASE_READERS))]
DocumentReader = Annotated[Principal, Depends(require_roles(*DOCUMENT_READERS))]
CaseWorker = Annotated[Principal, Depends(require_roles(*CASE_WORKERS))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]
ComplianceOfficer = Annotated[Principal, Depends(require_roles(Role.COMPLIANCE))]


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause limiting `cases` to those the caller may see."""
    if principal.role is not Role.AGENT:
        return true() if principal.role in CASE_READERS else false()
    mine = col(Case.assignee) == principal.subject
    if principal.team:
        return or_(col(Case.team) == principal.team, mine)
    return mine


def may_see(principal: Principal, case: Case) -> bool:
    """The same rule as `visible_cases`, for one loaded row."""
    if principal.role is not Role.AGENT:
        return principal.role in CASE_READERS
    return case.assignee == principal.subject or (principal.team is not None and case.team == principal.team)


def mask(value: str | None, kind: str) -> str | None:
    """Keep just enough to recognise a value without disclosing it."""
    if value is None or value == "":
        return value
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    if kind == "phone":
        digits = [c for c in value if c.isdigit()]
        return "***" + "".join(digits[-2:])
    if kind == "name":
        return " ".join(part[:1] + "***" for part in value.split())
    return "***"


def borrower_view(principal: Principal, borrower: Any) -> dict[str, Any]:
    """The borrower as this caller may see them."""
    fields = {
        "name": borrower.name,
        "email": borrower.email,
        "phone": borrower.phone,
        "address": borrower.address,
    }
    if principal.role not in PII_ROLES:
        fields = {k: mask(v, k) for k, v in fields.items()}
    return {
        "id": borrower.id,
        "external_id": borrower.external_id,
        "timezone": borrower.timezone,
        "language": borrower.language,
        "masked": principal.role not in PII_ROLES,
        **fields,
    }
