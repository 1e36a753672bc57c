"""measures: questionnaire responses (PHQ-9, GAD-7, PCL-5) per patient, instrument and link

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # One questionnaire sent by a measure step, per patient and link (the SMS and the email of a
    # step share it): the items answered so far, and the score, band and flags once complete.
    op.create_table(
        "measure_responses",
        sa.Column("id", Id, nullable=False),
        sa.Column("patient_id", Id, nullable=False),
        sa.Column("session_id", Id, nullable=True),
        sa.Column("outbox_id", Id, nullable=False),
        sa.Column("instrument", sa.String(length=8), nullable=False),
        sa.Column("link_key", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("band", sa.String(length=32), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("escalation_id", Id, nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_measure_responses_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_measure_responses_session_id_treatment_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_measure_responses_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_responses")),
        sa.UniqueConstraint("link_key", name=op.f("uq_measure_responses_link_key")),
    )
    op.create_index(
        "ix_measure_responses_patient_instrument",
        "measure_responses",
        ["patient_id", "instrument", "completed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_measure_responses_patient_instrument", table_name="measure_responses")
    op.drop_table("measure_responses")
