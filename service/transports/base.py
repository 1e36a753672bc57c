"""The one-method transport interface, its pace, its result and its error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection


@dataclass(frozen=True)
class Outgoing:
    """One rendered message, addressed, ready to leave. `attempt_id` names our delivery attempt."""

    attempt_id: int
    channel: str
    to: str
    body: str
    subject: str | None = None
    html: str | None = None
    sender: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    category: str = "admin"  # prep | safety | education | admin: education email is a subscription
    patient_id: int | None = None
    outbox_id: int | None = None


@dataclass(frozen=True)
class SendResult:
    provider_id: str | None
    status: str  # the delivery-attempt state the provider reported: "sent", "queued", "accepted"


class TransportError(Exception):
    """A send that did not go through.

    kind: "permanent" (never retry: invalid or unsubscribed address), "retryable" (nothing was
    sent: refused connection, 429, 5xx) or "ambiguous" (the request left and no answer came: the
    message may have been sent, so it is never resent blindly).
    """

    def __init__(self, message: str, *, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        if kind not in ("permanent", "retryable", "ambiguous"):
            raise ValueError(f"unknown transport error kind {kind!r}")
        self.kind = kind
        self.code = code


@dataclass(frozen=True)
class Pacing:
    """How a transport wants its sends paced; the dispatcher chunks, spreads and claims by it.

    chunk_size: messages gated together before their sends (1: each is gated right before its
    own send, for a transport whose sends take time, so that a cancel or an opt-out landing
    meanwhile stops the next one). concurrency: sends in flight at once. max_per_second: the
    sender's rate, when it has one (the dispatcher claims only a few seconds of it at a time).
    """

    chunk_size: int = 1
    concurrency: int = 1
    max_per_second: float | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.concurrency < 1:
            raise ValueError("chunk_size and concurrency must be at least 1")
        if self.max_per_second is not None and self.max_per_second <= 0:
            raise ValueError("max_per_second must be positive")


class Transport(Protocol):
    name: str
    pacing: Pacing

    def send(self, message: Outgoing) -> SendResult:
        """Send one message; raises TransportError when it did not (or may not have) gone out."""
        ...

    def was_sent(self, attempt_id: int) -> bool | None:
        """Whether attempt `attempt_id` left: True, False, or None when the transport cannot tell."""
        ...


@runtime_checkable
class RecordingTransport(Protocol):
    """A transport whose "send" is a row in our own database (the sandbox).

    The dispatcher hands it a chunk of messages inside the transaction that records them as
    sent: the records commit, or roll back, together with that state, so a record exists if and
    only if its message is recorded as sent, and a crash can never leave one without the other.
    """

    name: str
    # The delivery-attempt state of a recorded message: its attempt row is written in that
    # state, in the same transaction, since the record cannot fail on its own.
    recorded_status: str

    def send_within(self, conn: Connection, messages: Sequence[Outgoing]) -> None:
        """Record `messages` in the caller's transaction (their attempt rows are already in it)."""
        ...
