"""What the Reports page and `interlude report` show: every figure for a window [since, until)
from the database, as plain data (dicts, lists, numbers; times as datetimes).

Counts are SQL aggregates; medians and percentiles are computed here from the durations (the
same on SQLite and PostgreSQL). Which rows fall in the window:
- messages: outbox rows due in it (patient messages and staff pages alike), by channel and final
  outcome (domain.report_figures.outcome), with the reasons of the failed and skipped ones;
- SMS segments: SMS delivery attempts made in it that the provider took. No segment count is
  stored with an attempt: it is computed from the text the sandbox transport kept when there is
  one; an attempt sent for real keeps no text and counts as one segment (the least it cost), and
  the report says how many were counted so;
- questionnaires: sent in it (a measure step's SMS and email are one questionnaire), and of
  those how many were started and completed (by now); the change from baseline compares each
  patient's latest score completed in the window with their first score ever, per instrument;
- check-ins (kind "checkin"): opened in it; escalations: raised in it; sessions: starting in it
  (cancelled ones left out); opt-outs: consent events recorded in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ...db.tables import (
    checkins,
    consent_events,
    delivery_attempts,
    escalations,
    measure_responses,
    outbox,
    sandbox_messages,
    sessions,
    staff_tasks,
)
from ...domain import report_figures as rf
from ...domain.segments import segment_info
from ...domain.session_state import SessionState
from ...runtime import Interlude

# How many failure reasons and error codes a report lists (the rest are summed as "other").
TOP_REASONS = 10
CLEARANCE_STATES = ("cleared", "not_cleared", "unreachable", "pending")
UNROUTED_PREFIX = "escalation-unrouted:"


def report(app: Interlude, since: datetime, until: datetime) -> dict[str, Any]:
    """Every figure for [since, until). Raises ValueError when the window is empty."""
    if until <= since:
        raise ValueError("the report window must end after it starts")
    with app.reader.connect() as conn:
        prices = app.config.reports
        sms = _sms(conn, since, until, prices.sms_segment_price)
        emails = _emails_sent(conn, since, until)
        sms["emails"] = emails
        sms["email_price"] = prices.email_price
        sms["email_cost"] = round(emails * prices.email_price, 2)
        sms["total_cost"] = round(sms["cost"] + sms["email_cost"], 2)
        return {
            "since": since,
            "until": until,
            "days": round((until - since).total_seconds() / 86400, 1),
            "messages": _messages(conn, since, until),
            "error_codes": _error_codes(conn, since, until),
            "sms": sms,
            "checkins": _checkins(conn, since, until),
            "escalations": _escalations(conn, since, until),
            "clearance": _clearance(conn, since, until),
            "opt_outs": _opt_outs(conn, since, until),
            "questionnaires": _questionnaires(app, conn, since, until),
        }


def _within(column: Any, since: datetime, until: datetime) -> Any:
    return (column >= since) & (column < until)


def _last_attempts() -> Any:
    """Each outbox row's latest attempt id."""
    return (
        select(delivery_attempts.c.outbox_id, func.max(delivery_attempts.c.id).label("attempt_id"))
        .group_by(delivery_attempts.c.outbox_id)
        .subquery()
    )


def _messages(conn: Connection, since: datetime, until: datetime) -> dict[str, Any]:
    last = _last_attempts()
    joined = outbox.outerjoin(last, last.c.outbox_id == outbox.c.id).outerjoin(
        delivery_attempts, delivery_attempts.c.id == last.c.attempt_id
    )
    query = (
        select(
            outbox.c.channel,
            outbox.c.status,
            outbox.c.reason,
            delivery_attempts.c.status.label("attempt"),
            func.count().label("n"),
        )
        .select_from(joined)
        .where(_within(outbox.c.due_at, since, until))
        .group_by(outbox.c.channel, outbox.c.status, outbox.c.reason, delivery_attempts.c.status)
    )
    by_channel: dict[str, Counter[str]] = {}
    failures: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for r in conn.execute(query).mappings():
        result = rf.outcome(r["status"], r["reason"], r["attempt"])
        by_channel.setdefault(r["channel"], Counter())[result] += r["n"]
        if result in ("failed", "undelivered"):
            failures[r["reason"] or result] += r["n"]
        elif result == "skipped":
            skipped[r["reason"] or "no reason recorded"] += r["n"]
    totals: Counter[str] = Counter()
    for counts in by_channel.values():
        totals.update(counts)
    channels = [
        {
            "channel": channel,
            "total": sum(counts.values()),
            "outcomes": {o: counts.get(o, 0) for o in rf.OUTCOMES},
        }
        for channel, counts in sorted(by_channel.items())
    ]
    return {
        "total": sum(totals.values()),
        "outcomes": {o: totals.get(o, 0) for o in rf.OUTCOMES},
        "channels": channels,
        "failure_reasons": _top(failures),
        "skip_reasons": _top(skipped),
    }


