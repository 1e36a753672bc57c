"""Benchmark 8: what one patient receives over a twice-weekly esketamine induction.

Not a speed figure: a count of messages. The demo config (sandbox transports, a demo on-call
clinician) on a scratch SQLite database; one patient (SMS and email, depression, English, New
York) is enrolled and then booked for 8 intranasal sessions, Mondays and Thursdays at 10:00
over 4 weeks, one booking after another a minute apart, as a front desk enters a course. A
simulated clock then moves through 30 days in 5-minute steps, running what the worker runs each
step (dispatch, the check-in reminders, the unconfirmed-preparation sweep), so that every due
message is sent by the sandbox transports. Nobody replies; the staff pages that silence opens
are counted apart, and they are not re-paged (that sweep is left out: it is about staff, not the
patient). Each message's send time is the simulated
time of the step that sent it.

Printed (and returned as figures): patient messages by channel and by category, the most
education messages in one local day and in any 7 days, booking confirmations, integration notes,
and messages sent during a session (from its start to 2 hours after its end).

    python bench/b8_course_volume.py        # alone, with the full listing
    python -m bench --only 8                # in the table with the others
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __name__ == "__main__" and __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from sqlalchemy import select

from service.bootstrap import build
from service.config import parse_config
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import delivery_attempts, outbox, sandbox_messages, sessions
from service.demo import DEMO_CONFIG
from service.runtime import Interlude
from service.services.clinic import ensure_clinic
from service.services.outbox import delivery_policy
from service.services.outbox.dispatch import Dispatcher
from service.services.patients import create_patient
from service.services.replies import checkins
from service.services.sessions import book_session

from .common import ROOT, Context, Figure

TITLE = "messages to one patient over a twice-weekly intranasal induction (8 sessions)"
B = "8 course volume"
ZONE = ZoneInfo("America/New_York")
# Tuesday 2027-03-02, 10:00 in New York: the front desk books the course.
NOW = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
FIRST_MONDAY = date(2027, 3, 8)
STEP = timedelta(minutes=5)
DAYS = 30
AFTER_SESSION = timedelta(hours=2)
CATEGORIES = ("admin", "prep", "safety", "education")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def course_starts() -> list[datetime]:
    """Mondays and Thursdays at 10:00 New York time, 4 weeks: 8 sessions."""
    days = [FIRST_MONDAY + timedelta(weeks=w, days=d) for w in range(4) for d in (0, 3)]
    return [datetime(d.year, d.month, d.day, 10, 0, tzinfo=ZONE) for d in days]


def make_app(url: str, clock: Clock) -> Interlude:
    config_text = (
        DEMO_CONFIG
        + f'\n[database]\nurl = "{url}"\n[schedules]\ndir = "{(ROOT / "schedules").as_posix()}"\n'
        + f'[messages]\ndir = "{(ROOT / "messages").as_posix()}"\n'
    )
    engine = make_engine(url, 4)
    upgrade(engine)
    app = build(parse_config(config_text, "bench-demo-config", {}), clock=clock, engine=engine)
    ensure_clinic(app)
    return app


def simulate(app: Interlude, clock: Clock) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Enrol, book the course, run the worker's jobs for DAYS; returns (messages, sessions)."""
    patient = create_patient(
        app,
        {
            "first_name": "Sam",
            "last_name": "Course",
            "phone": "+12025550144",
            "email": "sam.course@example.org",
            "timezone": "America/New_York",
            "language": "en",
            "indications": ["depression"],
            "external_ref": "bench-course-1",
        },
        actor="bench",
    )
    for start in course_starts():
        clock.now += timedelta(minutes=1)  # one booking after another at the front desk
        book_session(
            app,
            {"patient_id": patient["id"], "start": start.isoformat(), "modality": "intranasal"},
            actor="bench",
        )
    dispatcher = Dispatcher(app)
    sent_at: dict[int, datetime] = {}
    end = NOW + timedelta(days=DAYS)
    while clock.now <= end:
        app.refresh_content()
        dispatcher.run_once()
        checkins.sweep(app)  # reminders for unanswered check-ins (their escalations are staff pages)
        delivery_policy.sweep_unconfirmed_prep(app)
        dispatcher.run_once()
        with app.engine.connect() as conn:
            for (sid,) in conn.execute(
                select(sandbox_messages.c.id).where(sandbox_messages.c.id > max(sent_at, default=0))
            ):
                sent_at[sid] = clock.now
        clock.now += STEP
    query = (
        select(
            sandbox_messages.c.id,
            sandbox_messages.c.channel,
            outbox.c.category,
            outbox.c.template,
            outbox.c.recipient,
            outbox.c.session_id,
        )
        .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
        .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
        .order_by(sandbox_messages.c.id)
    )
    with app.engine.connect() as conn:
        messages = [dict(r, sent_at=sent_at[r["id"]]) for r in conn.execute(query).mappings()]
        booked = [dict(r) for r in conn.execute(select(sessions).order_by(sessions.c.start_at)).mappings()]
    return messages, booked


