"""Delinquency rows as the loan system sends them: the record, its validation and file reading."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.enums import PolicyPack
from models.values import BoundedDate, Money
from policies import get_pack

_CONTROL = frozenset(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


class DelinquencyRecord(BaseModel):
    """One row of a delinquency file, as the loan system reports it."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    loan_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    borrower_id: str = Field(min_length=1, max_length=64)
    borrower_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()-]{5,31}$")
    address: str | None = Field(default=None, max_length=500)
    timezone: str | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    policy_pack: PolicyPack
    product: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    principal: Money
    balance: Money
    arrears: Money
    installment: Money
    due_day: int = Field(ge=1, le=28)
    next_due_date: BoundedDate
    days_past_due: int = Field(ge=0, le=36500)
    as_of: BoundedDate
    team: str = Field(default="default", min_length=1, max_length=64)
    reminder_fee_agreed: bool = False  # the loan agreement provides for a reminder fee

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        if isinstance(value, str) and any(c in value for c in _CONTROL):
            raise ValueError("control characters are not allowed")
        return value

    @field_validator("email", "phone", "address", "timezone", "language", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DelinquencyRecord:
        pack = get_pack(self.policy_pack)
        if self.currency != pack.currency:
            raise ValueError(
                f"currency: {self.policy_pack.value} loans are in {pack.currency}, not {self.currency}"
            )
        if self.arrears > self.balance:
            raise ValueError("arrears: larger than the balance")
        if self.days_past_due > 0 and self.arrears == 0:
            raise ValueError("arrears: zero while days_past_due is positive")
        if self.language is not None and self.language not in pack.languages:
            raise ValueError(
                f"language: {self.policy_pack.value} letters exist in "
                f"{', '.join(pack.languages)}, not {self.language}"
            )
        return self


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one input row was refused."""

    row: int
    field: str
    reason: str


def validate_rows(
    rows: Iterable[tuple[int, Any]],
) -> Iterator[tuple[int, DelinquencyRecord] | RowError]:
    """Validate raw rows, yielding records or one error per bad row (its first problem)."""
    for number, raw in rows:
        if isinstance(raw, RowError):
            yield raw
            continue
        if not isinstance(raw, dict):
            yield RowError(number, "(row)", "expected an object with the delinquency fields")
            continue
        try:
            yield number, DelinquencyRecord.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or _field_from_message(first["msg"])
            yield RowError(number, where, _clean(first["msg"]))


def _field_from_message(message: str) -> str:
    head = message.removeprefix("Value error, ").split(":", 1)
    return head[0] if len(head) == 2 and " " not in head[0] else "(row)"


def _clean(message: str) -> str:
    message = message.removeprefix("Value error, ")
    head = message.split(":", 1)
    return head[1].strip() if len(head) == 2 and " " not in head[0] else message


def read_file(name: str, content: str) -> Iterator[tuple[int, Any]]:
    """Rows of a CSV (header line first) or JSON Lines file, numbered as a person counts them."""
    if name.endswith((".jsonl", ".ndjson", ".json")):
        # Lines end at "\n" (a CRLF file's "\r" goes too), not wherever str.splitlines() cuts:
        # U+2028, U+2029 and NEL may sit inside a JSON string, and a stray VT, FF or file
        # separator must not split one row into several and shift every row number after it.
        for number, line in enumerate(content.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(number, "(row)", f"not valid JSON: {exc.msg}")
    elif name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(content))
        for number, row in enumerate(reader, start=2):  # line 1 is the header
            if None in row:
                yield number, RowError(number, "(row)", "more values than header columns")
            else:
                yield number, {k: v for k, v in row.items() if v is not None}
    else:
        raise ValueError(f"{name}: unsupported file type; use .csv or .jsonl")