def _top(counts: Counter[str]) -> list[dict[str, Any]]:
    """The most frequent reasons first (ties by name), the rest summed as "other"."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = [{"reason": k, "count": n} for k, n in ordered[:TOP_REASONS]]
    rest = sum(n for _, n in ordered[TOP_REASONS:])
    if rest:
        top.append({"reason": "other", "count": rest})
    return top


def _error_codes(conn: Connection, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Provider error codes of the attempts made in the window, most frequent first."""
    query = (
        select(delivery_attempts.c.channel, delivery_attempts.c.error_code, func.count().label("n"))
        .where(
            _within(delivery_attempts.c.created_at, since, until), delivery_attempts.c.error_code.is_not(None)
        )
        .group_by(delivery_attempts.c.channel, delivery_attempts.c.error_code)
    )
    rows = [
        {"channel": r["channel"], "code": r["error_code"], "count": r["n"]}
        for r in conn.execute(query).mappings()
    ]
    rows.sort(key=lambda r: (-r["count"], r["channel"], r["code"]))
    return rows[:TOP_REASONS]


def _sms(conn: Connection, since: datetime, until: datetime, price: float) -> dict[str, Any]:
    query = (
        select(sandbox_messages.c.body)
        .select_from(
            delivery_attempts.outerjoin(
                sandbox_messages, sandbox_messages.c.attempt_id == delivery_attempts.c.id
            )
        )
        .where(
            delivery_attempts.c.channel == "sms",
            delivery_attempts.c.status.in_(sorted(rf.BILLED_ATTEMPTS)),
            _within(delivery_attempts.c.created_at, since, until),
        )
    )
    messages = segments = without_text = 0
    for (body,) in conn.execute(query):
        messages += 1
        if body is None:
            without_text += 1
            segments += 1
        else:
            segments += segment_info(body).segments
    return {
        "messages": messages,
        "segments": segments,
        "counted_as_one": without_text,
        "price": price,
        "cost": rf.sms_cost(segments, price),
    }


def _emails_sent(conn: Connection, since: datetime, until: datetime) -> int:
    query = select(func.count()).where(
        delivery_attempts.c.channel == "email",
        delivery_attempts.c.status.in_(sorted(rf.BILLED_ATTEMPTS)),
        _within(delivery_attempts.c.created_at, since, until),
    )
    return int(conn.execute(query).scalar_one())


def _checkins(conn: Connection, since: datetime, until: datetime) -> dict[str, Any]:
    query = select(checkins.c.opened_at, checkins.c.answered_at).where(
        checkins.c.kind == "checkin", _within(checkins.c.opened_at, since, until)
    )
    asked = 0
    waits: list[float] = []
    for opened, answered in conn.execute(query):
        asked += 1
        if answered is not None:
            waits.append(rf.minutes(opened, answered))
    return {
        "asked": asked,
        "answered": len(waits),
        "response_rate": round(len(waits) / asked, 3) if asked else None,
        "median_minutes": _rounded(rf.median(waits)),
    }


