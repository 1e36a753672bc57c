"""Turn the planner's answer into outbox rows, idempotently, inside the caller's transaction.

Each message has a unique key (session, step, channel and, for steps that repeat on reschedule,
the session's occurrence), so planning twice never makes two rows. Pending rows move with the
session; sent rows are never resent; rows no longer in the plan are cancelled with a reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from ..db.tables import outbox
from ..domain import delivery
from ..domain.planner import (
    PatientFacts,
    PlannedMessage,
    SessionFacts,
    plan_enrolment,
    plan_session,
)
from ..domain.quiet_hours import Window
from ..domain.schedule import Schedule

# A row in one of these states has been tried for its occurrence: it is never planned again.
_TRIED = frozenset({delivery.SENT, delivery.SENDING, delivery.UNKNOWN, delivery.FAILED})


@dataclass
class PlanOutcome:
    created: int = 0
    moved: int = 0
    unchanged: int = 0
    skipped: int = 0
    cancelled: int = 0
    in_flight: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "moved": self.moved,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "in_flight": self.in_flight,
        }


def patient_facts(patient: Mapping[Any, Any]) -> PatientFacts:
    channels = set(patient["channels"])
    if not patient.get("phone"):
        channels.discard("sms")
    if not patient.get("email"):
        channels.discard("email")
    return PatientFacts(
        tz=ZoneInfo(patient["timezone"]),
        channels=frozenset(channels),
        indications=frozenset(patient["indications"]),
        enrolled_at=patient["enrolled_at"],
    )


def session_facts(session: Mapping[Any, Any]) -> SessionFacts:
    return SessionFacts(
        start=session["start_at"],
        duration=timedelta(minutes=session["duration_minutes"]),
        modality=session["modality"],
        number=session["number"],
        booked_at=session["booked_at"],
        occurrence=session["occurrence"],
        rescheduled_at=session["rescheduled_at"],
    )


def _key(pm: PlannedMessage, session_id: int | None, patient_id: int, schedule: str, occ: int) -> str:
    if session_id is None:
        return f"p{patient_id}:{schedule}:{pm.step.id}:{pm.channel}"
    return f"s{session_id}:{pm.step.id}:{pm.channel}:{occ}"


def _row(
    pm: PlannedMessage,
    key: str,
    patient_id: int,
    session_id: int | None,
    schedule: str,
    occ: int,
    now: datetime,
) -> dict[str, Any]:
    return {
        "dedupe_key": key,
        "patient_id": patient_id,
        "session_id": session_id,
        "schedule": schedule,
        "step_id": pm.step.id,
        "template": pm.step.template,
        "channel": pm.channel,
        "category": pm.step.category,
        "priority": pm.step.priority,
        "occurrence": occ,
        "due_at": pm.due_at,
        "original_due_at": pm.original_due,
        "send_by": pm.send_by,
        "next_attempt_at": pm.due_at,
        "status": pm.status,
        "reason": pm.reason,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def _apply_to_pending(conn: Connection, row: Mapping[Any, Any], pm: PlannedMessage, now: datetime) -> str:
    """Move or skip a pending row; returns "moved", "unchanged", "skipped" or "in-flight"."""
    if pm.status == "pending" and row["due_at"] == pm.due_at and row["send_by"] == pm.send_by:
        return "unchanged"
    values = {
        "due_at": pm.due_at,
        "original_due_at": pm.original_due,
        "next_attempt_at": pm.due_at,
        "send_by": pm.send_by,
        "status": pm.status,
        "reason": pm.reason,
        "updated_at": now,
    }
    result = conn.execute(
        update(outbox).where(outbox.c.id == row["id"], outbox.c.status == delivery.PENDING).values(**values)
    )
    if result.rowcount == 0:
        return "in-flight"
    return "moved" if pm.status == "pending" else "skipped"


def store_plan(
    conn: Connection,
    planned: list[PlannedMessage],
    *,
    patient_id: int,
    session_id: int | None,
    schedule: str,
    occurrence: int,
    now: datetime,
) -> PlanOutcome:
    """Reconcile the stored rows of this session (or enrolment) with `planned`."""
    outcome = PlanOutcome()
    query = select(outbox).where(outbox.c.patient_id == patient_id)
    query = query.where(
        outbox.c.session_id == session_id if session_id is not None else outbox.c.session_id.is_(None)
    )
    existing: dict[tuple[str, str], list[Mapping[Any, Any]]] = defaultdict(list)
    for row in conn.execute(query).mappings():
        existing[(row["step_id"], row["channel"])].append(row)
    seen: set[tuple[str, str]] = set()
    inserts: list[dict[str, Any]] = []
    for pm in planned:
        base = (pm.step.id, pm.channel)
        seen.add(base)
        rows = existing.get(base, [])
        occ = occurrence if pm.occurrence_scoped else 0
        pending = [r for r in rows if r["status"] == delivery.PENDING]
        if pending:
            result = _apply_to_pending(conn, pending[0], pm, now)
            setattr(outcome, result.replace("-", "_"), getattr(outcome, result.replace("-", "_")) + 1)
            continue
        if any(r["status"] in _TRIED and r["occurrence"] == occ for r in rows):
            outcome.unchanged += 1  # sent already for this occurrence: never twice
            continue
        key = _key(pm, session_id, patient_id, schedule, occ)
        same_key = [r for r in rows if r["dedupe_key"] == key]
        if same_key:  # cancelled or skipped before, wanted again: revive the row
            values = _row(pm, key, patient_id, session_id, schedule, occ, now)
            values.pop("created_at")
            conn.execute(update(outbox).where(outbox.c.id == same_key[0]["id"]).values(**values))
        else:
            inserts.append(_row(pm, key, patient_id, session_id, schedule, occ, now))
        outcome.created += pm.status == "pending"
        outcome.skipped += pm.status == "skipped"
    if inserts:
        conn.execute(insert(outbox), inserts)
    stale = [
        r["id"]
        for base, rows in existing.items()
        if base not in seen
        for r in rows
        if r["status"] == delivery.PENDING
    ]
    if stale:
        cancelled = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(stale), outbox.c.status == delivery.PENDING)
            .values(status=delivery.CANCELLED, reason="no-longer-planned", updated_at=now)
        )
        outcome.cancelled += cancelled.rowcount
    return outcome


def plan_for_session(
    conn: Connection,
    schedule: Schedule,
    session: Mapping[Any, Any],
    patient: Mapping[Any, Any],
    window: Window,
    now: datetime,
    anchors: tuple[str, ...] = ("start", "end", "booking"),
) -> PlanOutcome:
    """Plan (or re-plan) every message of one session inside the caller's transaction.

    `anchors` chooses the steps: a booking plans start, end and booking steps; a reschedule plans
    start, end and reschedule steps, so the booking confirmation is not sent again (a pending one
    is cancelled: the reschedule notice replaces it).
    """
    planned = plan_session(
        schedule, session_facts(session), patient_facts(patient), window, now, anchors=anchors
    )
    return store_plan(
        conn,
        planned,
        patient_id=patient["id"],
        session_id=session["id"],
        schedule=session["schedule"],
        occurrence=session["occurrence"],
        now=now,
    )


def plan_for_enrolment(
    conn: Connection, schedule: Schedule, patient: Mapping[Any, Any], window: Window, now: datetime
) -> PlanOutcome:
    planned = plan_enrolment(schedule, patient_facts(patient), window, now)
    return store_plan(
        conn,
        planned,
        patient_id=patient["id"],
        session_id=None,
        schedule=schedule.name,
        occurrence=0,
        now=now,
    )
