"""Escalations: a clinician must look, now. Paged by SMS and email with the least PHI.

The page carries the patient's initials, the session date, a reason label and a staff link;
never the patient's words. Nobody acknowledging within `[escalation] ack_minutes` pages the
backup, and again after that, until someone acknowledges and records the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from ...config import ContactConfig
from ...db.tables import escalations, outbox, patients, sessions
from ...domain import delivery
from ...domain.office_hours import within_office_hours
from ...domain.origin import page_prefix
from ...domain.session_state import SessionState
from ...runtime import Interlude
from .. import audit, tasks
from ..errors import Conflict, InvalidInput, NotFound
from ..outbox.enqueue import enqueue_many, page
from ..tasks import open_task
from . import inbox

REASONS = {
    "crisis": "crisis language in a patient message",
    "concerning-answer": "concerning answer to a safety check-in",
    "no-answer": "no answer to a safety check-in",
    "not-cleared": "not cleared for the next session",
    "questionnaire": "questionnaire answer: thoughts of death or self-harm (PHQ-9 item 9)",
    "after-hours-inbox": "a patient wrote after hours within 72 h of a session; read it in the Inbox",
}
# Each crisis category (domain.crisis.CATEGORIES) in plain words, for pages and staff pages alike.
CATEGORY_WORDS = {
    "suicide": "suicide or self-harm",
    "overdose": "overdose or poisoning",
    "harm-others": "harm to others",
    "medical-emergency": "medical emergency",
    "urgent-symptom": "urgent symptom after a session",
}
CRISIS_REASONS = {category: f"crisis language: {words}" for category, words in CATEGORY_WORDS.items()}
# Kinds that ask a clinician to read, not to act at once: their page says so.
LOW_URGENCY = ("after-hours-inbox",)


def reason_label(kind: str, category: str | None = None) -> str:
    """The reason shown in a page and on the staff pages: the crisis category when there is one."""
    if kind == "crisis" and category in CRISIS_REASONS:
        return CRISIS_REASONS[category]
    return REASONS.get(kind, kind)


def _code(conn: Connection) -> str:
    for _ in range(20):
        code = f"{secrets.randbelow(900000) + 100000}"
        if conn.execute(select(escalations.c.id).where(escalations.c.code == code)).first() is None:
            return code
    raise RuntimeError("could not find a free escalation code")  # pragma: no cover


# How a page names the sender of crisis words that no patient's number matches.
UNKNOWN_SENDER = "an unknown number"


def _initials(patient: Mapping[Any, Any]) -> str:
    return f"{patient['first_name'][:1]}.{patient['last_name'][:1]}.".upper()


def raise_escalation(
    app: Interlude,
    conn: Connection,
    *,
    patient: Mapping[Any, Any] | None,
    kind: str,
    now: datetime,
    session_id: int | None = None,
    checkin_id: int | None = None,
    inbound_id: int | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """Open an escalation and page the on-call clinicians, inside the caller's transaction.

    `patient` is None for crisis language from a number no patient has (a patient writing from
    a new phone, someone on their behalf): it is paged all the same, as "an unknown number".
    Returns {"id", "code", "paged"}: paged is True only when a page to at least one on-call
    contact was queued (with nobody on call the escalation becomes an unrouted staff task).
    """
    code = _code(conn)
    escalation_id = conn.execute(
        insert(escalations)
        .values(
            code=code,
            patient_id=patient["id"] if patient else None,
            session_id=session_id,
            checkin_id=checkin_id,
            inbound_id=inbound_id,
            kind=kind,
            category=category,
            state="open",
            level=0,
            created_at=now,
            notify_again_at=now + timedelta(minutes=app.config.escalation.ack_minutes),
        )
        .returning(escalations.c.id)
    ).scalar_one()
    row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).mappings().one()
    queued = _page(app, conn, row, patient, now)
    return {"id": escalation_id, "code": code, "paged": queued > 0}


# A message written this long after a session started may be about the session's after-effects.
AFTER_SESSION = timedelta(hours=72)


def page_after_hours_inbox(
    app: Interlude, conn: Connection, *, patient: Mapping[Any, Any], inbound_id: int, now: datetime
) -> bool:
    """Page the on-call clinician (low urgency) for a message that just reached the Inbox, when
    `[escalation] after_hours_inbox = "page"`, it is outside office hours, and the patient's
    session started within the last 72 hours. At most one such escalation is open per patient.
    Inside the caller's transaction; returns True when a page was queued."""
    cfg = app.config.escalation
    # With nobody on call there is no one to page: the message waits in the Inbox, as with
    # "wait", rather than raising an unrouted escalation for something the screen found calm.
    if cfg.after_hours_inbox != "page" or not any(c.phone or c.email for c in cfg.on_call):
        return False
    if within_office_hours(now, app.config.clinic.office):
        return False
    session_id = _recent_session(conn, patient["id"], now)
    if session_id is None or _open_after_hours(conn, patient["id"]):
        return False
    result = raise_escalation(
        app,
        conn,
        patient=patient,
        kind="after-hours-inbox",
        now=now,
        session_id=session_id,
        inbound_id=inbound_id,
    )
    return bool(result["paged"])


