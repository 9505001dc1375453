"""Each action's request body is its workflow command less who asks, with the command's own
constraints and the API's narrower ones."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from api.cases import schemas
from api.cases.workflow import COMMANDS, Update

BODIES: dict[Update, type[BaseModel]] = {
    Update.RECORD_CONTACT: schemas.ContactIn,
    Update.RECORD_PROMISE: schemas.PromiseIn,
    Update.SUBMIT_APPLICATION: schemas.ApplicationIn,
    Update.APPEAL: schemas.Explained,
    Update.REQUEST_FORBEARANCE: schemas.ForbearanceIn,
    Update.RECORD_BANKRUPTCY: schemas.BankruptcyIn,
    Update.RESOLVE_BANKRUPTCY: schemas.ResolutionIn,
    Update.RECORD_PAYMENT_CHANGE: schemas.PaymentChangeIn,
    Update.RECORD_POST_PETITION_FEE: schemas.FeeIn,
    Update.SET_HOLD: schemas.HoldIn,
    Update.CLOSE_CASE: schemas.CloseIn,
}
SERVER_SET = {"by", "role", "approval_required"}


@pytest.mark.parametrize("update", list(BODIES), ids=str)
def test_a_body_has_its_commands_fields_and_constraints_less_who_asks(update: Update) -> None:
    body, command = BODIES[update], COMMANDS[update]
    assert list(body.model_fields) == [name for name in command.model_fields if name not in SERVER_SET]
    for name, field in body.model_fields.items():
        source = command.model_fields[name]
        # the API takes a boolean only as JSON writes it: bool | None becomes StrictBool | None
        assert field.annotation in (source.annotation, *schemas._strict(source.annotation)[:1]), name
        assert all(constraint in field.metadata for constraint in source.metadata), name
        assert field.get_default(call_default_factory=True) == source.get_default(call_default_factory=True)
    assert body.model_json_schema()["title"] == body.__name__


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        (schemas.ContactIn, "reason", "a\x00b"),
        (schemas.BankruptcyIn, "court_case", "24-1\n0001"),
        (schemas.FeeIn, "description", "late\tfee"),
        (schemas.HoldIn, "channels", ["email", "sms", "letter", "call", "email"]),
    ],
)
def test_the_api_refuses_more_than_the_command(body: type[BaseModel], field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        body.model_validate({field: value})
    assert field in {str(error["loc"][0]) for error in refused.value.errors()}


def test_booleans_and_integers_are_taken_only_as_json_writes_them() -> None:
    """The schema says boolean and integer: 0 is not false, "4" is not 4 (the workflow's command
    itself stays lenient, for the histories it replays)."""
    for body in ({"active": 0}, {"active": "false"}):
        with pytest.raises(ValidationError):
            schemas.HoldIn.model_validate({"reason": "borrower asked", "kind": "dispute", **body})
    lifted = schemas.HoldIn.model_validate({"reason": "borrower asked", "kind": "dispute", "active": False})
    assert lifted.model_dump()["active"] is False
    for months in ("4", True):
        with pytest.raises(ValidationError):
            schemas.ForbearanceIn.model_validate({"reason": "hardship", "kind": "pause", "months": months})
    paused = schemas.ForbearanceIn.model_validate({"reason": "hardship", "kind": "pause", "months": 4.0})
    assert paused.model_dump()["months"] == 4