def _escalations(conn: Connection, since: datetime, until: datetime) -> dict[str, Any]:
    rows = list(
        conn.execute(
            select(
                escalations.c.id,
                escalations.c.kind,
                escalations.c.category,
                escalations.c.level,
                escalations.c.created_at,
                escalations.c.acked_at,
            ).where(_within(escalations.c.created_at, since, until))
        ).mappings()
    )
    by_category = Counter(_category(r) for r in rows)
    waits = [rf.minutes(r["created_at"], r["acked_at"]) for r in rows if r["acked_at"] is not None]
    return {
        "count": len(rows),
        "by_category": [
            {"category": k, "count": n}
            for k, n in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "acknowledged": len(waits),
        "unacknowledged": len(rows) - len(waits),
        "median_minutes": _rounded(rf.median(waits)),
        "p90_minutes": _rounded(rf.percentile(waits, 90)),
        "ack_minutes": sorted(round(w, 1) for w in waits),
        "repaged": sum(1 for r in rows if r["level"] > 0),
        "repages": sum(r["level"] for r in rows),
        "unrouted": _unrouted(conn, {r["id"] for r in rows}),
    }


def _category(r: Mapping[Any, Any]) -> str:
    """A crisis is counted by its category; every other escalation by its kind."""
    return str(r["category"]) if r["kind"] == "crisis" and r["category"] else str(r["kind"])


def _unrouted(conn: Connection, ids: set[int]) -> int:
    """How many of the escalations `ids` found nobody to page (their unrouted staff task)."""
    if not ids:
        return 0
    keys = conn.execute(
        select(staff_tasks.c.dedupe_key).where(staff_tasks.c.dedupe_key.like(f"{UNROUTED_PREFIX}%"))
    ).scalars()
    found = set()
    for key in keys:
        tail = key[len(UNROUTED_PREFIX) :]
        if tail.isdigit() and int(tail) in ids:
            found.add(int(tail))
    return len(found)


def _clearance(conn: Connection, since: datetime, until: datetime) -> dict[str, Any]:
    query = (
        select(sessions.c.clearance, func.count().label("n"))
        .where(_within(sessions.c.start_at, since, until), sessions.c.status != SessionState.CANCELLED.value)
        .group_by(sessions.c.clearance)
    )
    counts = {r["clearance"]: r["n"] for r in conn.execute(query).mappings()}
    states = {s: counts.get(s, 0) for s in CLEARANCE_STATES}
    return {"sessions": sum(counts.values()), "states": states}


def _opt_outs(conn: Connection, since: datetime, until: datetime) -> dict[str, Any]:
    query = (
        select(consent_events.c.source, consent_events.c.purpose, func.count().label("n"))
        .where(consent_events.c.action == "opt_out", _within(consent_events.c.created_at, since, until))
        .group_by(consent_events.c.source, consent_events.c.purpose)
    )
    rows = [
        {"source": r["source"], "purpose": r["purpose"], "count": r["n"]}
        for r in conn.execute(query).mappings()
    ]
    rows.sort(key=lambda r: (-r["count"], r["source"], r["purpose"]))
    return {"total": sum(r["count"] for r in rows), "rows": rows}


def _questionnaires(
    app: Interlude, conn: Connection, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Per instrument: questionnaires sent, started, completed, the completion rate, and the mean
    change of the patients' latest score (completed in the window) from their first one."""
    steps = {
        (name, step.id): step.measure
        for name, schedule in app.schedules.items()
        for step in schedule.steps
        if step.measure
    }
    sent: dict[str, set[str]] = {}
    if steps:
        query = select(
            outbox.c.patient_id, outbox.c.schedule, outbox.c.step_id, outbox.c.session_id, outbox.c.occurrence
        ).where(
            outbox.c.status == "sent",
            outbox.c.audience == "patient",
            outbox.c.step_id.in_(sorted({step for _, step in steps})),
            _within(outbox.c.due_at, since, until),
        )
        for r in conn.execute(query).mappings():
            instrument = steps.get((r["schedule"], r["step_id"]))
            if instrument is not None:
                key = f"{r['patient_id']}:{r['schedule']}:{r['step_id']}:{r['session_id'] or 0}:{r['occurrence']}"
                sent.setdefault(str(instrument), set()).add(key)
    keys = set().union(*sent.values()) if sent else set()
    answered: dict[str, bool] = {}
    for chunk in _chunks(sorted(keys)):
        query = select(measure_responses.c.link_key, measure_responses.c.completed_at).where(
            measure_responses.c.link_key.in_(chunk)
        )
        for row in conn.execute(query):
            answered[str(row.link_key)] = row.completed_at is not None
    changes = _changes(conn, since, until)
    out = []
    for instrument in sorted(set(sent) | set(changes)):
        mine = sent.get(instrument, set())
        completed = sum(1 for k in mine if answered.get(k))
        deltas = changes.get(instrument, [])
        out.append(
            {
                "instrument": instrument,
                "sent": len(mine),
                "started": sum(1 for k in mine if k in answered),
                "completed": completed,
                "completion_rate": round(completed / len(mine), 3) if mine else None,
                "patients_compared": len(deltas),
                "mean_change": round(sum(deltas) / len(deltas), 1) if deltas else None,
            }
        )
    return out


def _chunks(items: list[str], size: int = 1000) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _changes(conn: Connection, since: datetime, until: datetime) -> dict[str, list[int]]:
    """Per instrument, for each patient with a score completed in the window and one before it:
    the latest such score minus the patient's first score ever."""
    recent = select(measure_responses.c.patient_id).where(
        measure_responses.c.score.is_not(None), _within(measure_responses.c.completed_at, since, until)
    )
    query = (
        select(
            measure_responses.c.patient_id,
            measure_responses.c.instrument,
            measure_responses.c.score,
            measure_responses.c.completed_at,
        )
        .where(
            measure_responses.c.patient_id.in_(recent),
            measure_responses.c.score.is_not(None),
            measure_responses.c.completed_at < until,
        )
        .order_by(measure_responses.c.completed_at, measure_responses.c.id)
    )
    series: dict[tuple[int, str], list[tuple[datetime, int]]] = {}
    for r in conn.execute(query).mappings():
        series.setdefault((r["patient_id"], r["instrument"]), []).append((r["completed_at"], r["score"]))
    changes: dict[str, list[int]] = {}
    for (_, instrument), scores in series.items():
        (_, baseline), (last_at, last) = scores[0], scores[-1]
        if len(scores) > 1 and last_at >= since:
            changes.setdefault(instrument, []).append(last - baseline)
    return changes


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def csv_rows(figures: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """The report as (section, figure, value) rows: what `interlude report --csv` writes."""
    out: list[tuple[str, str, Any]] = [
        ("window", "since", figures["since"].isoformat()),
        ("window", "until", figures["until"].isoformat()),
    ]
    m = figures["messages"]
    out.append(("messages", "total", m["total"]))
    for c in m["channels"]:
        for o, n in c["outcomes"].items():
            out.append(("messages", f"{c['channel']}/{o}", n))
    for r in m["failure_reasons"]:
        out.append(("failure_reasons", r["reason"], r["count"]))
    for r in m["skip_reasons"]:
        out.append(("skip_reasons", r["reason"], r["count"]))
    for r in figures["error_codes"]:
        out.append(("error_codes", f"{r['channel']}/{r['code']}", r["count"]))
    for key in ("messages", "segments", "counted_as_one", "price", "cost"):
        out.append(("sms", key, figures["sms"][key]))
    for key in ("emails", "email_price", "email_cost", "total_cost"):
        out.append(("cost", key, figures["sms"][key]))
    for key in ("asked", "answered", "response_rate", "median_minutes"):
        out.append(("checkins", key, figures["checkins"][key]))
    e = figures["escalations"]
    for key in (
        "count",
        "acknowledged",
        "unacknowledged",
        "median_minutes",
        "p90_minutes",
        "repaged",
        "repages",
        "unrouted",
    ):
        out.append(("escalations", key, e[key]))
    for r in e["by_category"]:
        out.append(("escalation_categories", r["category"], r["count"]))
    out.append(("clearance", "sessions", figures["clearance"]["sessions"]))
    for state, n in figures["clearance"]["states"].items():
        out.append(("clearance", state, n))
    out.append(("opt_outs", "total", figures["opt_outs"]["total"]))
    for r in figures["opt_outs"]["rows"]:
        out.append(("opt_outs", f"{r['source']}/{r['purpose']}", r["count"]))
    for q in figures["questionnaires"]:
        for key in ("sent", "started", "completed", "completion_rate", "patients_compared", "mean_change"):
            out.append(("questionnaires", f"{q['instrument']}/{key}", q[key]))
    return [(s, f, "" if v is None else v) for s, f, v in out]
