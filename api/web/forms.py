"""Case actions as HTML forms: each form is drawn from the same request body the API takes, and
what a browser posts is read back into that body, so the workflow's validator sees one command.

A browser posts every value as text: integers and booleans are turned into what JSON would
carry before the body model (strict about both, as in the API) validates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from api.access import CASE_WORKERS
from api.cases.schemas import (
    ApplicationIn,
    BankruptcyIn,
    CloseIn,
    CommandBody,
    ContactIn,
    Explained,
    FeeIn,
    ForbearanceIn,
    HoldIn,
    PaymentChangeIn,
    PromiseIn,
    ResolutionIn,
    StayOrderIn,
)
from api.cases.workflow import Update
from models.enums import Role


@dataclass(frozen=True, slots=True)
class Action:
    """A case action as a form: its address, title, body and who may send it."""

    slug: str
    title: str
    body: type[CommandBody]
    update: Update
    roles: tuple[Role, ...] = CASE_WORKERS


ACTIONS: tuple[Action, ...] = (
    Action("contact", "Record a contact", ContactIn, Update.RECORD_CONTACT),
    Action("promise", "Record a promise to pay", PromiseIn, Update.RECORD_PROMISE),
    Action("application", "Record a loss-mitigation application", ApplicationIn, Update.SUBMIT_APPLICATION),
    Action("appeal", "Appeal a denial", Explained, Update.APPEAL),
    Action("forbearance", "Request forbearance", ForbearanceIn, Update.REQUEST_FORBEARANCE),
    Action("hold", "Set or lift a hold", HoldIn, Update.SET_HOLD),
    Action("bankruptcy", "Record a bankruptcy filing", BankruptcyIn, Update.RECORD_BANKRUPTCY),
    Action("stay-order", "Record a court order on the stay", StayOrderIn, Update.RECORD_STAY_ORDER),
    Action(
        "bankruptcy-resolution", "Record how the bankruptcy ended", ResolutionIn, Update.RESOLVE_BANKRUPTCY
    ),
    Action(
        "payment-change",
        "Record a payment change (chapter 13)",
        PaymentChangeIn,
        Update.RECORD_PAYMENT_CHANGE,
    ),
    Action("post-petition-fee", "Record a post-petition fee", FeeIn, Update.RECORD_POST_PETITION_FEE),
    Action("close", "Close the case", CloseIn, Update.CLOSE_CASE, (Role.SUPERVISOR,)),
)
BY_SLUG = {a.slug: a for a in ACTIONS}


@dataclass(frozen=True, slots=True)
class Input:
    """One form control, from one field of the body's JSON Schema."""

    name: str
    label: str
    kind: str  # text, textarea, number, integer, date, datetime, checkbox, select, multiselect
    required: bool
    help: str = ""
    options: tuple[str, ...] = ()
    value: str = ""
    minimum: str = ""
    maximum: str = ""
    integers: bool = False  # a select whose options are whole numbers (a bankruptcy chapter)


@dataclass(slots=True)
class Form:
    action: Action
    inputs: list[Input]
    errors: dict[str, str] = field(default_factory=dict)  # field name ("" for the form) -> why
    values: Mapping[str, Any] = field(default_factory=dict)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A property's own schema: through `$ref` and the `anyOf` of an optional field."""
    if "$ref" in schema:
        return _resolve(root["$defs"][schema["$ref"].split("/")[-1]], root)
    options = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(options) == 1:
        merged = {**_resolve(options[0], root), **{k: v for k, v in schema.items() if k != "anyOf"}}
        return merged
    return schema


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def inputs_of(model: type[BaseModel]) -> list[Input]:
    """The controls of a body, in the order of its fields."""
    root = model.model_json_schema()
    required = set(root.get("required", ()))
    controls: list[Input] = []
    for name, raw in root.get("properties", {}).items():
        prop = _resolve(raw, root)
        kind, options, integers = "text", tuple[str, ...](), False
        kind_of = prop.get("type")
        types = {o.get("type") for o in prop.get("anyOf", ())}
        if "enum" in prop:
            kind, options = "select", tuple(str(o) for o in prop["enum"])
            integers = all(isinstance(o, int) for o in prop["enum"])
        elif {"string", "integer"} <= types:  # money: a decimal string or a whole number
            kind = "number"
        elif kind_of == "array":
            item = _resolve(prop.get("items", {}), root)
            kind, options = "multiselect", tuple(str(o) for o in item.get("enum", ()))
        elif kind_of == "boolean":
            kind = "checkbox"
        elif kind_of == "integer":
            kind = "integer"
        elif kind_of == "number":
            kind = "number"
        elif prop.get("format") == "date":
            kind = "date"
        elif prop.get("format") == "date-time":
            kind = "datetime"
        elif name == "reason":
            kind = "textarea"
        default = raw.get("default", prop.get("default"))
        controls.append(
            Input(
                name=name,
                label=_label(name),
                kind=kind,
                required=name in required,
                help=str(raw.get("description") or prop.get("description") or ""),
                options=options,
                value="" if default is None or isinstance(default, list | dict) else str(default),
                minimum=str(prop.get("minimum", "")),
                maximum=str(prop.get("maximum", "")),
                integers=integers,
            )
        )
    return controls


def form(
    action: Action, values: Mapping[str, Any] | None = None, errors: dict[str, str] | None = None
) -> Form:
    return Form(action=action, inputs=inputs_of(action.body), errors=errors or {}, values=values or {})


def read(model: type[CommandBody], posted: Mapping[str, Sequence[str]]) -> CommandBody:
    """The body from a posted form; `ValidationError` names each refused field."""
    data: dict[str, Any] = {}
    for control in inputs_of(model):
        values = [v for v in posted.get(control.name, ()) if v != ""]
        if control.kind == "checkbox":
            data[control.name] = bool(values) and values[-1] in ("on", "true", "1")
            continue
        if control.kind == "multiselect":
            if values:
                data[control.name] = values
            continue
        if not values:
            continue
        value: Any = values[-1]
        if control.kind == "integer" or control.integers:
            try:
                value = int(value)
            except ValueError:
                value = value  # the model says why
        data[control.name] = value
    return model.model_validate(data)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Each refused field with its reason, as the form shows them."""
    found: dict[str, str] = {}
    for problem in error.errors():
        where = str(problem["loc"][0]) if problem["loc"] else ""
        found.setdefault(where, problem["msg"])
    return found
