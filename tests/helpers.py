"""Small helpers for service-level tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from service.db.tables import consent_events, outbox, sandbox_messages
from service.runtime import Interlude
from service.services import sessions
from service.services.patients import create_patient
from service.transports.base import Outgoing, SendResult, TransportError
from tests.conftest import patient_data


def enrol(app: Interlude, **overrides: Any) -> dict[str, Any]:
    return create_patient(app, patient_data(**overrides), actor="test")


def book(app: Interlude, patient_id: int, start: str, modality: str = "iv", **extra: Any) -> dict[str, Any]:
    return sessions.book_session(
        app, {"patient_id": patient_id, "start": start, "modality": modality, **extra}, "test"
    )


def rows(app: Interlude, **where: Any) -> list[Mapping[str, Any]]:
    query = select(outbox).order_by(outbox.c.id)
    for key, value in where.items():
        query = query.where(outbox.c[key] == value)
    with app.engine.connect() as conn:
        return list(conn.execute(query).mappings())


def by_step(app: Interlude, session_id: int) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    out: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows(app, session_id=session_id):
        out.setdefault((r["step_id"], r["channel"]), []).append(r)
    return out


def sandbox(app: Interlude) -> list[Mapping[str, Any]]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(sandbox_messages).order_by(sandbox_messages.c.id)).mappings())


def opt_out(
    app: Interlude, patient_id: int, channel: str = "sms", purpose: str = "all", at: datetime | None = None
) -> None:
    with app.engine.begin() as conn:
        conn.execute(
            insert(consent_events).values(
                patient_id=patient_id,
                channel=channel,
                purpose=purpose,
                action="opt_out",
                source="keyword",
                raw_text="STOP",
                created_at=at or app.clock(),
            )
        )


class ScriptedTransport:
    """A hand-written transport for our own interface: answers from a script, records what it got."""

    def __init__(self, name: str, script: list[Any] | None = None, sent: bool | None = None) -> None:
        self.name = name
        self.script = list(script or [])
        self.received: list[Outgoing] = []
        self.sent_answer = sent

    def send(self, message: Outgoing) -> SendResult:
        self.received.append(message)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, TransportError):
            raise step
        if callable(step):
            step(message)
        return SendResult(provider_id=f"fake-{message.attempt_id}", status="sent")

    def was_sent(self, attempt_id: int) -> bool | None:
        return self.sent_answer


def due_note(dedupe_key: str, patient_id: int, channel: str, now: Any, step_id: str) -> dict[str, Any]:
    """An outbox row for an admin note due `now`: what the worker and fault tests queue by hand."""
    return {
        "dedupe_key": dedupe_key,
        "patient_id": patient_id,
        "schedule": "default",
        "step_id": step_id,
        "template": "integration_note",
        "channel": channel,
        "category": "admin",
        "priority": 2,
        "due_at": now,
        "next_attempt_at": now,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def cli_runner(flask_app: Any) -> Any:
    """A runner of `interlude` commands against `flask_app` (the commands added to its `cli`)."""
    from service.cli import init_app

    init_app(flask_app)
    return flask_app.test_cli_runner()
