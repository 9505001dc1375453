"""The case workflow: one durable execution per delinquent loan (see `workflow.py`).

Importers take every name from here: `from workflows.case import CaseWorkflow, workflow_id`.
"""

from __future__ import annotations

from workflows.case.context import Transition
from workflows.case.effects import (
    ACTIONS_KEPT,
    ACTIVITY_RETRY,
    ACTIVITY_TIMEOUT,
    SEND_HEARTBEAT,
    SEND_TIMEOUT,
)
from workflows.case.patches import CURRENT_CODE_PATCH, DOCUMENTS_PATCH, GENERATIONS, LOCAL_WRITES_PATCH
from workflows.case.tasks import DECISIONS
from workflows.case.workflow import CaseWorkflow


def workflow_id(loan_external_id: str) -> str:
    """The workflow ID of a loan's case: one open execution per loan."""
    return f"loan-{loan_external_id}"


__all__ = [
    "ACTIONS_KEPT",
    "ACTIVITY_RETRY",
    "ACTIVITY_TIMEOUT",
    "CURRENT_CODE_PATCH",
    "DECISIONS",
    "DOCUMENTS_PATCH",
    "GENERATIONS",
    "LOCAL_WRITES_PATCH",
    "SEND_HEARTBEAT",
    "SEND_TIMEOUT",
    "CaseWorkflow",
    "Transition",
    "workflow_id",
]
