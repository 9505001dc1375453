"""The KPI charts' Vega-Lite specs (built with Altair) and their SVG (drawn by vl-convert), both
cached: the same figures in the same language are specified and drawn once per process."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import altair as alt
import vl_convert

# Okabe & Ito (2008): colours told apart with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3], [10, 2])
SHAPES = ("circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "stroke")
FONT = "DejaVu Sans"
WIDTH = 440
# d3-format locales of the workbench's languages (a decimal comma in Dutch and Swedish)
FORMAT_LOCALES: dict[str, Any] = {"en": "en-US", "nl": "nl-NL", "sv": "sv-SE"}


_INNER_ARIA = re.compile(r' (?:role|aria-[a-z]+)="[^"]*"')


@lru_cache(maxsize=512)
def svg(spec: str, locale: Any) -> str:
    """vl-convert's SVG of a spec, cached: the same figures in the same language are drawn once."""
    drawn = vl_convert.vegalite_to_svg(json.loads(spec), format_locale=locale, allowed_base_urls=[])
    # ids from the spec, not from a per-process counter: two charts on a page never share a clip
    # path, and the report's bytes do not depend on what was drawn before
    digest = hashlib.sha256(spec.encode()).hexdigest()[:8]
    # one picture to assistive technology: the marks' own roles and labels go, the root names it
    drawn = _INNER_ARIA.sub("", drawn)
    return re.sub(r'(id="|url\(#)(clip|gradient|pattern)(\d+)', rf"\g<1>\g<2>{digest}-\g<3>", drawn)


def render_seconds(spec: dict[str, Any], *, language: str = "en") -> float:
    """Time to draw a spec without the cache (for the benchmark's note on chart cost)."""
    began = time.perf_counter()
    vl_convert.vegalite_to_svg(spec, format_locale=FORMAT_LOCALES.get(language, "en-US"))
    return time.perf_counter() - began


_Spec = Callable[..., dict[str, Any]]
_SPECS: OrderedDict[str, dict[str, Any]] = OrderedDict()


def memo(build: _Spec) -> _Spec:
    """Specs cached by what they are built from: Altair builds a spec in tens of milliseconds,
    and a dashboard reloaded with the same filters asks for the same five again."""

    def cached(**inputs: Any) -> dict[str, Any]:
        key = build.__name__ + json.dumps(inputs, sort_keys=True)
        if key in _SPECS:
            _SPECS.move_to_end(key)
            return _SPECS[key]
        spec = _SPECS[key] = build(**inputs)
        if len(_SPECS) > 512:
            _SPECS.popitem(last=False)
        return spec

    return cached


def data(values: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=values)  # type: ignore[no-untyped-call]


def spec_of(chart: alt.TopLevelMixin) -> dict[str, Any]:
    configured = (
        chart.configure(font=FONT, aria=False, background="white")
        .configure_view(stroke=None)
        .configure_axis(
            labelFontSize=11, titleFontSize=12, labelColor="#222", titleColor="#222", gridColor="#ddd"
        )
        .configure_title(fontSize=14, anchor="start", color="#111", subtitleColor="#333", subtitleFontSize=11)
        .configure_legend(labelFontSize=11, titleFontSize=11, labelLimit=220)
    )
    spec: dict[str, Any] = configured.to_dict(validate=False)
    spec.pop("$schema", None)
    return spec


@memo
def heat_map(
    *, values: list[dict[str, Any]], origins: list[str], destinations: list[str], texts: list[str]
) -> dict[str, Any]:
    end, start, share = texts
    base = alt.Chart(data(values)).encode(
        x=alt.X(
            "to:N",
            sort=destinations,
            title=end,
            axis=alt.Axis(labelAngle=0, orient="top"),
        ),
        y=alt.Y("from:N", sort=origins, title=start),
    )
    heat = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "share:Q",
            title=share,
            scale=alt.Scale(range=["#f7fbff", "#08306b"], domain=[0, 1]),
            legend=alt.Legend(format=".0%", orient="right", gradientLength=160),
        )
    )
    text = (
        base.transform_filter("isValid(datum.share)")
        .mark_text(fontSize=10.5)
        .encode(
            text=alt.Text("share:Q", format=".1%"),
            color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#111")),
        )
    )
    chart = (heat + text).properties(width=WIDTH - 100, height=34 * len(origins))
    return spec_of(chart)


@memo
def lines(*, values: list[dict[str, Any]], labels: list[str], texts: list[str]) -> dict[str, Any]:
    month, rate = texts
    legend = alt.Legend(
        orient="bottom", direction="horizontal", columns=3, symbolStrokeWidth=2, symbolSize=90
    )
    chart = (
        alt.Chart(data(values))
        .mark_line(point=alt.OverlayMarkDef(size=40, filled=True), strokeWidth=2)
        .encode(
            x=alt.X(
                "month:T",
                timeUnit="yearmonth",
                title=month,
                axis=alt.Axis(format="%m/%Y", labelAngle=0, labelOverlap=True),
            ),
            y=alt.Y(
                "value:Q",
                title=rate,
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(zero=True),
            ),
            color=alt.Color(
                "series:N",
                title=None,
                sort=labels,
                legend=legend,
                scale=alt.Scale(domain=labels, range=list(OKABE_ITO[: len(labels)])),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                sort=labels,
                legend=legend,
                scale=alt.Scale(domain=labels, range=list(DASHES[: len(labels)])),
            ),
            shape=alt.Shape(
                "series:N",
                title=None,
                sort=labels,
                legend=legend,
                scale=alt.Scale(domain=labels, range=list(SHAPES[: len(labels)])),
            ),
        )
        .properties(width=WIDTH, height=200)
    )
    return spec_of(chart)


@memo
def bars(*, values: list[dict[str, Any]], axis: str, text: list[str]) -> dict[str, Any]:
    field, format = text
    order = [v["label"] for v in values]
    base = alt.Chart(data(values)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=180)),
        x=alt.X("count:Q", title=axis, axis=alt.Axis(format=",d", tickMinStep=1, tickCount=5)),
    )
    drawn = base.mark_bar(color=OKABE_ITO[0], height=18)
    label = base.mark_text(align="left", dx=4, fontSize=11, color="#111").encode(
        text=alt.Text(field, format=format)
    )
    return spec_of((drawn + label).properties(width=WIDTH - 80, height=max(60, 30 * len(values))))
