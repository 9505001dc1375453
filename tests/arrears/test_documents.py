"""PDF rendering leaves the log alone: the system has every library WeasyPrint asks for."""

from __future__ import annotations

import subprocess
import sys

RENDER = """
import logging
logging.basicConfig(level=logging.INFO)
from arrears import documents
for n in range(3):
    documents.html_to_pdf("<p>Dear borrower, \u20ac 1.500,00</p>", identifier=f"probe-{n}")
print("rendered")
"""


def test_rendering_pdfs_writes_no_library_warning() -> None:
    """`make run` renders letters all day: a library warning per letter would bury the log."""
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", RENDER], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "rendered", done.stderr
    assert "harfbuzz" not in done.stderr.lower() and "warning" not in done.stderr.lower(), done.stderr
