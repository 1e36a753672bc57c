"""lookup indexes: the inbound webhook finds the sender by phone (or email) on every message

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:00:00.000000
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_patients_phone", "patients", ["phone"], unique=False)
    op.create_index("ix_patients_email", "patients", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patients_email", table_name="patients")
    op.drop_index("ix_patients_phone", table_name="patients")
