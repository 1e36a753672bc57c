"""patients.preferred_channel: how education messages reach the patient (sms, email or both)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-27 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# NULL means the default rule (service.domain.channels.preferred_channels): every patient enrolled
# before this revision keeps NULL and gets it, so nothing needs filling.


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_channel", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("preferred_channel")
