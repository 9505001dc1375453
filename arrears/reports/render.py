"""Render report figures to CSV, JSON and PDF. Each is a pure function of the figures: the same
figures give the same bytes, so re-running a past period reproduces its files exactly."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from arrears import documents, spreadsheet
from arrears.reports.common import ReportData
from models.enums import ReportFormat

TEMPLATE = "reports/report.html.j2"
MEDIA_TYPES = {
    ReportFormat.CSV: "text/csv",
    ReportFormat.JSON: "application/json",
    ReportFormat.PDF: "application/pdf",
}


@dataclass(frozen=True, slots=True)
class RenderedFile:
    format: ReportFormat
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def as_dict(data: ReportData) -> dict[str, Any]:
    return {
        "report": data.kind.value,
        "title": data.title,
        "period_start": data.period_start.isoformat(),
        "period_end": data.period_end.isoformat(),
        "policy_pack": data.policy_pack,
        "as_of": data.as_of.isoformat(),
        "tables": [
            {"name": t.name, "title": t.title, "columns": t.columns, "rows": t.rows, "note": t.note}
            for t in data.tables
        ],
    }


def to_json(data: ReportData) -> bytes:
    return (json.dumps(as_dict(data), indent=2, ensure_ascii=False) + "\n").encode()


def to_csv(data: ReportData) -> bytes:
    """One CSV: each table under a header row of its own, the first column naming the table.
    No cell runs as a formula in a spreadsheet (see `arrears.spreadsheet`)."""
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    for number, table in enumerate(data.tables):
        if number:
            writer.writerow([])
        writer.writerow(["table", *table.columns])
        for row in table.rows:
            writer.writerow([table.name, *row])
    return out.getvalue().encode()


def to_html(data: ReportData, *, servicer: str) -> str:
    template = documents.environment().get_template(TEMPLATE)
    context = as_dict(data)
    for shown, table in zip(context["tables"], data.tables, strict=True):
        shown["svg"] = table.chart.svg() if table.chart is not None else None
    return template.render(**context, kind=data.kind.value, servicer=servicer)


def to_pdf(data: ReportData, *, servicer: str) -> bytes:
    identifier = f"report:{data.kind.value}:{data.policy_pack}:{data.period_start}:{data.period_end}"
    return documents.html_to_pdf(to_html(data, servicer=servicer), identifier=identifier)


def render_all(data: ReportData, *, servicer: str) -> list[RenderedFile]:
    """The report in every format."""
    return [
        RenderedFile(ReportFormat.CSV, MEDIA_TYPES[ReportFormat.CSV], to_csv(data)),
        RenderedFile(ReportFormat.JSON, MEDIA_TYPES[ReportFormat.JSON], to_json(data)),
        RenderedFile(ReportFormat.PDF, MEDIA_TYPES[ReportFormat.PDF], to_pdf(data, servicer=servicer)),
    ]
