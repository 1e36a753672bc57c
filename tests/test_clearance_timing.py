"""Clearance: its reminder goes at the step's `reminder_after`, and the "clearance missing" task
opens at the clinic's next office hour, not late in the evening."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from service.db.tables import outbox, staff_tasks
from service.domain.office_hours import OfficeHours, clearance_task_at, next_open
from service.scheduler import sweep
from service.services.outbox.dispatch import Dispatcher
from tests.helpers import book, enrol, make_config, make_services
from tests.reply_helpers import EXTRA

NY = ZoneInfo("America/New_York")
WEEKDAYS = OfficeHours(time(8), time(18), ("mon", "tue", "wed", "thu", "fri"), NY)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def test_within_office_hours_the_clinic_is_open_now():
    assert next_open(ny(2027, 3, 3, 10, 0), WEEKDAYS) == ny(2027, 3, 3, 10, 0)


def test_at_night_the_clinic_next_opens_the_next_morning():
    assert next_open(ny(2027, 3, 3, 21, 0), WEEKDAYS) == ny(2027, 3, 4, 8, 0)
    assert next_open(ny(2027, 3, 4, 6, 30), WEEKDAYS) == ny(2027, 3, 4, 8, 0)


def test_on_friday_evening_the_clinic_next_opens_on_monday_across_a_clock_change():
    # The United States moves its clocks on Sunday 14 March 2027.
    assert next_open(ny(2027, 3, 12, 18, 0), WEEKDAYS) == ny(2027, 3, 15, 8, 0)


def test_the_missing_clearance_task_waits_for_the_next_opening_before_the_session():
    assert clearance_task_at(ny(2027, 3, 4, 9, 0), timedelta(hours=12), WEEKDAYS) == ny(2027, 3, 4, 8, 0)


def test_when_the_clinic_opens_only_after_the_session_starts_the_task_opens_at_the_deadline():
    start = ny(2027, 3, 4, 7, 0)
    assert clearance_task_at(start, timedelta(hours=12), WEEKDAYS) == start - timedelta(hours=12)


@pytest.fixture
def app(db_url, clock):
    services = make_services(db_url, clock, config=make_config(db_url, extra=EXTRA))
    yield services
    services.engine.dispose()


def _run(app, clock, until: datetime) -> None:
    dispatcher = Dispatcher(app)
    while clock.now < until:
        dispatcher.run_once()
        sweep(app)
        clock.advance(timedelta(minutes=10))


def test_an_unanswered_clearance_is_reminded_at_reminder_after_and_its_task_opens_at_8_am(app, clock):
    patient = enrol(app)
    book(app, patient["id"], "2027-03-04T09:00")
    clock.set(ny(2027, 3, 3, 17, 50))
    _run(app, clock, ny(2027, 3, 3, 20, 50))
    with app.engine.connect() as conn:
        reminders = (
            conn.execute(select(outbox).where(outbox.c.template == "checkin_reminder")).mappings().all()
        )
    assert reminders == []
    # The question went at 18:00; the schedule's reminder_after is 3 hours.
    _run(app, clock, ny(2027, 3, 3, 21, 10))
    with app.engine.connect() as conn:
        reminders = (
            conn.execute(select(outbox).where(outbox.c.template == "checkin_reminder")).mappings().all()
        )
        tasks = conn.execute(select(staff_tasks).where(staff_tasks.c.kind == "clearance-missing")).all()
    assert reminders and all(
        ny(2027, 3, 3, 21, 0) <= r["created_at"] <= ny(2027, 3, 3, 21, 10) for r in reminders
    )
    # 12 hours before the 09:00 session is 21:00: the task waits for the clinic to open.
    assert tasks == []
    _run(app, clock, ny(2027, 3, 4, 7, 59))
    with app.engine.connect() as conn:
        assert conn.execute(select(staff_tasks).where(staff_tasks.c.kind == "clearance-missing")).all() == []
    _run(app, clock, ny(2027, 3, 4, 8, 10))
    with app.engine.connect() as conn:
        [task] = (
            conn.execute(select(staff_tasks).where(staff_tasks.c.kind == "clearance-missing"))
            .mappings()
            .all()
        )
    assert ny(2027, 3, 4, 8, 0) <= task["created_at"] <= ny(2027, 3, 4, 8, 10)
