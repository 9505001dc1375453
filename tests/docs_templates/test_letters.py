"""Every letter template in every language: a snapshot, strictness, and the facts in the PDF."""

from __future__ import annotations

import io
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError
from pypdf import PdfReader

from activities.messages import access
from arrears import documents
from arrears.borrower_links import Links
from models.enums import PolicyPack
from policies import get_pack

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("ARREARS_UPDATE_SNAPSHOTS") == "1"
TEMPLATES = sorted(
    p.relative_to(documents.TEMPLATE_ROOT / "letters")
    for p in (documents.TEMPLATE_ROOT / "letters").glob("*/*/*.html.j2")
)
PACK_OF_FOLDER = {"common": "us_mortgage", "us_mortgage": "us_mortgage", "nl_consumer": "nl_consumer"}
COUNTRY = {"us_mortgage": "US", "nl_consumer": "NL", "se_consumer": "SE", "be_consumer": "BE"}
# What the workflow sends, per pack (the documents its steps name).
SENT_BY_PACK = {
    "us_mortgage": {
        "reminder", "reminder_direct_debit", "late_notice", "validation_notice",
        "early_intervention_notice", "loss_mitigation_acknowledgment", "evaluation_decision",
        "forbearance_agreement", "proof_of_claim_cover", "foreclosure_referral_notice",
        "payment_change_notice",
    },
    "nl_consumer": {
        "reminder", "reminder_direct_debit", "veertiendagenbrief", "loss_mitigation_acknowledgment",
        "evaluation_decision", "forbearance_agreement", "enforcement_notice",
    },
    "se_consumer": {
        "reminder", "reminder_direct_debit", "inkassokrav", "loss_mitigation_acknowledgment",
        "evaluation_decision", "forbearance_agreement", "enforcement_notice",
    },
    "be_consumer": {
        "reminder", "reminder_direct_debit", "eerste_herinnering", "ingebrekestelling",
        "loss_mitigation_acknowledgment", "evaluation_decision", "forbearance_agreement",
        "enforcement_notice",
    },
}  # fmt: skip


# the borrower's link, code and QR code every letter carries, under a fixed key
LINKS = Links(
    key=b"letter-snapshots".ljust(32, b"-"), base_url="https://servicer.example", lifetime=timedelta(30)
)
ACCESS = access(
    LINKS,
    case_id=uuid.UUID("3f2a9c1b-5d2e-4c1a-9b7e-0c4d2a1f9e01"),
    key="case:reminder.1:0",
    at=datetime(2026, 11, 23, 9, tzinfo=UTC),
)


def context(**facts: str) -> dict[str, Any]:
    """A fixed case, so that snapshots only change when a template does."""
    return {
        "servicer": {"name": "Example Servicing", "address": "1 Servicing Plaza"},
        "borrower": {"name": "Jan <Jansen> & Co", "address": "Damrak 1, Amsterdam"},
        "loan": {"number": "L-000123", "currency": "EUR"},
        "case": {
            "reference": "3F2A9C1B",
            "arrears": "1234.50",
            "fees": "40.00",
            "total_due": "1274.50",
            "days_past_due": 47,
            "delinquent_since": date(2026, 10, 7),
        },
        "step": {"key": "s", "amount": "185.18", "deadline": date(2026, 12, 9)},
        "facts": {
            "received_on": "2026-11-20",
            "complete": "yes",
            "decide_by": "2026-12-20",
            "review": "evaluation",
            "decision": "deny",
            "plan_kind": "",
            "months": "6",
            "plan_amount": "",
            "reasons": "income does not support a modification; investor restriction",
            "appeal_until": "2026-12-07",
            "accept_by": "2026-12-07",
            "kind": "reduced",
            "ends_on": "2027-05-23",
            "court_case": "26-10442",
            "chapter": "13",
            "filed_on": "2026-11-02",
            "effective_on": "2027-01-01",
        }
        | facts,
        "issued_on": date(2026, 11, 23),
        "issued_at": "2026-11-23T09:00:00Z",
        "access": ACCESS,
        # what the render activity reads from the records for the Reg F validation notice
        "validation": {
            "itemization_date": date(2026, 11, 20),
            "amount_on_itemization_date": "150000.00",
            "interest": "312.40",
            "fees": "40.00",
            "payments_and_credits": "1500.00",
            "current_amount": "148852.40",
            "creditor_on_itemization_date": "Example Bank",
            "creditor": "Example Bank",
            "end_date": date(2027, 1, 4),
            "cfpb_website": "www.cfpb.gov/debt-collection",
        },
    }


