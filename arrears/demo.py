"""A demo portfolio of delinquent loans across the four policy packs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from arrears.db import Database
from arrears.intake import IntakeResult, IntakeService
from models.loans import Loan

_PEOPLE = {
    "us_mortgage": [
        ("Dana Whitfield", "America/New_York", "en", "+1 212 555 0147"),
        ("Marcus Ortega", "America/Chicago", "es", "+1 312 555 0199"),
        ("Alicia Brennan", "America/Los_Angeles", "en", "+1 415 555 0120"),
        ("Terrence Cole", "America/Denver", "en", "+1 303 555 0188"),
    ],
    "nl_consumer": [
        ("Sanne de Vries", "Europe/Amsterdam", "nl", "+31 20 555 0101"),
        ("Daan Jansen", "Europe/Amsterdam", "nl", "+31 10 555 0133"),
        ("Emma Bakker", "Europe/Amsterdam", "en", "+31 30 555 0177"),
        ("Lucas Visser", "Europe/Amsterdam", "nl", "+31 40 555 0166"),
    ],
    "se_consumer": [
        ("Astrid Lindqvist", "Europe/Stockholm", "sv", "+46 8 555 0110"),
        ("Erik Johansson", "Europe/Stockholm", "sv", "+46 31 555 0122"),
        ("Maja Karlsson", "Europe/Stockholm", "en", "+46 40 555 0144"),
        ("Oskar Nilsson", "Europe/Stockholm", "sv", "+46 18 555 0155"),
    ],
    "be_consumer": [
        ("Lotte Peeters", "Europe/Brussels", "nl", "+32 3 555 0112"),
        ("Julien Dubois", "Europe/Brussels", "fr", "+32 2 555 0134"),
        ("Sarah Maes", "Europe/Brussels", "en", "+32 9 555 0156"),
        ("Camille Lambert", "Europe/Brussels", "fr", "+32 4 555 0178"),
    ],
}
_TERMS = {
    "us_mortgage": ("USD", "mortgage_30y", Decimal("320000.00"), Decimal("1980.00")),
    "nl_consumer": ("EUR", "personal_loan", Decimal("15000.00"), Decimal("310.00")),
    "se_consumer": ("SEK", "consumer_credit", Decimal("120000.00"), Decimal("2450.00")),
    "be_consumer": ("EUR", "personal_loan", Decimal("12000.00"), Decimal("280.00")),
}
# Belgium: credit agreements fall under Book VII, other consumer debts (invoices) under Book XIX
_PRODUCTS = {"be_consumer": ("personal_loan", "energy_invoice", "personal_loan", "telecom_invoice")}
_DAYS_PAST_DUE = (12, 33, 47, 95)


def portfolio(today: date) -> list[dict[str, Any]]:
    """Sixteen delinquent loans: four per pack, from a first missed payment to 95 days past due."""
    rows: list[dict[str, Any]] = []
    for pack, people in _PEOPLE.items():
        currency, product, principal, installment = _TERMS[pack]
        for i, ((name, tz, lang, phone), dpd) in enumerate(zip(people, _DAYS_PAST_DUE, strict=True)):
            missed = dpd // 30 + 1
            first = name.split()[0].lower()
            rows.append(
                {
                    "loan_id": f"DEMO-{pack[:2].upper()}-{i + 1:03d}",
                    "borrower_id": f"DEMO-B-{pack[:2].upper()}-{i + 1:03d}",
                    "borrower_name": name,
                    "email": f"{first}@example.org",
                    "phone": phone,
                    "address": f"{10 + i} Example Street",
                    "timezone": tz,
                    "language": lang,
                    "policy_pack": pack,
                    "product": _PRODUCTS.get(pack, (product,) * 4)[i],
                    "currency": currency,
                    "principal": str(principal),
                    "balance": str((principal * Decimal("0.8")).quantize(Decimal("0.01"))),
                    "arrears": str(installment * missed),
                    "installment": str(installment),
                    "due_day": 1,
                    "next_due_date": (today.replace(day=1) + timedelta(days=32)).replace(day=1).isoformat(),
                    "days_past_due": dpd,
                    "as_of": today.isoformat(),
                    "team": "collections-" + pack.split("_")[0],
                }
            )
    return rows


async def is_empty(db: Database) -> bool:
    """True when no loan has been taken in yet."""
    async with db.session() as session:
        count = (await session.exec(select(func.count()).select_from(Loan))).one()
    return int(count) == 0


async def load(intake: IntakeService, today: date) -> IntakeResult:
    """Take the demo portfolio in through the ordinary intake path."""
    return await intake.ingest(enumerate(portfolio(today), start=1), source="demo")
