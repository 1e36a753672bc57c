"""The sandbox transport: records each message in the database instead of sending it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..db.engine import reader
from ..db.tables import sandbox_messages
from .base import Outgoing, SendResult


class SandboxTransport:
    """Keeps messages where the sandbox pages, the CLI and the API can read them back."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self.name = f"sandbox-{channel}"
        # Recording is instant, so the dispatcher may gate a whole chunk of sends at once.
        self.chunk_size = 100

    def send(self, message: Outgoing) -> SendResult:
        row = {
            "attempt_id": message.attempt_id,
            "channel": message.channel,
            "recipient": message.to,
            "sender": message.sender,
            "subject": message.subject,
            "body": message.body,
            "html": message.html,
            "headers": message.headers or None,
            "created_at": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sandbox_messages), row)
        except IntegrityError:
            pass  # this attempt was recorded already: recording it twice would be a duplicate
        return SendResult(provider_id=f"sandbox-{message.attempt_id}", status="delivered")

    def was_sent(self, attempt_id: int) -> bool | None:
        with reader(self.engine).connect() as conn:
            found = conn.execute(
                select(sandbox_messages.c.id).where(sandbox_messages.c.attempt_id == attempt_id)
            ).first()
        return found is not None
