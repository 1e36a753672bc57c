"""The consent ledger: record opt-in and opt-out events; derive the current state from them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..db.tables import consent_events, outbox, sessions, staff_tasks
from ..domain import delivery
from ..domain.consent import (
    CHANNELS,
    HOW,
    PURPOSES,
    RECONSENT,
    ConsentEvent,
    LedgerEvent,
    allows,
    needs_patient_keyword,
    purpose_of,
    standing_opt_out,
)
from ..domain.origin import Origin
from ..domain.planner import plan_session
from ..domain.session_state import SessionState
from ..runtime import Interlude
from . import audit
from . import validation as v

# The ledger's reads live below consent and patients; kept importable from here for callers.
from .consent_state import allows_now as allows_now
from .consent_state import events as events
from .errors import InvalidInput
from .outbox import enqueue
from .outbox.planning import patient_facts, replan_anchors, session_facts
from .patients import get_patient, plan_opt_in

SOURCES = (
    "keyword",
    "plain-words",
    "provider-keyword",
    "email-link",
    "staff",
    "api",
    "cli",
    "provider",
    "enrolment",
)


def record(
    conn: Connection,
    *,
    patient_id: int,
    channel: str,
    action: str,
    source: str,
    now: datetime,
    purpose: str = "all",
    raw_text: str | None = None,
    wording_version: str | None = None,
) -> None:
    """Append one event. The dispatcher reads the ledger before every send."""
    conn.execute(
        insert(consent_events).values(
            patient_id=patient_id,
            channel=channel,
            purpose=purpose,
            action=action,
            source=source,
            raw_text=raw_text,
            wording_version=wording_version,
            created_at=now,
        )
    )


def ledger(app: Interlude, patient_id: int) -> dict[str, Any]:
    """The patient's consent state per channel and purpose, and every event behind it."""
    with app.reader.connect() as conn:
        get_patient(conn, patient_id)
        rows = list(
            conn.execute(
                select(consent_events)
                .where(consent_events.c.patient_id == patient_id)
                .order_by(consent_events.c.id)
            ).mappings()
        )
    evs = [ConsentEvent(r["id"], r["channel"], r["purpose"], r["action"]) for r in rows]
    return {
        "patient_id": patient_id,
        "state": {c: {p: allows(evs, c, p) for p in PURPOSES} for c in CHANNELS},
        "events": [
            {
                "at": r["created_at"].isoformat(),
                "channel": r["channel"],
                "purpose": r["purpose"],
                "action": r["action"],
                "source": r["source"],
                "raw_text": r["raw_text"],
                "wording_version": r["wording_version"],
            }
            for r in rows
        ],
    }


# --- a consent given again after an opt-out, recorded by staff ---------------------------------

# The task opened when a patient mid-course stops texts (replies/inbound.py): recording what the
# call agreed closes it.
CALL_TASK = "opted-out-mid-course"
OPTED_OUT = "opted-out"
_RECONSENT_FIELDS = {"channel", "purposes", "how", "given_at", "note", "close_task"}


def ledger_events(conn: Connection, patient_id: int) -> list[LedgerEvent]:
    rows = conn.execute(
        select(consent_events).where(consent_events.c.patient_id == patient_id).order_by(consent_events.c.id)
    ).mappings()
    return [LedgerEvent(r["id"], r["channel"], r["purpose"], r["action"], r["source"]) for r in rows]


def _event_times(conn: Connection, patient_id: int) -> dict[int, datetime]:
    """When each of the patient's ledger events was recorded, by id."""
    query = select(consent_events.c.id, consent_events.c.created_at).where(
        consent_events.c.patient_id == patient_id
    )
    return {event_id: at for event_id, at in conn.execute(query).all()}


def opt_outs(app: Interlude, patient_id: int) -> dict[str, Any]:
    """What a re-consent could lift: per channel and purpose the opt-out standing now (when, how it
    came, and whether only the patient can lift it), and the patient's open call task."""
    with app.reader.connect() as conn:
        get_patient(conn, patient_id)
        events = ledger_events(conn, patient_id)
        times = _event_times(conn, patient_id)
        task = _open_call_task(conn, patient_id)
    state: dict[str, Any] = {}
    for channel in CHANNELS:
        for purpose in PURPOSES:
            found = standing_opt_out(events, channel, purpose)
            if found is not None:
                state.setdefault(channel, {})[purpose] = {
                    "at": times[found.id],
                    "source": found.source,
                    "patient_only": needs_patient_keyword(channel, found),
                }
    return {"opted_out": state, "open_task": task}


