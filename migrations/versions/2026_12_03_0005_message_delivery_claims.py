"""messages: a delivery claim with a lease, and the `sending` status

A send records its intent and commits, delivers with no transaction open, then records the
outcome. Meanwhile the message is `sending`, claimed by one attempt until a lease runs out, so
that a second attempt of the same activity waits instead of delivering it too.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ("queued", "sent", "refused", "suppressed", "batched", "printed", "failed")
_AFTER = ("queued", "sending", *_BEFORE[1:])


def _status_check(values: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_messages_messagestatus"), "messages", type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(op.f("ck_messages_messagestatus"), "messages", f"status IN ({listed})")


def upgrade() -> None:
    op.add_column("messages", sa.Column("claimed_by", sa.String(length=64), nullable=True))
    op.add_column("messages", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    _status_check(_AFTER)


def downgrade() -> None:
    # a message caught mid-delivery goes back to queued: the next attempt delivers it again
    op.execute("UPDATE messages SET status = 'queued' WHERE status = 'sending'")
    _status_check(_BEFORE)
    op.drop_column("messages", "claimed_until")
    op.drop_column("messages", "claimed_by")
