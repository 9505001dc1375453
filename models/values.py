"""Bounded values for every input: money and dates, defined once for the API, the intake and the
workflow messages. Plain pydantic types, safe in the workflow sandbox.

Money: at most 14 digits before the point and 2 after, so that every sum, fee and interest figure
stays far inside `decimal`'s 28 digits and the `Numeric(18, 2)` columns; kept in cents (`12.5`
becomes `12.50`). It is taken as written in the OpenAPI document and nothing else: a decimal
string matching the pattern (no exponent, sign or padding), or a whole number; a JSON number
with a fraction is refused, as it may carry more places than cents (0.1 + 0.2).

Dates: 1900-01-01 to 2199-12-31. Every date a servicer records (an origination, a filing, a
promise, the end of a plan or of military service) falls inside it, and the longest deadline the
packs add to one (EBA probation, 3 years; a 60-month plan; 100 years of days past due back from a
report) stays inside Python's and PostgreSQL's calendars. A fixed range, not "today plus or minus
a century": a workflow re-validates its messages on every replay, and must reach the same verdict
years later. Its years are exactly 19xx, 20xx and 21xx, which the schema's pattern states.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, WithJsonSchema

MONEY_DIGITS = 16
MONEY_PLACES = 2
MONEY_MAX_WHOLE = 10 ** (MONEY_DIGITS - MONEY_PLACES) - 1
CENT = Decimal("0.01")
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$"
POSITIVE_MONEY_PATTERN = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,13}(\.[0-9]{1,2})?)$"

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
DATE_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}T"


def _money_written_out(bound: str) -> BeforeValidator:
    # The schema promises a decimal string with at most 2 places or a whole number; pydantic would
    # also read "1E+2", " 12.5", "1_000" and a JSON 0.30000000000000004, which the schema refuses.
    def check(value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(MONEY_PATTERN, value):
            if re.fullmatch(MONEY_PATTERN, value.removeprefix("-")):
                raise ValueError(f"should be {bound}")
            raise ValueError("must read like 1500.00: digits, then at most 2 decimal places")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(
                'an amount with cents goes as a string, such as "12.50": a number may not keep them'
            )
        return value

    return BeforeValidator(check)


def _cents(value: Decimal) -> Decimal:
    # `+ 0` turns a negative zero ("-0") into a plain one
    return value.quantize(CENT) + 0


def _money_schema(pattern: str, minimum: int) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "pattern": pattern, "examples": ["1500.00"]},
            {"type": "integer", "minimum": minimum, "maximum": MONEY_MAX_WHOLE},
        ],
        "description": "an amount in the loan's currency: a decimal string with at most 2 places, "
        "or a whole number",
    }


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, allow_inf_nan=False),
    _money_written_out("greater than or equal to 0"),
    AfterValidator(_cents),
    WithJsonSchema(_money_schema(MONEY_PATTERN, 0), mode="validation"),
]
"""An amount of zero or more, in cents."""

PositiveMoney = Annotated[
    Decimal,
    Field(gt=0, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, allow_inf_nan=False),
    _money_written_out("greater than 0"),
    AfterValidator(_cents),
    WithJsonSchema(_money_schema(POSITIVE_MONEY_PATTERN, 1), mode="validation"),
]
"""An amount above zero, in cents."""


def _day_written_out(value: Any) -> Any:
    # pydantic would read a number as Unix seconds and take a date-time at midnight; the schema
    # promises a day written YYYY-MM-DD
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD, e.g. 2026-11-02")
    if isinstance(value, int | float | Decimal):
        raise ValueError("must be a date written YYYY-MM-DD, not a number")
    return value


BoundedDate = Annotated[
    date,
    Field(ge=EARLIEST, le=LATEST),
    BeforeValidator(_day_written_out),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": DATE_PATTERN,
            "description": f"a day from {EARLIEST.isoformat()} to {LATEST.isoformat()}",
        },
        mode="validation",
    ),
]
"""A calendar day within the range every input date must fall in."""


def _written_out(value: Any) -> Any:
    # pydantic would read a number ("0.5") as Unix seconds; the schema promises an ISO 8601 string
    if isinstance(value, str) and not re.match(DATETIME_PATTERN, value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-02T09:30:00+00:00")
    if isinstance(value, int | float | Decimal):
        raise ValueError("must be an ISO 8601 date-time string, not a number")
    return value


def _in_range(value: datetime) -> datetime:
    # the day as written (in its own offset), so that the bound and the schema's pattern agree
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError(f"must fall between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


BoundedDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_written_out),
    AfterValidator(_in_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": DATETIME_PATTERN,
            "description": f"an instant with its UTC offset, from {EARLIEST.isoformat()} "
            f"to {LATEST.isoformat()}",
        },
        mode="validation",
    ),
]
"""An instant with its offset, on a day within the input range."""
