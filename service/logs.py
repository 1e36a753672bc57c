"""Structured log lines: an event name and key=value ids and reason codes, never PHI.

Only the keys in ALLOWED reach the output, so a phone number, address or message body passed
by mistake in `extra` is dropped rather than written.
"""

from __future__ import annotations

import logging
import sys

ALLOWED = frozenset(
    {
        "outbox_id",
        "inbound_id",
        "escalation_id",
        "released",
        "staff_id",
        "attempt_id",
        "session_id",
        "patient_id",
        "channel",
        "kind",
        "category",
        "code",
        "job",
        "template",
        "claimed",
        "sent",
        "skipped",
        "cancelled",
        "deferred",
        "retrying",
        "failed",
        "unknown",
        "path",
        "status",
        "reason",
        "worker",
        "error",
    }
)
_STANDARD = frozenset(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k in ALLOWED}
        if extras:
            base += " " + " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