def _recent_session(conn: Connection, patient_id: int, now: datetime) -> int | None:
    """The newest booked or completed session that started within AFTER_SESSION before `now`."""
    return conn.execute(
        select(sessions.c.id)
        .where(
            sessions.c.patient_id == patient_id,
            sessions.c.status.in_((SessionState.BOOKED, SessionState.COMPLETED)),
            sessions.c.start_at <= now,
            sessions.c.start_at >= now - AFTER_SESSION,
        )
        .order_by(sessions.c.start_at.desc())
        .limit(1)
    ).scalar()


def _open_after_hours(conn: Connection, patient_id: int) -> bool:
    query = select(escalations.c.id).where(
        escalations.c.patient_id == patient_id,
        escalations.c.kind == "after-hours-inbox",
        escalations.c.state == "open",
    )
    return conn.execute(query.limit(1)).first() is not None


def _contacts(app: Interlude, level: int) -> tuple[ContactConfig, ...]:
    cfg = app.config.escalation
    if level == 0:
        return cfg.on_call
    if level == 1 and cfg.backup:
        return cfg.backup
    return cfg.on_call + cfg.backup


def _page(
    app: Interlude, conn: Connection, esc: Mapping[Any, Any], patient: Mapping[Any, Any] | None, now: datetime
) -> int:
    """Queue the page of `esc` at its level; returns how many messages (0: an unrouted task)."""
    contacts = _contacts(app, esc["level"])
    if not any(c.phone or c.email for c in contacts):
        open_task(
            conn,
            key=f"escalation-unrouted:{esc['id']}",
            kind="escalation-unrouted",
            now=now,
            patient_id=esc["patient_id"],
            session_id=esc["session_id"],
            detail="no on-call clinician configured in [escalation]: call the patient",
        )
        return 0
    context = {"escalation": _context(app, conn, esc, patient)}
    rows = [
        page(esc, i, channel, address, context, now)
        for i, contact in enumerate(contacts)
        for channel, address in (("sms", contact.phone), ("email", contact.email))
        if address
    ]
    enqueue_many(conn, rows)
    return len(rows)


def _context(
    app: Interlude, conn: Connection, esc: Mapping[Any, Any], patient: Mapping[Any, Any] | None
) -> dict[str, Any]:
    session_date = None
    if esc["session_id"] is not None:
        start = conn.execute(
            select(sessions.c.start_at).where(sessions.c.id == esc["session_id"])
        ).scalar_one()
        session_date = start.astimezone(ZoneInfo(app.config.clinic.timezone)).strftime("%b %d")
    base = app.config.web.public_base_url.rstrip("/")
    return {
        "code": esc["code"],
        "initials": _initials(patient) if patient else UNKNOWN_SENDER,
        "reason": reason_label(esc["kind"], esc.get("category")),
        "low_urgency": esc["kind"] in LOW_URGENCY,
        "session_date": session_date,
        "link": f"{base}/staff/escalations/{esc['id']}",
        "level": esc["level"],
    }


def sweep(app: Interlude, now: datetime | None = None) -> int:
    """Page the next level for every escalation nobody acknowledged in time; returns how many."""
    now = now or app.clock()
    paged = 0
    with app.engine.begin() as conn:
        due = (
            conn.execute(
                select(escalations).where(escalations.c.state == "open", escalations.c.notify_again_at <= now)
            )
            .mappings()
            .all()
        )
        for esc in due:
            level = esc["level"] + 1
            conn.execute(
                update(escalations)
                .where(escalations.c.id == esc["id"])
                .values(
                    level=level, notify_again_at=now + timedelta(minutes=app.config.escalation.ack_minutes)
                )
            )
            who = select(patients).where(patients.c.id == esc["patient_id"])
            patient = conn.execute(who).mappings().first() if esc["patient_id"] is not None else None
            _page(app, conn, {**esc, "level": level}, patient, now)
            paged += 1
    return paged


