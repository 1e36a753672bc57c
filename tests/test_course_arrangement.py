"""A whole course booked through the service: one grouped confirmation, the integration note once,
education within its caps, nothing but safety around a session; a cancel hands the carried
messages on. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from service.config import ConfigError, parse_config
from service.runtime import Interlude
from service.schedules import ScheduleError, parse_schedule
from service.services import sessions
from service.services.bulk import book_sessions
from service.services.content.preview import preview
from service.services.outbox.course import arrange_patient
from service.web import create_app
from tests.helpers import ROOT, FakeClock, book, cli_runner, enrol, make_config, make_services, rows

NY = ZoneInfo("America/New_York")
# Twice a week for four weeks: Mondays and Thursdays at 10:00 New York, from March 15th 2027.
STARTS = [f"2027-03-{d:02d}T10:00" for d in (15, 18, 22, 25, 29)] + [
    f"2027-04-{d:02d}T10:00" for d in (1, 5, 8)
]


@pytest.fixture
def services(db_url: str, clock: FakeClock) -> Iterator[Interlude]:
    """The shipped schedules as they are (the other tests send the confirmation at once)."""
    s = make_services(db_url, clock, config=make_config(db_url, schedules=ROOT / "schedules"))
    yield s
    s.engine.dispose()


def book_course(services, clock, modality: str = "iv") -> tuple[dict, list[int]]:
    p = enrol(services)
    ids = []
    for start in STARTS:
        ids.append(book(services, p["id"], start, modality)["id"])
        clock.advance(timedelta(minutes=1))  # the front desk books them one after the other
    return p, ids


def of_step(services, patient_id: int, step: str) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for r in rows(services, patient_id=patient_id, step_id=step):
        out[r["session_id"]].append(r)
    return out


def test_a_course_booked_together_gets_one_confirmation_and_one_integration_note(services, clock):
    p, ids = book_course(services, clock)
    confirmations = of_step(services, p["id"], "booking_confirmation")
    carrier = confirmations[ids[0]]
    assert {(r["channel"], r["status"], r["reason"]) for r in carrier} == {
        ("sms", "pending", "grouped"),
        ("email", "pending", "grouped"),
    }
    assert all(r["context"] == {"group": ids} for r in carrier)
    # held until ten minutes after the last booking (the 8th came 7 minutes after the 1st)
    booked = carrier[0]["created_at"]
    assert all(r["due_at"] == booked + timedelta(minutes=17) for r in carrier)
    for sid in ids[1:]:
        assert {(r["status"], r["reason"]) for r in confirmations[sid]} == {("skipped", "grouped")}
    assert sum(len(confirmations[sid]) for sid in ids[1:]) == 14  # 7 sessions, by SMS and email

    notes = of_step(services, p["id"], "integration_72h")
    assert {r["status"] for r in notes[ids[0]]} == {"pending"}
    for sid in ids[1:]:
        assert {(r["status"], r["reason"]) for r in notes[sid]} == {("skipped", "once-per-course")}

    _education_within_caps(services, p["id"])
    _quiet_around_sessions(services, p["id"])
    with services.engine.begin() as conn:  # arranging again changes nothing
        assert arrange_patient(conn, services, p["id"], services.clock()).changed == 0


def test_cancelling_the_first_session_hands_its_messages_to_the_next(services, clock):
    p, ids = book_course(services, clock)
    sessions.cancel_session(services, ids[0], {"reason": "unwell"}, "test")
    confirmations = of_step(services, p["id"], "booking_confirmation")
    assert {r["status"] for r in confirmations[ids[0]]} == {"cancelled"}
    carrier = confirmations[ids[1]]
    assert {(r["status"], r["reason"]) for r in carrier} == {("pending", "grouped")}
    assert all(r["context"] == {"group": ids[1:]} for r in carrier)
    for sid in ids[2:]:
        assert {r["status"] for r in confirmations[sid]} == {"skipped"}
    notes = of_step(services, p["id"], "integration_72h")
    assert {(r["status"], r["reason"]) for r in notes[ids[1]]} == {("pending", None)}
    assert all(r["status"] == "skipped" for sid in ids[2:] for r in notes[sid])
    _education_within_caps(services, p["id"])


def test_intranasal_sessions_get_no_integration_note(services, clock):
    p, _ = book_course(services, clock, modality="intranasal")
    assert of_step(services, p["id"], "integration_72h") == {}


def test_a_bulk_import_is_arranged_once_per_patient(services, clock):
    p = enrol(services)
    items = [{"patient_id": p["id"], "start": s, "modality": "iv"} for s in STARTS]
    outcome = book_sessions(services, items, "import")
    ids = [sid for _, sid in outcome.booked]
    confirmations = of_step(services, p["id"], "booking_confirmation")
    assert all(r["context"] == {"group": ids} for r in confirmations[ids[0]])
    assert all(r["status"] == "skipped" for sid in ids[1:] for r in confirmations[sid])
    notes = of_step(services, p["id"], "integration_72h")
    assert [sid for sid, rs in notes.items() if rs[0]["status"] == "pending"] == [ids[0]]
    _education_within_caps(services, p["id"])


def _education_within_caps(services, patient_id: int) -> None:
    days: dict = defaultdict(set)
    for r in rows(services, patient_id=patient_id, category="education"):
        if r["status"] == "pending":
            days[r["due_at"].astimezone(NY).date()].add((r["session_id"], r["step_id"]))
    assert days and all(len(v) <= 1 for v in days.values())
    for d in days:
        assert sum(len(days.get(d + timedelta(days=k), ())) for k in range(7)) <= 3


def _quiet_around_sessions(services, patient_id: int) -> None:
    with services.engine.connect() as conn:
        ids = {r["session_id"] for r in rows(services, patient_id=patient_id) if r["session_id"] is not None}
        booked = [sessions.get_session(conn, sid) for sid in ids]
    spans = {(s["start_at"], s["start_at"] + timedelta(minutes=s["duration_minutes"] + 120)) for s in booked}
    for r in rows(services, patient_id=patient_id, status="pending"):
        if r["category"] in ("education", "admin"):
            assert not any(a <= r["due_at"] < b for a, b in spans), r


# --- the settings and schedule keys, with errors naming the key -------------------------------


STEP = """description = "A test schedule."

