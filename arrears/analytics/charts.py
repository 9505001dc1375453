"""The KPI charts, rendered on the server as SVG (Vega-Lite through Altair and vl-convert), so the
workbench's dashboard and the KPI report's PDF show the same picture.

Each chart is built from the analytics' typed results into a `Chart`: its Vega-Lite spec, a text
alternative, and the table of the numbers it draws (the dashboard's CSV and the page's table).
Texts go through the caller's `gettext`; numbers are drawn in the reader's locale. Colours are
colour-blind safe: one hue, light to dark, for the heat map; the Okabe-Ito palette with a dash and
a point shape of its own per line, so no series is told apart by colour alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from babel.numbers import format_percent
from markupsafe import Markup

from arrears.analytics import chart_specs as specs
from arrears.analytics.types import FlowMatrix, Funnel, FunnelStage, KpiSeries

Translate = Callable[[str], str]
Value = str | int | Decimal | None
Kind = Literal["text", "count", "money", "ratio", "days", "month"]
Measure = Literal["count", "balance"]

RATIO = Decimal("0.0001")
LOCALES = {"en": "en_US", "nl": "nl_NL", "sv": "sv_SE"}  # as the workbench reads each language


def N_(text: str) -> str:
    """Mark a text for the workbench's catalogs; the caller's gettext translates it."""
    return text


def _same(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a chart's numbers: its name in the CSV, its heading, and what it holds."""

    name: str
    label: str
    kind: Kind = "text"


@dataclass(frozen=True, slots=True)
class Count:
    """A count by name (a stage's open cases), with the label a reader sees."""

    name: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: what it shows, how it reads without sight, and the numbers behind it."""

    key: str
    title: str
    description: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    spec: dict[str, Any] = field(repr=False)
    definitions: tuple[str, ...] = ()

    def svg(self, *, language: str = "en") -> Markup:
        """The chart as an accessible inline SVG: role=img, named by its title and text
        alternative (the numbers themselves are in the table beside it)."""
        drawn = specs.svg(json.dumps(self.spec, sort_keys=True), specs.FORMAT_LOCALES.get(language, "en-US"))
        opening = Markup('<svg role="img" aria-label="{}" focusable="false" ').format(
            f"{self.title}. {self.description}"
        )
        return opening + Markup(drawn.removeprefix("<svg "))  # noqa: S704 (vl-convert's own SVG, text escaped by it)


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole to four places; None when there is nothing to divide."""
    return (Decimal(part) / Decimal(whole)).quantize(RATIO) if whole else None


def rounded(value: Decimal | None) -> Decimal | None:
    """A KPI's value to four places, as its numbers are shown and exported."""
    return None if value is None else value.quantize(RATIO)


def percent(value: Decimal | None, language: str = "en") -> str:
    """A share as a percentage with one decimal in the reader's language (text alternatives)."""
    if value is None:
        return "\u2013"
    return format_percent(value, "#,##0.0%", locale=LOCALES.get(language, "en_US"))


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _no_figures(gettext: Translate) -> str:
    return gettext(N_("No figures for these filters."))


# ---------------------------------------------------------------------------- the flow matrix
def flow_matrix(
    matrix: FlowMatrix | None,
    *,
    origins: Sequence[str],
    destinations: Sequence[str],
    measure: Measure = "count",
    gettext: Translate = _same,
    names: Mapping[str, str] | None = None,
    language: str = "en",
) -> Chart:
    """One month's roll-rate matrix as a heat map: a row per bucket at the previous month's end,
    a column per bucket (or exit) at this month's end, each cell its share of the row."""
    _ = gettext
    said = dict(names or {})
    by_balance = measure == "balance"
    values: list[dict[str, Any]] = []
    rows: list[tuple[Value, ...]] = []
    worst: tuple[str, str, Decimal] | None = None
    for origin in origins:
        for destination in destinations:
            loans = matrix.loans(origin, destination) if matrix else 0  # type: ignore[arg-type]
            balance = matrix.balance(origin, destination) if matrix else Decimal(0)  # type: ignore[arg-type]
            whole = (matrix.row_balance(origin) if by_balance else matrix.row_loans(origin)) if matrix else 0  # type: ignore[arg-type]
            share = ratio(balance if by_balance else loans, whole)
            values.append(
                {
                    "from": said.get(origin, origin),
                    "to": said.get(destination, destination),
                    "share": float(share) if share is not None else None,
                }
            )
            rows.append((origin, destination, loans, balance.quantize(Decimal("0.01")), share))
            worse = destination in origins and origins.index(destination) > origins.index(origin)
            if worse and share is not None and (worst is None or share > worst[2]):
                worst = (origin, destination, share)
    title = _(N_("Flow matrix by number of loans")) if not by_balance else _(N_("Flow matrix by balance"))
    if matrix is not None:
        title = _(N_("%(title)s, %(month)s")) % {"title": title, "month": _month(matrix.period)}
    spec = specs.heat_map(
        values=values,
        origins=[said.get(o, o) for o in origins],
        destinations=[said.get(d, d) for d in destinations],
        texts=[
            _(N_("Bucket at the end of the month")),
            _(N_("Bucket at the end of the previous month")),
            _(N_("Share of the row")),
        ],
    )
    described = _(
        N_(
            "Each row is a bucket at the end of the previous month; each cell the share of its loans "
            "in each bucket at the end of the month."
        )
    )
    if worst is not None:
        described += " " + _(
            N_("Largest roll to a worse bucket: %(origin)s to %(destination)s, %(share)s.")
        ) % {
            "origin": said.get(worst[0], worst[0]),
            "destination": said.get(worst[1], worst[1]),
            "share": percent(worst[2], language),
        }
    elif matrix is None or not matrix.cells:
        described = _no_figures(_)
    return Chart(
        key=f"flow-{measure}",
        title=title,
        description=described,
        columns=(
            Column("from_bucket", _(N_("From bucket"))),
            Column("to_bucket", _(N_("To bucket"))),
            Column("loans", _(N_("Loans")), "count"),
            Column("balance", _(N_("Balance")), "money"),
            Column("share_of_row", _(N_("Share of the row")), "ratio"),
        ),
        rows=tuple(rows),
        spec=spec,
        definitions=("flow_balance",) if by_balance else ("flow_count",),
    )


