"""The names and messages the API sends are the ones `CaseWorkflow` registers."""

from __future__ import annotations

from temporalio.workflow import _Definition

from api.cases.workflow import COMMANDS, Query, Signal, Update
from workflows.case import CaseWorkflow
from workflows.dto import PaymentSignal

DEFINITION = _Definition.must_from_class(CaseWorkflow)


def test_every_update_is_one_the_workflow_defines_with_the_command_it_takes() -> None:
    assert set(COMMANDS) == set(Update)
    for name, command in COMMANDS.items():
        assert name.value in DEFINITION.updates, f"CaseWorkflow has no update {name.value!r}"
        assert DEFINITION.updates[name.value].arg_types == [command]


def test_every_update_the_workflow_defines_has_a_name_here() -> None:
    assert set(DEFINITION.updates) == {name.value for name in Update}


def test_signal_and_query_names_are_the_workflows() -> None:
    assert DEFINITION.signals[Signal.PAYMENT.value].arg_types == [PaymentSignal]
    for query in Query:
        assert query.value in DEFINITION.queries
