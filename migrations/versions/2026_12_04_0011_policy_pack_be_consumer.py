"""loans, cases: the Belgian pack `be_consumer` among the policy packs

The pack is stored as its value in VARCHAR columns with a CHECK constraint (`ck_<table>_policypack`,
models.base.enum_field); these are the only two tables that carry one (reports keep the pack as
free text). The downgrade narrows the constraints again, which PostgreSQL refuses while a Belgian
loan or case exists: remove those first.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("loans", "cases")
BEFORE = ("us_mortgage", "nl_consumer", "se_consumer")
AFTER = (*BEFORE, "be_consumer")


def _check(values: Sequence[str]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    for table in TABLES:
        op.drop_constraint(op.f(f"ck_{table}_policypack"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_policypack"), table, f"policy_pack IN ({listed})")


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    _check(BEFORE)