# ---------------------------------------------------------------------------- rates over time
def trend(
    series: Sequence[tuple[str, KpiSeries]],
    *,
    key: str,
    title: str,
    gettext: Translate = _same,
    language: str = "en",
) -> Chart:
    """Rates over months as lines, one per (label, series), in percent of their base."""
    _ = gettext
    labels = [label for label, _s in series]
    values = [
        {
            "month": point.period.isoformat(),
            "series": label,
            "value": float(point.value) if point.value is not None else None,
        }
        for label, s in series
        for point in s.points
    ]
    spec = specs.lines(values=values, labels=labels, texts=[_(N_("Month")), _(N_("Rate (% of its base)"))])
    rows = tuple(
        (
            s.name.value,
            s.series,
            _month(point.period),
            point.numerator,
            point.denominator,
            rounded(point.value),
            s.version,
        )
        for _label, s in series
        for point in s.points
    )
    latest = [
        _(N_("%(series)s %(value)s in %(month)s"))
        % {
            "series": label,
            "value": percent(s.points[-1].value, language),
            "month": _month(s.points[-1].period),
        }
        for label, s in series
        if s.points
    ]
    return Chart(
        key=key,
        title=title,
        description=(_(N_("Latest month:")) + " " + "; ".join(latest) + ".") if latest else _no_figures(_),
        columns=(
            Column("kpi", _(N_("KPI"))),
            Column("part", _(N_("Part"))),
            Column("month", _(N_("Month")), "month"),
            Column("numerator", _(N_("Numerator")), "count"),
            Column("denominator", _(N_("Denominator")), "count"),
            Column("rate", _(N_("Rate")), "ratio"),
            Column("definition_version", _(N_("Definition version")), "count"),
        ),
        rows=rows,
        spec=spec,
        definitions=tuple(dict.fromkeys(s.name.value for _l, s in series)),
    )


# ---------------------------------------------------------------------------- counts as bars
def funnel(funnels: Sequence[Funnel], *, labels: dict[FunnelStage, str], gettext: Translate = _same) -> Chart:
    """The message funnel over the months: messages at each stage, each bar labelled with its share
    of the messages sent; a stage nothing records is listed as not known, not drawn as zero."""
    _ = gettext
    stages = list(labels)
    totals = {stage: sum(f.count(stage) for f in funnels) for stage in stages}
    known = {stage: any(c.known for f in funnels for c in f.stages if c.stage == stage) for stage in stages}
    sent = totals[stages[0]] if stages else 0
    values = [
        {"label": labels[s], "count": totals[s], "share": float(ratio(totals[s], sent) or 0)}
        for s in stages
        if known[s]
    ]
    title = _(N_("Message funnel"))
    spec = specs.bars(values=values, axis=_(N_("Messages")), text=["share:Q", ".0%"])
    rows = tuple(
        (s.value, totals[s] if known[s] else None, ratio(totals[s], sent) if known[s] else None)
        for s in stages
    )
    described = ", ".join(
        f"{labels[s]} {totals[s]}" if known[s] else f"{labels[s]}: {_(N_('not recorded'))}" for s in stages
    )
    return Chart(
        key="funnel",
        title=title,
        description=(described + ".") if sent else _no_figures(_),
        columns=(
            Column("stage", _(N_("Stage"))),
            Column("messages", _(N_("Messages")), "count"),
            Column("share_of_sent", _(N_("Share of the messages sent")), "ratio"),
        ),
        rows=rows,
        spec=spec,
        definitions=("message_funnel",),
    )


def inventory(counts: Sequence[Count], *, gettext: Translate = _same) -> Chart:
    """Open cases per stage at the end of the range, as bars in the lifecycle's order."""
    _ = gettext
    title = _(N_("Stage inventory"))
    values = [{"label": c.label, "count": c.count} for c in counts]
    spec = specs.bars(values=values, axis=_(N_("Open cases")), text=["count:Q", ",d"])
    total = sum(c.count for c in counts)
    return Chart(
        key="stages",
        title=title,
        description=(", ".join(f"{c.label} {c.count}" for c in counts) + ".") if total else _no_figures(_),
        columns=(Column("stage", _(N_("Stage"))), Column("open_cases", _(N_("Open cases")), "count")),
        rows=tuple((c.name, c.count) for c in counts),
        spec=spec,
        definitions=("stage_inventory",),
    )
