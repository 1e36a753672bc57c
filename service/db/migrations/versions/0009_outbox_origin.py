"""outbox origin: who queued each message (planner, reminder, escalation, staff-reply, fallback)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-20 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Rows queued before this revision name their origin by their key's format only (the rule of
# service.domain.origin.origin_of_key, as it stands at this revision): "s<id>:" and "p<id>:" the
# planner, "c<id>:" a check-in reminder, "e<id>:" an escalation page, "staffreply:" a staff
# answer, "fallback:" a fallback; any other key was queued by hand.
_DIGIT = "substr(dedupe_key, 2, 1) IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"
BACKFILL = f"""
UPDATE outbox SET origin = CASE
    WHEN substr(dedupe_key, 1, 9) = 'fallback:' THEN 'fallback'
    WHEN substr(dedupe_key, 1, 11) = 'staffreply:' THEN 'staff-reply'
    WHEN substr(dedupe_key, 1, 1) IN ('s', 'p') AND {_DIGIT} THEN 'planner'
    WHEN substr(dedupe_key, 1, 1) = 'c' AND {_DIGIT} THEN 'reminder'
    WHEN substr(dedupe_key, 1, 1) = 'e' AND {_DIGIT} THEN 'escalation'
    ELSE 'manual'
END
"""


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(16), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("origin", existing_type=sa.String(16), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("origin")
