"""CSV that is safe to open in a spreadsheet: no cell runs as a formula (OWASP, CSV injection).

Every CSV the system writes (the audit export, every report) goes through `writer`, whose rows
pass through `cell`. A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
gets a leading single quote, which spreadsheets show as text and do not evaluate.

A plain number is left alone, negative ones included: `-12.50` is a figure, not a formula (a
spreadsheet reads it as a number, and a report's negative amounts must stay summable). OWASP's
strictest advice quotes those too; here only cells that are not a plain decimal number are.
Carriage returns inside cells are quoted as well, so a cell cannot end a row early.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def cell(value: object) -> object:
    """The value as a spreadsheet may safely see it: formula-like text behind a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """A CSV writer on a text stream whose every cell passes through `cell`."""

    def __init__(self, out: Any) -> None:
        # CRLF as RFC 4180 has it; with `\r` in the line terminator, a cell holding one is quoted
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell(value) for value in row])


def writer(out: Any) -> SafeWriter:
    """A formula-safe CSV writer on a text stream."""
    return SafeWriter(out)