def _render(template: Path, **facts: str) -> str:
    folder, language, name = template.parts[0], template.parts[1], template.name.removesuffix(".html.j2")
    pack = folder if folder != "common" else "us_mortgage" if language == "es" else "nl_consumer"
    _, html = documents.render_html(
        pack=pack, country=COUNTRY[pack], language=language, document=name, context=context(**facts)
    )
    return html


@pytest.mark.parametrize("template", TEMPLATES, ids=[str(t) for t in TEMPLATES])
def test_snapshot(template: Path) -> None:
    html = _render(template)
    snapshot = SNAPSHOTS / template.with_suffix("").with_suffix(".html")
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(html)
    assert snapshot.exists(), f"no snapshot for {template}: run with ARREARS_UPDATE_SNAPSHOTS=1 and review it"
    assert html == snapshot.read_text(), f"{template} changed: review, then ARREARS_UPDATE_SNAPSHOTS=1"
    # autoescape: the borrower's name is text, never markup
    assert "Jan &lt;Jansen&gt; &amp; Co" in html


# Filed with a court, in English only, whatever the borrower reads.
COURT_FILINGS = {"proof_of_claim_cover"}


@pytest.mark.parametrize("pack", sorted(SENT_BY_PACK))
def test_every_document_a_pack_sends_exists_in_its_languages(pack: str) -> None:
    languages = get_pack(PolicyPack(pack)).languages
    missing = [
        f"{doc}/{lang}"
        for doc in sorted(SENT_BY_PACK[pack] - COURT_FILINGS)
        for lang in languages
        if lang not in documents.available_languages(pack, doc)
    ]
    assert not missing, f"{pack} has no template for {missing}"


def test_a_missing_value_raises_instead_of_printing_a_blank() -> None:
    ctx = context()
    del ctx["step"]["deadline"]
    with pytest.raises(UndefinedError, match="deadline"):  # not an empty "pay by" line
        documents.render_html(
            pack="nl_consumer", country="NL", language="nl", document="veertiendagenbrief", context=ctx
        )


def test_templates_run_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "letters" / "common" / "en").mkdir(parents=True)
    (tmp_path / "letters" / "base.html.j2").write_text("{% block body %}{% endblock %}")
    (tmp_path / "letters" / "common" / "en" / "evil.html.j2").write_text(
        "{{ borrower.__class__.__mro__[1].__subclasses__() }}"
    )
    with pytest.raises(SecurityError):
        documents.render_html(
            pack="us_mortgage", country="US", language="en", document="evil", context=context(), root=tmp_path
        )


