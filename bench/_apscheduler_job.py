"""The job the APScheduler peers schedule (a textual reference, as a job store needs)."""

from __future__ import annotations


def send(message_id: int) -> None:
    """Stands for "send message `message_id`"; the peer measures scheduling, not sending."""
