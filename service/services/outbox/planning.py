"""Turn the planner's answer into outbox rows, idempotently, inside the caller's transaction.

Each message has a unique key (session, step, channel and, for steps that repeat on reschedule,
the session's occurrence), so planning twice never makes two rows. What a re-plan does to the
rows already stored (move, keep, never resend, cancel) is domain.reconcile's rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, or_, select, update

from ...db.tables import outbox, patients, sessions
from ...domain import delivery
from ...domain.channels import preferred_channels
from ...domain.origin import Origin, priority
from ...domain.planner import PatientFacts, PlannedMessage, SessionFacts, plan_enrolment, plan_session
from ...domain.quiet_hours import Window
from ...domain.reconcile import NO_LONGER_PLANNED, Action, reconcile
from ...domain.schedule import Schedule
from ...domain.session_state import SessionState
from ...template_context import Formatter
from ..validation import DEFAULT_DURATION
from . import enqueue


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
    usable = frozenset(channels)
    return PatientFacts(
        tz=ZoneInfo(patient["timezone"]),
        channels=usable,
        indications=frozenset(patient["indications"]),
        enrolled_at=patient["enrolled_at"],
        preferred=preferred_channels(patient.get("preferred_channel"), usable),
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


def _apply_to_pending(
    conn: Connection, row: Mapping[Any, Any], pm: PlannedMessage, action: Action, now: datetime
) -> str:
    """Move or skip a pending row, and give it the step's template and category (an edited step
    may have changed them); returns "moved", "unchanged", "skipped" or "in-flight"."""
    if action is Action.UNCHANGED:
        return "unchanged"
    step = pm.step
    values = {
        "due_at": pm.due_at,
        "original_due_at": pm.original_due,
        "next_attempt_at": pm.due_at,
        "send_by": pm.send_by,
        "status": pm.status,
        "reason": pm.reason,
        "updated_at": now,
        "template": step.template,
        "category": step.category,
        "priority": priority(Origin.PLANNER, step.category),
    }
    result = conn.execute(
        update(outbox).where(outbox.c.id == row["id"], outbox.c.status == delivery.PENDING).values(**values)
    )
    if result.rowcount == 0:
        return "in-flight"
    return "moved" if action is Action.MOVES else "skipped"


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
    """Reconcile the stored rows of this session (or enrolment) with `planned`, as
    domain.reconcile decides: only the planner's own rows take part."""
    query = select(outbox).where(outbox.c.patient_id == patient_id)
    query = query.where(
        outbox.c.session_id == session_id if session_id is not None else outbox.c.session_id.is_(None)
    )
    changes = reconcile(
        conn.execute(query).mappings().all(),
        planned,
        patient_id=patient_id,
        session_id=session_id,
        schedule=schedule,
        occurrence=occurrence,
    )
    outcome = PlanOutcome()
    inserts: list[dict[str, Any]] = []
    for change in changes:
        pm = change.planned
        if pm is None:
            continue  # cancelled: all in one statement, below
        if change.action is Action.ALREADY_SENT:
            outcome.unchanged += 1
        elif change.pending is not None:
            result = _apply_to_pending(conn, change.pending, pm, change.action, now).replace("-", "_")
            setattr(outcome, result, getattr(outcome, result) + 1)
        else:  # a row to write: new, or cancelled or skipped before and wanted again
            row = enqueue.planned(
                pm,
                patient_id=patient_id,
                session_id=session_id,
                schedule=schedule,
                occurrence=change.occurrence,
                now=now,
            )
            if change.revive is not None:
                row.pop("created_at")
                conn.execute(update(outbox).where(outbox.c.id == change.revive["id"]).values(**row))
            else:
                inserts.append(row)
            outcome.created += change.action is Action.NEW
            outcome.skipped += change.action is Action.SKIPPED
    enqueue.enqueue_many(conn, inserts)
    stale = [c.pending["id"] for c in changes if c.action is Action.CANCELLED and c.pending is not None]
    if stale:
        cancelled = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(stale), outbox.c.status == delivery.PENDING)
            .values(status=delivery.CANCELLED, reason=NO_LONGER_PLANNED, updated_at=now)
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


def new_session_rows(
    schedule: Schedule,
    session: Mapping[Any, Any],
    patient: Mapping[Any, Any],
    window: Window,
    now: datetime,
    facts: PatientFacts | None = None,
) -> tuple[list[dict[str, Any]], PlanOutcome]:
    """The outbox rows of a session inserted in the caller's transaction, and what they are.

    A new session has no rows yet (its keys "s<id>:..." name an id never used before), so there
    is nothing to reconcile: this is what store_plan would insert, without reading first. A
    booking plans its start, end and booking steps. `facts` lets a caller reuse the patient's.
    """
    planned = plan_session(schedule, session_facts(session), facts or patient_facts(patient), window, now)
    outcome = PlanOutcome()
    out = []
    session_id, patient_id, name = session["id"], patient["id"], session["schedule"]
    occurrence = session["occurrence"]
    for pm in planned:
        occ = occurrence if pm.occurrence_scoped else 0
        out.append(
            enqueue.planned(
                pm, patient_id=patient_id, session_id=session_id, schedule=name, occurrence=occ, now=now
            )
        )
        outcome.created += pm.status == "pending"
        outcome.skipped += pm.status == "skipped"
    return out, outcome


