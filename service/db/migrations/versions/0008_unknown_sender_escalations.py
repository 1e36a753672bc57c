"""escalations without a patient: crisis language from a number no patient has is paged too

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # An escalation about an unknown sender has no patient, and neither have the pages it sends.
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.alter_column("patient_id", existing_type=ID, nullable=True)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("patient_id", existing_type=ID, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("patient_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.alter_column("patient_id", existing_type=ID, nullable=False)