def most_in_window(times: list[datetime], days: int) -> int:
    """The most messages in any `days` consecutive local calendar days."""
    per_day = Counter(t.astimezone(ZONE).date() for t in times)
    if not per_day:
        return 0
    first, last = min(per_day), max(per_day)
    best = 0
    day = first
    while day <= last:
        best = max(best, sum(per_day.get(day + timedelta(days=i), 0) for i in range(days)))
        day += timedelta(days=1)
    return best


def during_sessions(messages: list[Mapping[str, Any]], booked: list[Mapping[str, Any]]) -> int:
    windows = [
        (s["start_at"], s["start_at"] + timedelta(minutes=s["duration_minutes"]) + AFTER_SESSION)
        for s in booked
    ]
    return sum(1 for m in messages if any(a <= m["sent_at"] <= b for a, b in windows))


def figures(messages: list[dict[str, Any]], booked: list[dict[str, Any]]) -> tuple[list[Figure], list[str]]:
    to_patient = [m for m in messages if m["recipient"] is None]
    staff = len(messages) - len(to_patient)
    by_channel = Counter(m["channel"] for m in to_patient)
    by_category = Counter((m["category"], m["channel"]) for m in to_patient)
    # Every category on both channels, zeros included, so that runs compare line by line.
    keys = sorted({*((c, ch) for c in CATEGORIES for ch in ("sms", "email")), *by_category})
    education = [m["sent_at"] for m in to_patient if m["category"] == "education"]
    confirmations = Counter(m["channel"] for m in to_patient if m["template"] == "booking_confirmation")
    notes = Counter(m["channel"] for m in to_patient if m["template"] == "integration_note")
    during = during_sessions(to_patient, booked)
    edu_day, edu_week = most_in_window(education, 1), most_in_window(education, 7)
    found = [
        Figure(B, "SMS to the patient", by_channel["sms"], "msgs"),
        Figure(B, "email to the patient", by_channel["email"], "msgs"),
        *(
            Figure(B, f"{category} by {channel}", n, "msgs")
            for (category, channel), n in ((k, by_category[k]) for k in keys)
        ),
        Figure(B, "education, most in one day (SMS + email)", edu_day, "msgs"),
        Figure(B, "education, most in any 7 days (SMS + email)", edu_week, "msgs"),
        Figure(B, "booking confirmations (SMS + email)", sum(confirmations.values()), "msgs"),
        Figure(B, "integration notes (SMS + email)", sum(notes.values()), "msgs"),
        Figure(B, "sent during a session (start to end + 2 h)", during, "msgs"),
    ]
    lines = [
        f"patient: {len(to_patient)} messages ({by_channel['sms']} SMS, {by_channel['email']} email); "
        f"{staff} to staff",
        "by category: " + ", ".join(f"{c}/{ch} {by_category[(c, ch)]}" for c, ch in keys),
        f"education: most in one day {edu_day}, in any 7 days {edu_week} (SMS + email, New York days)",
        f"booking confirmations: {dict(confirmations)}; integration notes: {dict(notes)}",
        f"sent during [start, end + 2 h] of a session: {during}",
        f"sessions: {len(booked)} ({', '.join(s['status'] for s in booked)})",
    ]
    return found, lines


def measure(url: str) -> tuple[list[Figure], list[str], list[dict[str, Any]]]:
    clock = Clock(NOW)
    app = make_app(url, clock)
    try:
        messages, booked = simulate(app, clock)
    finally:
        app.engine.dispose()
    found, lines = figures(messages, booked)
    return found, lines, messages


def run(ctx: Context) -> list[Figure]:
    url = ctx.sqlite_url("b8")
    try:
        found, lines, _ = measure(url)
    finally:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    found[0].note = "; ".join(lines)
    return found


def main() -> None:
    ctx = Context()
    url = ctx.sqlite_url("b8")
    try:
        _, lines, messages = measure(url)
    finally:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    for m in messages:
        local = m["sent_at"].astimezone(ZONE)
        who = "staff" if m["recipient"] else "patient"
        print(f"{local:%a %Y-%m-%d %H:%M}  {m['channel']:<5} {m['category']:<9} {m['template']:<22} {who}")
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
