"""docs/kpis.md carries every KPI's definition as the dashboard shows it, with its version."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.analytics.definitions import DEFINITIONS, KpiName, definition

DOC = (Path(__file__).resolve().parents[2] / "docs" / "kpis.md").read_text()


@pytest.mark.parametrize("name", list(KpiName))
def test_every_kpi_is_written_down_with_its_version(name: KpiName) -> None:
    d = DEFINITIONS[name]
    assert f"### `{d.name.value}` (version {d.version}): {d.title}" in DOC
    assert d.definition in DOC


def test_an_unknown_kpi_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown KPI 'roll_rate'; known: flow_count, flow_balance"):
        definition("roll_rate")