def _open_call_task(conn: Connection, patient_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(staff_tasks.c.id, staff_tasks.c.detail, staff_tasks.c.created_at).where(
                staff_tasks.c.patient_id == patient_id,
                staff_tasks.c.kind == CALL_TASK,
                staff_tasks.c.state == "open",
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def _checked(f: v.Fields, key: str, check: Any, message: str, **kwargs: Any) -> Any:
    """A field read with `check`, its error (if any) in the words given."""
    value = f.get(key, check, **kwargs)
    if key in f.errors:
        f.errors[key] = message
    return value


def _read_reconsent(app: Interlude, data: Any, now: datetime) -> dict[str, Any]:
    f = v.Fields(data)
    f.refuse_unknown(_RECONSENT_FIELDS)
    example = now.astimezone(app.clinic_tz).strftime(v.FORM_TIME)
    out = {
        "channel": _checked(
            f,
            "channel",
            v.one_of(CHANNELS),
            "choose the kind of message the patient agreed to, e.g. Email",
            required=True,
        ),
        "purposes": _checked(
            f,
            "purposes",
            v.choices(PURPOSES, allow_empty=False),
            "tick at least one, e.g. Care messages (reminders, preparation and safety)",
            default=list(PURPOSES),
        ),
        "how": _checked(
            f,
            "how",
            v.one_of(tuple(HOW)),
            "choose how the patient agreed: by phone call, in person or in writing",
            required=True,
        ),
        "given_at": _checked(
            f,
            "given_at",
            lambda value: v.local_or_aware_time(value, app.clinic_tz),
            f"give the date and time the patient agreed, e.g. {example}",
            default=now,
            nullable=False,
        ),
        "note": _checked(
            f, "note", v.text(500), "a note is at most 500 characters, e.g. 'Agreed to email on the phone'"
        ),
        "close_task": _checked(f, "close_task", v.boolean, "true or false", default=False),
    }
    if out["given_at"] is not None and out["given_at"] > now:
        f.errors["given_at"] = f"the time the patient agreed can't be in the future: e.g. {example} (now)"
    f.done()
    return out


def _refusal(
    channel: str, lifted: list[LedgerEvent | None], given_at: datetime, times: dict[int, datetime], zone: Any
) -> dict[str, str]:
    """Why this consent cannot be recorded, in plain words (by field), or nothing."""
    standing = [e for e in lifted if e is not None]
    if not standing:  # nothing to lift (the patient's START did, say): the record is kept all the same
        return {}
    by_text = [e for e in standing if needs_patient_keyword(channel, e)]
    if by_text:
        word = "TIPS ON" if all(e.purpose == "education" for e in by_text) else "START"
        return {
            "channel": "only the patient can turn text messages back on: they opted out by text, and "
            f"the carriers' rules say that only their own text ({word}) to the clinic's number undoes "
            f"it. Ask them to text {word}, or record their consent to Email instead"
        }
    latest = max(times[e.id] for e in standing)
    if given_at < latest:
        local = latest.astimezone(zone).strftime(v.FORM_TIME)
        return {
            "given_at": f"the patient opted out at {local}, after this time: give when they agreed "
            f"again, e.g. a time later than {local}"
        }
    return {}


def record_reconsent(app: Interlude, patient_id: int, data: Any, actor: str) -> dict[str, Any]:
    """Record in the ledger that the patient agreed again, after an opt-out, to `channel` for
    the purposes given: who recorded it (`actor`), how (a phone call, in person, in writing) and
    when; then plan that channel's messages again. Raises InvalidInput (nothing written).

    Refused for text messages when the patient opted out by text (a STOP keyword or plain
    words): only their START lifts it (CTIA). An email unsubscribe may be lifted this way: the
    person agreed again, and staff record who heard it, how and when.
    """
    now = app.clock()
    r = _read_reconsent(app, data, now)
    channel, purposes = r["channel"], sorted(r["purposes"])
    with app.engine.begin() as conn:
        patient = get_patient(conn, patient_id)
        events = ledger_events(conn, patient_id)
        times = _event_times(conn, patient_id)
        lifted = [standing_opt_out(events, channel, p) for p in purposes]
        refused = _refusal(channel, lifted, r["given_at"], times, app.clinic_tz)
        if refused:
            raise InvalidInput(refused)
        who = actor.split(":", 1)[-1]
        words = f"{HOW[r['how']]}, recorded by {who}" + (f": {r['note']}" if r["note"] else "")
        record(
            conn,
            patient_id=patient_id,
            channel=channel,
            purpose="all" if len(purposes) == len(PURPOSES) else purposes[0],
            action="opt_in",
            source="staff",
            raw_text=words,
            wording_version=f"{RECONSENT}:{r['how']}",
            now=r["given_at"],
        )
        # A number that had stopped texts gets the opt-in text again (CTIA: confirm an opt-in).
        lifts_texts = channel == "sms" and "care" in purposes and lifted[purposes.index("care")] is not None
        opt_in = plan_opt_in(app, conn, patient, now) if lifts_texts else None
        revived = _revive(app, conn, patient, channel, set(purposes), now)
        closed = _close_call_task(conn, patient_id, actor, now) if r["close_task"] else []
        details = {
            "channel": channel,
            "purposes": purposes,
            "how": r["how"],
            "given_at": r["given_at"].isoformat(),
            "opt_in": opt_in,
            "revived": revived,
            "tasks_closed": closed,
        }
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="consent.re_consent",
            entity="patient",
            entity_id=patient_id,
            details=details,
        )
    return details


def _close_call_task(conn: Connection, patient_id: int, actor: str, now: datetime) -> list[int]:
    done = conn.execute(
        update(staff_tasks)
        .where(
            staff_tasks.c.patient_id == patient_id,
            staff_tasks.c.kind == CALL_TASK,
            staff_tasks.c.state == "open",
        )
        .values(state="done", done_at=now, done_by=actor)
        .returning(staff_tasks.c.id)
    )
    return sorted(done.scalars())


def _revive(
    app: Interlude,
    conn: Connection,
    patient: Mapping[Any, Any],
    channel: str,
    purposes: set[str],
    now: datetime,
) -> int:
    """Make pending again the messages of booked sessions the opt-out made the dispatcher skip on
    `channel`, when the plan still wants them now (in time, as a re-plan would place them).

    Only rows skipped as "opted-out" come back: a row skipped for any other reason (grouped,
    too late, no contact) stays as it is. Pending rows need nothing: the dispatcher reads the
    ledger at send time. Returns how many rows are pending again."""
    skipped = (
        conn.execute(
            select(outbox).where(
                outbox.c.patient_id == patient["id"],
                outbox.c.channel == channel,
                outbox.c.status == delivery.SKIPPED,
                outbox.c.reason == OPTED_OUT,
                outbox.c.origin == Origin.PLANNER,
                outbox.c.session_id.is_not(None),
            )
        )
        .mappings()
        .all()
    )
    skipped = [row for row in skipped if purpose_of(row["category"]) in purposes]
    ids = {row["session_id"] for row in skipped}
    booked = (
        conn.execute(select(sessions).where(sessions.c.id.in_(ids), sessions.c.status == SessionState.BOOKED))
        .mappings()
        .all()
    )
    facts = patient_facts(patient)
    revived = 0
    for session in booked:
        schedule = app.schedule(session["schedule"])
        plan = plan_session(
            schedule, session_facts(session), facts, app.window, now, anchors=replan_anchors(session)
        )
        wanted = {(pm.step.id, pm.channel): pm for pm in plan}
        for row in (r for r in skipped if r["session_id"] == session["id"]):
            pm = wanted.get((row["step_id"], row["channel"]))
            occurrence = session["occurrence"] if pm is not None and pm.occurrence_scoped else 0
            if pm is None or pm.status != delivery.PENDING or row["occurrence"] != occurrence:
                continue
            values = enqueue.planned(
                pm,
                patient_id=patient["id"],
                session_id=session["id"],
                schedule=session["schedule"],
                occurrence=occurrence,
                now=now,
            )
            values.pop("created_at")
            done = conn.execute(
                update(outbox)
                .where(outbox.c.id == row["id"], outbox.c.status == delivery.SKIPPED)
                .values(**values)
            )
            revived += done.rowcount
    return revived