[[step]]
id = "confirm"
anchor = "{anchor}"
category = "{category}"
channels = ["sms"]
template = "confirm"
{extra}
"""


def test_the_course_keys_of_a_step_are_read():
    step = parse_schedule(
        STEP.format(anchor="booking", category="admin", extra='group_within = "10m"'), "t.toml", "t"
    ).steps[0]
    assert step.group_within == timedelta(minutes=10) and step.once_per_course is False
    step = parse_schedule(
        STEP.format(anchor="end", category="education", extra="once_per_course = true"), "t.toml", "t"
    ).steps[0]
    assert step.once_per_course is True and step.group_within is None


@pytest.mark.parametrize(
    ("anchor", "category", "extra", "key", "problem"),
    [
        ("end", "education", 'once_per_course = "yes"', "once_per_course", "expected true or false"),
        ("end", "safety", "once_per_course = true", "once_per_course", "safety messages"),
        ("booking", "admin", 'group_within = "soon"', "group_within", ""),
        ("booking", "admin", 'group_within = "0m"', "group_within", "such as '10m'"),
        ("start", "admin", 'group_within = "10m"', "group_within", "anchored on the booking"),
    ],
)
def test_a_bad_course_key_is_refused_by_name(anchor, category, extra, key, problem):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(STEP.format(anchor=anchor, category=category, extra=extra), "t.toml", "t")
    assert caught.value.key == key and problem in str(caught.value)


def test_the_course_settings_default_and_are_checked_by_name():
    m = parse_config("", "c").messages
    assert (m.education_per_day, m.education_per_week, m.quiet_after_session) == (1, 3, timedelta(hours=2))
    for text, key in [
        ("education_per_day = 0", "messages.education_per_day"),
        ("education_per_day = 4", "messages.education_per_week"),
        ('quiet_after_session = "later"', "messages.quiet_after_session"),
        ('quiet_after_session = "2d"', "messages.quiet_after_session"),
    ]:
        with pytest.raises(ConfigError, match=key):
            parse_config(f"[messages]\n{text}\n", "c")


# --- the preview of a whole course ----------------------------------------------------------------


COURSE_ARGS = ["preview", "--modality", "iv", "--start", "2027-03-15T14:00", "--tz", "America/New_York"]


def test_the_preview_of_a_course_shows_what_the_course_rules_do(sqlite_url, clock):
    app = make_services(sqlite_url, clock, config=make_config(sqlite_url, schedules=ROOT / "schedules"))
    shown = preview(
        app, modality="iv", start="2027-03-15T14:00", tz="America/New_York", sessions=8, every="84h"
    )
    confirmations = [(r.session, r.status, r.reason) for r in shown if r.step == "booking_confirmation"]
    assert sorted(set(confirmations)) == [(1, "pending", "grouped")] + [
        (n, "skipped", "grouped") for n in range(2, 9)
    ]
    notes = {(r.session, r.status) for r in shown if r.step == "integration_72h"}
    assert notes == {(1, "pending")} | {(n, "skipped") for n in range(2, 9)}
    assert len({r.session for r in shown if r.session is not None}) == 8
    runner = cli_runner(create_app(services=app))
    out = runner.invoke(args=[*COURSE_ARGS, "--sessions", "3", "--every", "3d"])
    assert out.exit_code == 0, out.output
    assert "#2 booking_confirmation · sms · admin · skipped (grouped)" in out.output
    bad = runner.invoke(args=[*COURSE_ARGS, "--sessions", "3", "--every", "soon"])
    assert bad.exit_code == 2 and "error: every:" in bad.output