def acknowledge(
    app: Interlude, ident: int | str, by: str, outcome: str | None, *, require_outcome: bool = False
) -> dict[str, Any]:
    """Acknowledge an escalation (by id or by code): stop its pages, record who, when and the outcome.

    With an outcome the whole episode closes in the same transaction: the Inbox message behind
    it is marked handled and its open tasks done. Without one (an `ACK <code>` text from an
    on-call phone) the pages stop and the rest waits for the outcome, which the staff pages ask
    for; `require_outcome` refuses an empty one (InvalidInput, field "outcome"). Giving the outcome
    of an escalation acknowledged without one closes the rest then. Audited with the ids only:
    the outcome is clinical text and stays in escalations.outcome. Returns the escalation's view
    with "closed": {"inbound_id", "task_ids"}. Raises NotFound, InvalidInput, Conflict.
    """
    if not by or not isinstance(by, str) or len(by) > 120:
        raise InvalidInput({"by": "who acknowledges is required (at most 120 characters)"})
    if outcome is not None and (not isinstance(outcome, str) or len(outcome) > 2000):
        raise InvalidInput({"outcome": "expected text of at most 2000 characters"})
    outcome = (outcome or "").strip() or None
    if require_outcome and outcome is None:
        raise InvalidInput({"outcome": "Write the outcome: what was done, and what happens next."})
    now = app.clock()
    column = escalations.c.code if isinstance(ident, str) else escalations.c.id
    with app.engine.begin() as conn:
        esc = conn.execute(select(escalations).where(column == ident)).mappings().first()
        if esc is None:
            raise NotFound("escalation", ident)
        this = escalations.c.id == esc["id"]
        if esc["state"] == "open":
            action = "escalation-acknowledged"
            changed = conn.execute(
                update(escalations)
                .where(this, escalations.c.state == "open")
                .values(
                    state="acknowledged", acked_at=now, acked_by=by, outcome=outcome, notify_again_at=None
                )
            ).rowcount
        elif esc["state"] == "acknowledged" and outcome and not esc["outcome"]:
            action = "escalation-outcome-recorded"
            changed = conn.execute(
                update(escalations).where(this, escalations.c.outcome.is_(None)).values(outcome=outcome)
            ).rowcount
        else:
            changed = 0
        if changed != 1:  # acknowledged already, or a colleague was quicker by a moment
            state = conn.execute(select(escalations.c.state, escalations.c.acked_by).where(this)).one()
            raise Conflict(f"escalation {esc['id']} is {state.state} already (by {state.acked_by})")
        pages = outbox.c.dedupe_key.like(page_prefix(esc["id"]) + "%")
        cancelled = conn.execute(
            update(outbox)
            .where(pages, outbox.c.status == delivery.PENDING)
            .values(status=delivery.CANCELLED, reason="acknowledged", updated_at=now)
        ).rowcount
        closed: dict[str, Any] = {"inbound_id": None, "task_ids": []}
        if outcome:
            if inbox.close_item(conn, esc["inbound_id"], by=by, now=now):
                closed["inbound_id"] = esc["inbound_id"]
            keys = tasks.episode_keys(esc["id"], esc["inbound_id"])
            closed["task_ids"] = tasks.close_tasks(conn, keys, by=by, now=now)
        audit.record(
            conn,
            at=now,
            actor=by,
            action=action,
            entity="escalation",
            entity_id=esc["id"],
            details={**closed, "pages_cancelled": cancelled, "outcome": "recorded" if outcome else "pending"},
        )
        row = conn.execute(select(escalations).where(this)).mappings().one()
    return {**view(row), "closed": closed}


def list_escalations(app: Interlude, state: str | None = "open", limit: int = 200) -> list[dict[str, Any]]:
    query = select(escalations).order_by(escalations.c.created_at).limit(limit)
    if state:
        query = query.where(escalations.c.state == state)
    with app.reader.connect() as conn:
        return [view(r) for r in conn.execute(query).mappings()]


def view(r: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "code": r["code"],
        "patient_id": r["patient_id"],
        "session_id": r["session_id"],
        "kind": r["kind"],
        "category": r.get("category"),
        "reason": reason_label(r["kind"], r.get("category")),
        "state": r["state"],
        "level": r["level"],
        "created_at": r["created_at"].isoformat(),
        "acked_at": r["acked_at"].isoformat() if r["acked_at"] else None,
        "acked_by": r["acked_by"],
        "outcome": r["outcome"],
    }
