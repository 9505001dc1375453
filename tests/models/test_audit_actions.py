"""The audit vocabulary: every name a writer composes is a member, and every member can be queried."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from models.audit_actions import (
    AuditAction,
    acknowledgment_key,
    application_of,
    stay_resolution_key,
    stay_resolution_of,
)
from models.enums import MessageStatus, StayResolution, TaskStatus
from policies import StepKind
from workflows.dto import ActionRecord, TaskOutcome

STEP_STATUSES: tuple[str, ...] = get_args(ActionRecord.model_fields["status"].annotation)
# the records the case workflow writes besides its steps: (kind, status)
CASE_RECORDS = [
    ("promise", "done"),
    ("loss_mitigation", "done"),
    ("eba", "done"),
    ("hold", "done"),
    ("contact", "done"),
    ("bankruptcy", "done"),
    ("close", "done"),
    ("message", "refused"),
]


def test_every_step_record_has_its_action() -> None:
    for step in StepKind:
        for status in STEP_STATUSES:
            assert AuditAction.for_step(step.value, status) == f"{step.value}.{status}"
    for kind, status in CASE_RECORDS:
        assert AuditAction.for_step(kind, status) == f"{kind}.{status}"


def test_a_record_outside_the_vocabulary_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'appraisal' step 'done'"):
        AuditAction.for_step("appraisal", "done")


def test_every_message_status_and_task_ending_has_its_action() -> None:
    assert {AuditAction.for_message(s) for s in MessageStatus} == {
        a for a in AuditAction if a.startswith("message.") and a != AuditAction.MESSAGE_DONE
    }
    endings = [TaskStatus(s) for s in get_args(TaskOutcome.model_fields["status"].annotation)]
    assert [AuditAction.for_task(s) for s in endings] == [f"task.{s.value}" for s in endings]
    assert AuditAction.for_task(TaskStatus.CLAIMED) is AuditAction.TASK_CLAIMED


def test_every_action_is_one_name_that_compliance_can_filter_on() -> None:
    assert len(AuditAction.__members__) == len(list(AuditAction)), "two members share a name"
    for action in AuditAction:
        # the audit query's `action` filter and the column's width
        assert re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", action) and len(action) <= 64, action


def test_step_keys_read_back_as_written() -> None:
    assert application_of(acknowledgment_key(12)) == 12
    for resolution in StayResolution:
        assert stay_resolution_of(stay_resolution_key("25-10.001", resolution)) == resolution