def plan_new_session(
    conn: Connection,
    schedule: Schedule,
    session: Mapping[Any, Any],
    patient: Mapping[Any, Any],
    window: Window,
    now: datetime,
) -> PlanOutcome:
    """Plan the messages of a session just inserted in the caller's transaction (a booking)."""
    rows, outcome = new_session_rows(schedule, session, patient, window, now)
    enqueue.enqueue_bulk(conn, rows)
    return outcome


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


@dataclass
class ReplanOutcome:
    sessions: int = 0
    moved: int = 0
    created: int = 0
    cancelled: int = 0
    skipped: int = 0
    in_flight: int = 0

    def add(self, outcome: PlanOutcome) -> None:
        self.sessions += 1
        for name in ("moved", "created", "cancelled", "skipped", "in_flight"):
            setattr(self, name, getattr(self, name) + getattr(outcome, name))

    def as_dict(self) -> dict[str, int]:
        return {
            "sessions": self.sessions,
            "moved": self.moved,
            "created": self.created,
            "cancelled": self.cancelled,
            "skipped": self.skipped,
            "in_flight": self.in_flight,
        }


def replan_anchors(session: Mapping[Any, Any]) -> tuple[str, ...]:
    """The anchors a booked session is re-planned with: a rescheduled session plans its start, end
    and reschedule steps, others their start, end and booking steps, as when they were booked or
    moved."""
    return ("start", "end", "reschedule" if session["rescheduled_at"] is not None else "booking")


def replannable_sessions(now: datetime) -> Select[Any]:
    """Booked sessions that start in the future or still have pending messages, by id: those a
    re-plan (after a step edit, or a patient's change of channel) looks at."""
    has_pending = select(outbox.c.session_id).where(
        outbox.c.status == delivery.PENDING, outbox.c.session_id.is_not(None)
    )
    return (
        select(sessions)
        .where(sessions.c.status == SessionState.BOOKED)
        .where(or_(sessions.c.start_at > now, sessions.c.id.in_(has_pending)))
        .order_by(sessions.c.id)
    )


def replan_schedule(conn: Connection, schedule: Schedule, window: Window, now: datetime) -> ReplanOutcome:
    """Re-plan, with `schedule` as it is now, every booked session on it that starts in the future
    or still has pending messages, inside the caller's transaction (after a staff edit of a step).

    Each session plans with replan_anchors, as when it was booked or moved. Enrolment steps are
    not re-planned: a patient already enrolled keeps the enrolment messages planned then.
    """
    query = replannable_sessions(now).where(sessions.c.schedule == schedule.name)
    rows = conn.execute(query).mappings().all()
    ids = {r["patient_id"] for r in rows}
    people = {p["id"]: p for p in conn.execute(select(patients).where(patients.c.id.in_(ids))).mappings()}
    outcome = ReplanOutcome()
    for session in rows:
        patient = people[session["patient_id"]]
        anchors = replan_anchors(session)
        outcome.add(plan_for_session(conn, schedule, session, patient, window, now, anchors=anchors))
    return outcome


def step_example(
    schedule: Schedule, step_id: str, window: Window, tz: ZoneInfo, now: datetime, language: str
) -> list[dict[str, Any]]:
    """When one step's messages would go for a sample session it applies to (10 days ahead at
    14:00 in `tz`, booked now): [{"session", "channel", "local_time", "status", "reason"}]."""
    step = schedule.step(step_id)
    c = step.conditions
    modality = c.modalities[0] if c.modalities else "iv"
    number = c.sessions[0] if c.sessions else (c.from_session or 1)
    start = (now + timedelta(days=10)).astimezone(tz).replace(hour=14, minute=0, second=0, microsecond=0)
    session = SessionFacts(start, timedelta(minutes=DEFAULT_DURATION[modality]), modality, number, now)
    patient = PatientFacts(tz, frozenset({"sms", "email"}), frozenset(c.indications), now)
    alone = Schedule(schedule.name, schedule.description, (step,), schedule.source)
    if step.anchor == "enrolment":
        planned = plan_enrolment(alone, patient, window, now)
    else:
        planned = plan_session(alone, session, patient, window, now, anchors=(step.anchor,))
    fmt = Formatter(tz, language, tz)
    about = {"start": start.isoformat(), "modality": modality, "number": number}
    return [
        {
            "session": about,
            "channel": pm.channel,
            "local_time": f"{fmt.date(pm.due_at, short=True)} {fmt.time(pm.due_at)}",
            "status": pm.status,
            "reason": pm.reason,
        }
        for pm in planned
    ]
