"""The sandbox transport: records each message in the database instead of sending it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..db.engine import reader
from ..db.tables import sandbox_messages
from .base import Outgoing, Pacing, SendResult


class SandboxTransport:
    """Keeps messages where the sandbox pages, the CLI and the API can read them back."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self.name = f"sandbox-{channel}"
        # Recording is instant and commits with the dispatcher's own record of the sends
        # (send_within), so a whole chunk is gated, recorded and marked sent in one transaction.
        self.pacing = Pacing(chunk_size=500)
        self.recorded_status = "delivered"

    def send(self, message: Outgoing) -> SendResult:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sandbox_messages), _row(message, datetime.now(UTC)))
        except IntegrityError:
            pass  # this attempt was recorded already: recording it twice would be a duplicate
        return _result(message)

    def send_within(self, conn: Connection, messages: Sequence[Outgoing]) -> None:
        """Record `messages` in the caller's transaction (it commits them with their sent state).
        Each attempt is new in that transaction, so none can have been recorded before."""
        if messages:
            now = datetime.now(UTC)
            conn.execute(insert(sandbox_messages), [_row(m, now) for m in messages])

    def was_sent(self, attempt_id: int) -> bool | None:
        with reader(self.engine).connect() as conn:
            found = conn.execute(
                select(sandbox_messages.c.id).where(sandbox_messages.c.attempt_id == attempt_id)
            ).first()
        return found is not None


def _row(message: Outgoing, now: datetime) -> dict[str, Any]:
    return {
        "attempt_id": message.attempt_id,
        "channel": message.channel,
        "recipient": message.to,
        "sender": message.sender,
        "subject": message.subject,
        "body": message.body,
        "html": message.html,
        "headers": message.headers or None,
        "created_at": now,
    }


def _result(message: Outgoing) -> SendResult:
    return SendResult(provider_id=f"sandbox-{message.attempt_id}", status="delivered")