def _pdf_text(pdf: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_veertiendagenbrief_pdf_states_the_costs_and_the_last_day() -> None:
    rendered = documents.render(
        pack="nl_consumer",
        country="NL",
        language="nl",
        document="veertiendagenbrief",
        context=context(),
        identifier=str(uuid.uuid4()),
    )
    text = _pdf_text(rendered.pdf)
    assert "€ 1.274,50" in text  # the sum due, Dutch format
    assert "€ 185,18" in text  # the WIK costs that will follow
    assert "9 december 2026" in text  # the last day of the 14 days
    assert "binnen 14 dagen" in text


def test_inkassokrav_pdf_states_the_fee_and_the_last_day() -> None:
    ctx = context()
    ctx["loan"]["currency"] = "SEK"
    ctx["step"]["amount"] = "180.00"
    rendered = documents.render(
        pack="se_consumer", country="SE", language="sv", document="inkassokrav", context=ctx, identifier="x"
    )
    text = _pdf_text(rendered.pdf)
    assert "180,00 kr" in text
    assert "1 274,50 kr" in text
    assert "9 december 2026" in text


def _us_pdf_text(document: str, ctx: dict[str, Any]) -> str:
    ctx["loan"]["currency"] = "USD"
    rendered = documents.render(
        pack="us_mortgage", country="US", language="en", document=document, context=ctx, identifier=document
    )
    return _pdf_text(rendered.pdf)


def test_us_notices_state_deadlines_and_amounts_in_us_format() -> None:
    text = _us_pdf_text("validation_notice", context())
    assert "$148,852.40" in text and "January 4, 2027" in text
    text = _us_pdf_text("evaluation_decision", context())
    assert "December 7, 2026" in text and "investor restriction" in text


def test_rendering_is_deterministic_and_versioned() -> None:
    args: dict[str, Any] = {
        "pack": "nl_consumer",
        "country": "NL",
        "language": "en",
        "document": "veertiendagenbrief",
        "context": context(),
        "identifier": "key-1",
    }
    first, second = documents.render(**args), documents.render(**args)
    assert first.html == second.html and first.html_sha256 == second.html_sha256
    assert first.pdf.startswith(b"%PDF-") and len(first.sha256) == 64
    assert first.template == "letters/nl_consumer/en/veertiendagenbrief.html.j2"
    assert len(first.template_version) == 16
    assert first.template_version == documents.template_version(first.template)


def test_approval_letter_states_the_last_day_to_accept() -> None:
    ctx = context(decision="approve", plan_kind="trial", plan_amount="900.00", accept_by="2026-11-30")
    text = _us_pdf_text("evaluation_decision", ctx)
    assert "approved" in text and "$900.00" in text and "November 30, 2026" in text


def _be_pdf_text(document: str, language: str, **facts: str) -> str:
    rendered = documents.render(
        pack="be_consumer",
        country="BE",
        language=language,
        document=document,
        context=context(**facts),
        identifier=document,
    )
    return " ".join(_pdf_text(rendered.pdf).split())


def test_belgian_first_reminder_states_the_damages_and_the_last_day_in_both_languages() -> None:
    text = _be_pdf_text("eerste_herinnering", "nl")
    assert "€ 1.274,50" in text and "€ 185,18" in text and "9 december 2026" in text
    assert "kosteloos" in text and "XIX.4" in text
    text = _be_pdf_text("eerste_herinnering", "fr")
    assert "1 274,50 €" in text and "185,18 €" in text and "9 décembre 2026" in text
    assert "gratuit" in text and "14 jours calendrier" in text


def test_belgian_formal_notice_recalls_the_vii105_terms() -> None:
    text = _be_pdf_text("ingebrekestelling", "nl")
    assert "VII.105" in text and "twee termijnbedragen" in text and "20 %" in text and "één maand" in text
    text = _be_pdf_text("ingebrekestelling", "fr")
    assert "VII.105" in text and "deux échéances" in text and "un mois" in text and "9 décembre 2026" in text


def test_belgian_enforcement_notice_says_whether_the_debt_was_called() -> None:
    assert "Déchéance du terme" in _be_pdf_text("enforcement_notice", "fr", accelerated="yes")
    assert "uniquement les échéances" in _be_pdf_text("enforcement_notice", "fr", accelerated="no")
    assert "eerste herinnering" in _be_pdf_text("enforcement_notice", "nl")


def test_spanish_us_letters_state_money_and_dates_the_spanish_way() -> None:
    ctx = context()
    ctx["loan"]["currency"] = "USD"
    rendered = documents.render(
        pack="us_mortgage", country="US", language="es", document="late_notice", context=ctx, identifier="es"
    )
    text = " ".join(_pdf_text(rendered.pdf).split())
    assert rendered.template == "letters/us_mortgage/es/late_notice.html.j2"
    assert "Aviso de pago atrasado" in text and "$1,274.50" in text and "7 de octubre de 2026" in text
    sms = documents.render_text(
        language="es",
        name="message",
        context={
            "servicer": ctx["servicer"],
            "loan": {"number": "L-000123", "currency": "USD"},
            "case": {"total_due": "1274.50", "reference": "3F2A9C1B"},
            "country": "US",
        },
    )
    assert sms.startswith("Example Servicing: su préstamo L-000123 tiene $1,274.50 atrasados")


def test_a_court_filing_stays_english_for_a_spanish_reader() -> None:
    assert documents.available_languages("us_mortgage", "proof_of_claim_cover") == ["en"]


def test_a_template_version_covers_the_parts_it_includes() -> None:
    parts = documents._parts("letters/us_mortgage/es/validation_notice.html.j2", documents.TEMPLATE_ROOT)
    assert parts == [
        "letters/us_mortgage/es/validation_notice.html.j2",
        "letters/base.html.j2",
        "letters/forms/validation_notice_style.html.j2",
        "letters/forms/validation_notice_es.html.j2",
        "letters/forms/validation_notice_en.html.j2",
    ]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_resumed_notice_after_a_discharge_says_so(language: str) -> None:
    """12 CFR 1024.39(c)(2): after a discharge the notice resumes without a request for payment,
    and tells the borrower their liability was discharged, not that they are a debtor."""
    template = Path("us_mortgage") / language / "early_intervention_notice_bankruptcy.html.j2"
    debtor, discharged = _render(template), _render(template, discharged="yes")
    assert "1024.39(b), (c)(1)(iii)" in debtor and "1024.39(b), (c)(2)" in discharged
    said = {"en": "was discharged in bankruptcy", "es": "fue liberada (discharge) en la quiebra"}[language]
    assert said in discharged and said not in debtor
