"""The Reg F validation notice as the send activity renders it from the records: every element of
Model Form B-1, with the itemization computed from the loan system's reports, payments and the
case's fees; and a Spanish-speaking US borrower's letters in Spanish."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import select

from activities.messages import MessageActivities
from arrears.channels import Channels
from arrears.db import Database
from models.borrowers import Borrower
from models.documents import Document
from models.enums import Channel, PolicyPack
from models.loans import DelinquencySnapshot, Loan
from models.payments import Payment
from policies.validation_notice import validation_period_end
from tests.factories import Portfolio, activity_env
from workflows.dto import SendRequest

SERVICER = {
    "name": "Example Servicing",
    "address": "1 Servicing Plaza, Springfield, IL 62701",
    "creditor": "Example Bank",
}
REPORTED = date(2026, 11, 20)  # the loan system's report the case opens on: the last statement date
NOW = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)


async def _case(db: Database, *, language: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A US mortgage case opened on the 20 November report of a 150,000.00 balance; a later
    report (1 December) of 149,100.00 after a 1,200.00 payment on 25 November (300.00 interest),
    and a second payment of 300.00 on 10 December."""
    key = uuid.uuid4().hex[:10]
    async with db.session() as session:
        borrower = Borrower(
            external_id=f"VB-{key}",
            name="Maria Lopez",
            address="22 Elm Street, Springfield, IL 62704",
            timezone="America/Chicago",
            language=language,
        )
        loan = Loan(
            external_id=f"VL-{key}",
            borrower_id=borrower.id,
            policy_pack=PolicyPack.US_MORTGAGE,
            product="mortgage",
            currency="USD",
            principal=Decimal("180000.00"),
            balance=Decimal("149100.00"),
            arrears=Decimal("1500.00"),
            installment=Decimal("1200.00"),
            due_day=1,
            next_due_date=date(2027, 1, 1),
            days_past_due=50,
        )
        session.add(borrower)
        session.add(loan)
        await session.flush()
        for as_of, balance in (
            (date(2026, 10, 20), "151000.00"),
            (REPORTED, "150000.00"),
            (date(2026, 12, 1), "149100.00"),
        ):
            session.add(
                DelinquencySnapshot(
                    loan_id=loan.id, as_of=as_of, days_past_due=30, arrears=Decimal("1500.00"),
                    balance=Decimal(balance), currency="USD", source="test",
                )
            )  # fmt: skip
        case_id = await Portfolio(session).case(loan.id, opened=datetime(2026, 11, 20, 9, tzinfo=UTC), dpd=30)
        for paid_on, amount in (
            (date(2026, 10, 5), "1200.00"),
            (date(2026, 11, 25), "1200.00"),
            (date(2026, 12, 10), "300.00"),
        ):
            session.add(
                Payment(
                    external_id=f"VP-{key}-{paid_on.isoformat()}", loan_id=loan.id, case_id=case_id,
                    amount=Decimal(amount), currency="USD",
                    received_at=datetime.combine(paid_on, datetime.min.time(), UTC) + timedelta(hours=14),
                )
            )  # fmt: skip
        return case_id, loan.id


def _request(case_id: uuid.UUID, document: str, channel: Channel | None = Channel.LETTER) -> SendRequest:
    return SendRequest(
        case_id=case_id,
        step=f"test.{document}",
        document=document,
        channel=channel,
        arrears=Decimal("1500.00"),
        fees=Decimal("40.00"),  # charged by the case since it opened
        days_past_due=64,
        delinquent_since=date(2026, 10, 21),
    )


async def _send(db: Database, channels: Channels, request: SendRequest) -> Document:
    result = await activity_env(NOW).run(
        MessageActivities(db, channels, servicer=SERVICER).send_document, request
    )
    assert result.status == ("batched" if request.channel else "stored"), result
    async with db.session() as session:
        return (await session.exec(select(Document).where(Document.id == result.document_id))).one()


def _text(html: str) -> str:
    return " ".join(html.replace("&amp;", "&").split())


