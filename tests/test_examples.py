"""The example files the README points at are valid intake input."""

import json
from pathlib import Path

from arrears.delinquency_rows import RowError, read_file, validate_rows

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_csv_is_valid() -> None:
    rows = list(validate_rows(read_file("x.csv", (EXAMPLES / "delinquencies.csv").read_text())))
    assert len(rows) == 6 and not any(isinstance(r, RowError) for r in rows)


def test_example_batch_is_valid() -> None:
    records = json.loads((EXAMPLES / "batch.json").read_text())["records"]
    rows = list(validate_rows(enumerate(records, start=1)))
    assert len(rows) == 2 and not any(isinstance(r, RowError) for r in rows)
