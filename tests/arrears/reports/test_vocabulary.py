"""The reports read the audit trail through the shared vocabulary, never through literals."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from models.audit_actions import AuditAction
from models.enums import CaseOutcome, CaseStage

REPORTS = Path(__file__).resolve().parents[3] / "arrears" / "reports"
NAMES = {*AuditAction, *CaseStage, *CaseOutcome}
PAYLOAD_FIELDS = {
    "stage",
    "chapter",
    "outcome",
    "arrears_after",
    "delinquent_since",
    "task",
    "key",
}  # JSON keys read


def _strings(path: Path) -> list[str]:
    """Every string constant in a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_report_sql_names_actions_stages_and_outcomes_only_through_bound_enum_values() -> None:
    modules = sorted(REPORTS.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        for string in _strings(module):
            assert string not in NAMES, f"{module.name}: {string!r} is a literal, use the enum"
            for literal in re.findall(r"'([^']*)'", string) if "SELECT" in string else []:
                assert literal in PAYLOAD_FIELDS, (
                    f"{module.name}: SQL literal {literal!r}; bind the enum value"
                )
