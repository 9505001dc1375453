"""Intake on the real dev server and PostgreSQL: validation, idempotency, workflows started."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from temporalio.client import Client

from arrears.db import Database
from arrears.delinquency_rows import read_file
from arrears.intake import IntakeService
from models.audit import AuditEvent
from models.borrowers import Borrower
from models.cases import Case
from models.enums import CaseStage
from models.loans import DelinquencySnapshot, Loan
from tests.factories import delinquency


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def _count(db: Database, model: Any, *where: Any) -> int:
    async with db.session() as session:
        return int((await session.exec(select(func.count()).select_from(model).where(*where))).one())


async def test_csv_with_a_bad_row_keeps_the_good_rows_and_names_the_bad_one(
    intake: IntakeService, db: Database, dev_client: Client
) -> None:
    good_a, bad, good_b = delinquency(), delinquency(currency="EUR"), delinquency("se_consumer")
    result = await intake.ingest(read_file("batch.csv", _csv([good_a, bad, good_b])), source="import")

    assert (result.received, result.accepted, result.opened) == (3, 2, 2)
    assert [(e.row, e.field) for e in result.errors] == [(3, "currency")]  # line 3: header is line 1
    assert "USD" in result.errors[0].reason
    # the bad row left nothing behind: no borrower, no loan
    assert await _count(db, Borrower, Borrower.external_id == bad["borrower_id"]) == 0
    assert await _count(db, Loan, Loan.external_id == bad["loan_id"]) == 0
    for row in (good_a, good_b):
        handle = dev_client.get_workflow_handle(f"loan-{row['loan_id']}")
        assert (await handle.describe()).status is not None


async def test_importing_the_same_file_twice_opens_nothing_twice(
    intake: IntakeService, db: Database, dev_client: Client
) -> None:
    rows = [delinquency(), delinquency("nl_consumer", language="nl"), delinquency("se_consumer")]
    content = "\n".join(json.dumps(r) for r in rows)

    first = await intake.ingest(read_file("a.jsonl", content), source="import")
    second = await intake.ingest(read_file("a.jsonl", content), source="import")

    assert (first.opened, first.unchanged) == (3, 0)
    assert (second.opened, second.unchanged, second.errors) == (0, 3, [])
    loan_ids = [r["loan_id"] for r in rows]
    async with db.session() as session:
        cases = (
            await session.exec(
                select(Case)
                .join(Loan, col(Loan.id) == col(Case.loan_id))
                .where(col(Loan.external_id).in_(loan_ids))
            )
        ).all()
        opened_events = (
            await session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "case.opened",
                    col(AuditEvent.case_id).in_([c.id for c in cases]),
                )
            )
        ).one()
    assert len(cases) == 3 and opened_events == 3
    assert all(c.run_id and c.stage == CaseStage.EARLY for c in cases)
    for loan_id in loan_ids:
        runs = [w async for w in dev_client.list_workflows(f"WorkflowId = 'loan-{loan_id}'")]
        assert len(runs) == 1


async def test_a_new_report_for_an_open_case_updates_the_loan_but_opens_no_case(
    intake: IntakeService, db: Database
) -> None:
    row = delinquency(days_past_due=20)
    await intake.ingest([(1, row)], source="api")
    later = {**row, "as_of": "2026-11-12", "days_past_due": 30, "arrears": "3000.00"}
    result = await intake.ingest([(1, later)], source="api")
    assert (result.accepted, result.opened) == (1, 0)
    async with db.session() as session:
        loan = (await session.exec(select(Loan).where(Loan.external_id == row["loan_id"]))).one()
    assert (loan.days_past_due, str(loan.arrears)) == (30, "3000.00")
    assert await _count(db, DelinquencySnapshot, DelinquencySnapshot.loan_id == loan.id) == 2
    assert await _count(db, Case, Case.loan_id == loan.id) == 1


async def test_a_current_loan_opens_no_case(intake: IntakeService, db: Database) -> None:
    row = delinquency(days_past_due=0, arrears="0.00")
    result = await intake.ingest([(1, row)], source="api")
    assert (result.accepted, result.opened, result.errors) == (1, 0, [])
    assert await _count(db, Loan, Loan.external_id == row["loan_id"]) == 1


async def test_each_kind_of_bad_row_gets_its_field_and_reason(intake: IntakeService) -> None:
    bad_rows: list[tuple[dict[str, Any], str, str]] = [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown IANA time zone"),
        ({"arrears": "-5"}, "arrears", "greater than or equal to 0"),
        ({"arrears": "999999.00"}, "arrears", "larger than the balance"),
        ({"policy_pack": "fr_consumer"}, "policy_pack", "us_mortgage"),
        ({"due_day": 31}, "due_day", "less than or equal to 28"),
        ({"next_due_date": "soon"}, "next_due_date", "date"),
        ({"loan_id": ""}, "loan_id", "at least 1 character"),
        ({"language": "fr"}, "language", "en, es"),
        ({"principal": "12.345"}, "principal", "decimal places"),
        ({"surprise": "x"}, "surprise", "Extra inputs"),
    ]
    rows = [(i, delinquency(**patch)) for i, (patch, _, _) in enumerate(bad_rows, start=1)]
    result = await intake.ingest(rows, source="api")
    assert result.accepted == 0
    got = {e.row: (e.field, e.reason) for e in result.errors}
    for i, (_, field, fragment) in enumerate(bad_rows, start=1):
        assert got[i][0] == field, (i, got[i])
        assert fragment in got[i][1], (i, got[i])


def test_file_reader_numbers_rows_like_a_person_and_flags_bad_json() -> None:
    rows = list(read_file("x.jsonl", '{"a": 1}\n\nnot json\n'))
    assert rows[0] == (1, {"a": 1})
    assert rows[1][0] == 3 and rows[1][1].field == "(row)" and "JSON" in rows[1][1].reason
    csv_rows = list(read_file("x.csv", "a,b\n1,2\n3,4,5\n"))
    assert csv_rows[0] == (2, {"a": "1", "b": "2"})
    assert csv_rows[1][0] == 3 and "more values" in csv_rows[1][1].reason


def test_control_characters_are_refused_with_the_field() -> None:
    from arrears.delinquency_rows import RowError, validate_rows
    from tests.factories import delinquency

    results = list(
        validate_rows(enumerate([delinquency(borrower_name="Ann\x00Smith"), delinquency()], start=1))
    )
    errors = [r for r in results if isinstance(r, RowError)]
    assert len(results) == 2 and [(e.row, e.field) for e in errors] == [(1, "borrower_name")]
    assert "control characters" in errors[0].reason


async def test_json_lines_split_on_newlines_only(intake: IntakeService, db: Database) -> None:
    """A name holding a line or paragraph separator (which JSON may carry unescaped) is one row, as
    is a CRLF file's line; rows are counted by their newlines."""
    names = ["Ann\u2028Lee", "Bo\u2029Berg"]
    rows = [delinquency(borrower_name=name) for name in names]
    content = "\r\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\r\n"
    content += "\n" + "not json\x0b\x85\x1c\x1d\x1e still one line\x0c\n"
    read = list(read_file("names.jsonl", content))
    assert [number for number, _ in read] == [1, 2, 4]
    assert [row["borrower_name"] for _, row in read[:2]] == names
    assert read[2][1].field == "(row)" and "JSON" in read[2][1].reason
    result = await intake.ingest(iter(read[:2]), source="import")
    assert result.accepted == 2 and result.errors == []
    async with db.session() as session:
        stored = (
            await session.exec(
                select(Borrower.name).where(col(Borrower.external_id).in_([r["borrower_id"] for r in rows]))
            )
        ).all()
    assert sorted(stored) == sorted(names)
