"""The system's own words as pages show them (stages, outcomes, task kinds, decisions, statuses,
form labels): translated through the catalogs like every other text. `terms()` lists them for
the catalog update and for the test that every one of them is translated."""

from __future__ import annotations

from typing import get_args

from api.web import forms
from api.web.render import NAVIGATION
from models.enums import (
    CaseOutcome,
    CaseStage,
    CaseStatus,
    Channel,
    MessageStatus,
    ReportKind,
    Role,
    Segment,
    TaskStatus,
)
from policies import StepKind
from workflows.case.tasks import DECISIONS
from workflows.dto import ApplicationState, Hold, PlanTerms


def terms() -> set[str]:
    words: set[str] = set()
    for enum in (
        CaseOutcome,
        CaseStage,
        CaseStatus,
        Channel,
        MessageStatus,
        ReportKind,
        Role,
        Segment,
        TaskStatus,
        StepKind,
    ):
        words |= {member.value for member in enum}
    words |= set(DECISIONS) | {d for options in DECISIONS.values() for d in options}
    words |= set(get_args(Hold.model_fields["kind"].annotation))
    words |= set(get_args(ApplicationState.model_fields["status"].annotation))
    words |= set(get_args(PlanTerms.model_fields["kind"].annotation))
    words |= {"red", "amber", "green", "refused", "pending", "failed", "promise"}
    for action in forms.ACTIONS:
        words.add(action.title)
        for control in forms.inputs_of(action.body):
            words.add(control.label)
            if not control.integers:
                words |= set(control.options)
    words |= {label for links in NAVIGATION.values() for _, label in links}
    return words