async def test_the_notice_carries_every_element_of_model_form_b1(db: Database, channels: Channels) -> None:
    case_id, _ = await _case(db, language="en")
    doc = await _send(db, channels, _request(case_id, "validation_notice"))
    assert doc.template == "letters/us_mortgage/en/validation_notice.html.j2" and doc.language == "en"
    end = validation_period_end(NOW.date())
    assert end == date(2027, 2, 4)  # Christmas and New Year's Day not counted (1006.34(b)(5))
    html = _text(doc.html)
    elements = {
        # 1006.34(c)(1): the debt collector communication disclosure
        "disclosure": "<strong>Example Servicing</strong> is a debt collector. We are trying to collect a "
        "debt that you owe to <strong>Example Bank</strong>. We will use any information you give us to help "
        "collect the debt.",
        # (c)(2)(i), (ii): the collector's and the consumer's names and mailing addresses
        "collector": "Example Servicing · 1 Servicing Plaza, Springfield, IL 62701",
        "consumer": "Maria Lopez<br>22 Elm Street, Springfield, IL 62704",
        # (c)(2)(iii), (iv), (v): the creditor on the itemization date, the account number, the creditor now
        "account": "You had a mortgage loan from Example Bank with account number VL-",
        # (c)(2)(vi), (vii): the itemization date (the last statement date) and the debt on it
        "on the date": 'As of November 20, 2026, you owed:</td><td class="num">$150,000.00',
        # (c)(2)(viii): interest (the reported rise, payments added back), fees, payments since then
        "since": "Between November 20, 2026 and today:",
        "interest": 'You were charged this amount in interest:</td><td class="num">+ $300.00',
        "fees": 'You were charged this amount in fees:</td><td class="num">+ $40.00',
        "payments": "You paid or were credited this amount toward the debt:</td>"
        '<td class="num">&#8211; $1,500.00',
        # (c)(2)(ix): 150,000 + 300 + 40 - 1,500 (the October payment is before the itemization date)
        "now": 'Total amount of the debt now:</td><td class="num">$148,840.00',
        # (c)(3)(i)-(iii): the validation period's end in the dispute and original-creditor prompts
        "dispute": "Call or write to us by February 4, 2027, to dispute all or part of the debt.</strong> "
        "If you do not, we will assume that our information is correct.",
        "stop": "If you write to us by February 4, 2027</strong>, we must stop collection on any amount you "
        "dispute",
        "original creditor": "Write to ask for the name and address of the original creditor, if different "
        "from the current creditor.</strong> If you write by February 4, 2027, we must stop collection",
        # (c)(3)(iv): the Bureau's website
        "cfpb": "Go to www.cfpb.gov/debt-collection</strong> to learn more about your rights under federal "
        "law.",
        # (d)(3)(vi): the Spanish-language option, in the notice and in the response form
        "spanish": "Póngase en contacto con nosotros para solicitar una copia de este formulario en español.",
        "spanish box": "Quiero este formulario en español.",
        # (c)(4): the consumer-response section, below the cut line
        "respond": "How do you want to respond?",
        "not mine": "I want to dispute the debt because I think:</strong></p> "
        '<p class="check in"><span class="box"></span>This is not my debt.',
        "amount wrong": "The amount is wrong.",
        "other": "Other (please describe on reverse or attach additional information).",
        "ask": "I want you to send me the name and address of the original creditor.",
        "enclosed": "I enclosed this amount:",
        "mail to": 'Mail this form to:</strong></p> <p class="mail">Example Servicing<br>1 Servicing Plaza, '
        "Springfield, IL 62701",
    }
    missing = [name for name, text in elements.items() if text not in html]
    assert not missing, missing
    assert html.index("How do you want to respond?") > html.index("Contact us about your payment options.")


async def test_a_spanish_speaking_us_borrower_gets_spanish_letters(db: Database, channels: Channels) -> None:
    case_id, _ = await _case(db, language="es")
    late = await _send(db, channels, _request(case_id, "late_notice"))
    assert late.template == "letters/us_mortgage/es/late_notice.html.j2" and late.language == "es"
    assert "Total adeudado" in late.html and "$1,540.00" in late.html
    reminder = await _send(db, channels, _request(case_id, "reminder"))
    assert reminder.template == "letters/common/es/reminder.html.j2"
    assert "21 de octubre de 2026" in reminder.html
    # a court filing stays in English
    filing = {"court_case": "26-10442", "chapter": "13", "filed_on": "2026-12-01"}
    request = _request(case_id, "proof_of_claim_cover", channel=None)
    cover = await _send(
        db, channels, request.model_copy(update={"facts": filing, "deadline": date(2027, 2, 9)})
    )
    assert cover.language == "en"
    notice = _text((await _send(db, channels, _request(case_id, "validation_notice"))).html)
    # the Spanish notice, then the English one in the same letter (12 CFR 1006.34(e))
    spanish = notice.index("</strong> es un cobrador de deudas.")
    english = notice.index("</strong> is a debt collector.")
    assert spanish < english
    assert 'Al 20 de noviembre de 2026, usted debía:</td><td class="num">$150,000.00' in notice
    assert 'Cantidad total de la deuda ahora:</td><td class="num">$148,840.00' in notice
    assert "a más tardar el 4 de febrero de 2027" in notice and "by February 4, 2027" in notice
    assert "¿Cómo desea responder?" in notice


async def test_the_letter_and_its_audit_record_state_one_period_end(db: Database, channels: Channels) -> None:
    """The end date is computed once, from the day the send was first tried: a retry on a later
    day renders the letter with it, and the step's audit record carries the same date, not the
    estimate the workflow counted from the day the case opened."""
    from models.audit import AuditEvent
    from workflows.dto import ActionRecord

    case_id, _ = await _case(db, language="en")
    opened = date(2026, 11, 20)
    estimate = validation_period_end(opened)
    draft = ActionRecord(
        key="test.validation_notice",
        kind="message",
        status="done",
        rule_id="us_mortgage.reg_f.validation_notice",
        citation="12 CFR 1006.34(a)(1)",
        at=NOW,
        due=estimate,
        document="validation_notice",
        detail=f"the borrower may dispute until {estimate.isoformat()}",
    )
    request = _request(case_id, "validation_notice").model_copy(
        update={"deadline": estimate, "record": draft}
    )
    retried = NOW + timedelta(days=1)  # the first attempt failed; the retry runs the next day
    result = await activity_env(retried, first=NOW).run(
        MessageActivities(db, channels, servicer=SERVICER).send_document, request
    )
    end = validation_period_end(NOW.date())
    assert end == date(2027, 2, 4) and end != estimate
    async with db.session() as session:
        doc = (await session.exec(select(Document).where(Document.id == result.document_id))).one()
        events = (await session.exec(select(AuditEvent).where(AuditEvent.case_id == case_id))).all()
    assert "If you write to us by February 4, 2027" in _text(doc.html)
    assert result.record is not None and result.record.due == end
    assert f"dispute until {end.isoformat()}" in result.record.detail
    step = [e for e in events if (e.payload or {}).get("key") == "test.validation_notice"]
    assert len(step) == 1 and step[0].payload["due"] == end.isoformat()
    assert estimate.isoformat() not in step[0].reason
