"""feeds: idempotency keys of the JSON API and the feed messages already received

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # One row per Idempotency-Key of a POST to the JSON API: the request's hash and, once it has
    # run, the response the client got (status NULL while the first request is still running).
    op.create_table(
        "idempotency_keys",
        sa.Column("id", Id, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("key", "path", name="uq_idempotency_keys_key_path"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    # One row per message a feed (e.g. HL7 v2) delivered: a repeated control id is acknowledged
    # from here and never applied twice.
    op.create_table(
        "feed_messages",
        sa.Column("id", Id, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_messages")),
        sa.UniqueConstraint("source", "message_id", name="uq_feed_messages_source_message_id"),
    )


def downgrade() -> None:
    op.drop_table("feed_messages")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
