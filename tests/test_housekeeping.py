"""Housekeeping prunes what is final and past its retention, keeps what it must, in batches."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from service.db.tables import (
    audit_events,
    checkins,
    consent_events,
    delivery_attempts,
    escalations,
    inbound_messages,
    outbox,
    sandbox_messages,
)
from service.runtime import Interlude
from service.scheduler import build_scheduler
from service.services import sessions
from service.services.outbox import housekeeping
from service.services.outbox.housekeeping import PRUNABLE, TABLES
from tests.helpers import T0, book, cli_runner, enrol, make_config, make_services, opt_out

OLD = T0 - timedelta(days=401)
YOUNG = T0 - timedelta(days=399)
_serial = itertools.count(1)


def services_with(db_url: str, clock: Any, retention: str = "") -> Interlude:
    return make_services(db_url, clock, config=make_config(db_url, extra=f"[retention]\n{retention}"))


@pytest.fixture
def app(db_url: str, clock: Any) -> Iterator[Interlude]:
    s = services_with(db_url, clock)
    yield s
    s.engine.dispose()


@pytest.fixture
def patient(app: Interlude) -> int:
    return int(enrol(app)["id"])


def message(
    app: Interlude,
    patient_id: int,
    *,
    status: str = "sent",
    at: datetime = OLD,
    session_id: int | None = None,
    key: str | None = None,
) -> int:
    """An outbox row last changed `at`, with one delivery attempt and its sandbox record."""
    with app.engine.begin() as conn:
        outbox_id = conn.execute(
            insert(outbox)
            .values(
                dedupe_key=key or f"test:{next(_serial)}",
                patient_id=patient_id,
                session_id=session_id,
                schedule="default",
                step_id="step",
                template="t",
                channel="sms",
                category="admin",
                priority=3,
                due_at=at,
                next_attempt_at=at,
                status=status,
                attempts=1,
                created_at=at,
                updated_at=at,
            )
            .returning(outbox.c.id)
        ).scalar_one()
        attempt_id = conn.execute(
            insert(delivery_attempts)
            .values(
                outbox_id=outbox_id,
                number=1,
                channel="sms",
                transport="sandbox",
                status="delivered",
                created_at=at,
                updated_at=at,
            )
            .returning(delivery_attempts.c.id)
        ).scalar_one()
        conn.execute(
            insert(sandbox_messages).values(
                attempt_id=attempt_id, channel="sms", recipient="+12025550143", body="hello", created_at=at
            )
        )
    return int(outbox_id)


def checkin(app: Interlude, outbox_id: int, patient_id: int, state: str, at: datetime = OLD) -> int:
    with app.engine.begin() as conn:
        return int(
            conn.execute(
                insert(checkins)
                .values(
                    outbox_id=outbox_id,
                    patient_id=patient_id,
                    schedule="default",
                    step_id="step",
                    kind="checkin",
                    state=state,
                    opened_at=at,
                    closes_at=at + timedelta(hours=4),
                )
                .returning(checkins.c.id)
            ).scalar_one()
        )


def escalation(
    app: Interlude, patient_id: int, state: str, checkin_id: int | None = None, inbound_id: int | None = None
) -> int:
    with app.engine.begin() as conn:
        return int(
            conn.execute(
                insert(escalations)
                .values(
                    code=f"E{next(_serial)}",
                    patient_id=patient_id,
                    checkin_id=checkin_id,
                    inbound_id=inbound_id,
                    kind="concerning-answer",
                    state=state,
                    level=0,
                    created_at=OLD,
                )
                .returning(escalations.c.id)
            ).scalar_one()
        )


def inbound(app: Interlude, patient_id: int, *, at: datetime = OLD, handled: bool = True) -> int:
    with app.engine.begin() as conn:
        return int(
            conn.execute(
                insert(inbound_messages)
                .values(
                    provider_id=f"SM{next(_serial)}",
                    channel="sms",
                    sender="+12025550143",
                    patient_id=patient_id,
                    body="thanks",
                    received_at=at,
                    kind="inbox",
                    needs_attention=True,
                    handled_at=at if handled else None,
                )
                .returning(inbound_messages.c.id)
            ).scalar_one()
        )


def newest(app: Interlude, patient_id: int) -> int:
    """A recent message, check-in and inbox text, so that the rows a test made are not the newest
    of their tables (the newest row always stays)."""
    outbox_id = message(app, patient_id, at=T0)
    checkin(app, outbox_id, patient_id, "answered", at=T0)
    inbound(app, patient_id, at=T0)
    return outbox_id


def ids(app: Interlude, table: Any) -> set[int]:
    with app.engine.connect() as conn:
        return set(conn.execute(select(table.c.id)).scalars())


def counts(app: Interlude) -> dict[str, int]:
    tables = (outbox, delivery_attempts, sandbox_messages, checkins, inbound_messages)
    with app.engine.connect() as conn:
        found = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
        for t in (consent_events, audit_events, escalations):
            found[t.name] = conn.execute(select(func.count()).select_from(t)).scalar_one()
    return found


# --- what goes, what stays -----------------------------------------------------------------------


def test_old_final_messages_go_with_their_attempts_and_sandbox_records(app, patient):
    old_final = {message(app, patient, status=s) for s in PRUNABLE}
    kept = {message(app, patient, status="pending"), message(app, patient, status="sending")}
    kept.add(message(app, patient, at=YOUNG))
    kept.add(newest(app, patient))
    result = housekeeping.run(app)
    assert result.counts["outbox"] == len(PRUNABLE) == 5
    assert result.counts["delivery_attempts"] == 5
    # and the sandbox records of the kept ones too, past their own 30 days
    assert result.counts["sandbox_messages"] == 5 + 3
    left = ids(app, outbox)
    assert not old_final & left and kept <= left
    with app.engine.connect() as conn:
        owners = set(conn.execute(select(delivery_attempts.c.outbox_id)).scalars())
    assert not owners & old_final and kept <= owners
    assert housekeeping.run(app).total == 0  # nothing more to do


def test_messages_of_a_booked_session_stay_while_it_is_booked(app, patient):
    session_id = book(app, patient, "2027-03-09T11:00")["id"]
    old = message(app, patient, session_id=session_id)
    newest(app, patient)
    assert housekeeping.run(app).counts["outbox"] == 0
    sessions.cancel_session(app, session_id, {}, "test")
    housekeeping.run(app)
    assert old not in ids(app, outbox)


def test_an_open_check_in_or_escalation_keeps_the_patients_messages(app, patient):
    asked = enrol(app, phone="+12025550144", email="a@example.org")["id"]
    paged = enrol(app, phone="+12025550145", email="b@example.org")["id"]
    kept = {message(app, asked), message(app, paged)}
    open_checkin = checkin(app, message(app, asked, at=T0), asked, "open", at=T0)
    open_escalation = escalation(app, paged, "open")
    newest(app, patient)
    assert housekeeping.run(app).counts["outbox"] == 0
    assert kept <= ids(app, outbox)
    with app.engine.begin() as conn:
        conn.execute(update(checkins).where(checkins.c.id == open_checkin).values(state="answered"))
        conn.execute(
            update(escalations).where(escalations.c.id == open_escalation).values(state="acknowledged")
        )
    assert housekeeping.run(app).counts["outbox"] == 2
    assert not kept & ids(app, outbox)


def test_a_closed_check_in_goes_with_its_message_but_an_escalated_one_stays(app, patient):
    answered = checkin(app, message(app, patient), patient, "answered")
    escalated_message = message(app, patient)
    escalated = checkin(app, escalated_message, patient, "escalated")
    escalation(app, patient, "acknowledged", checkin_id=escalated)
    newest(app, patient)
    result = housekeeping.run(app)  # checkins.outbox_id is a foreign key: no error
    assert result.counts["checkins"] == 1 and result.counts["outbox"] == 1
    left = ids(app, checkins)
    assert answered not in left and escalated in left
    assert escalated_message in ids(app, outbox)


def test_the_consent_ledger_and_the_audit_trail_are_never_pruned(app, patient):
    opt_out(app, patient, at=OLD)
    with app.engine.begin() as conn:
        conn.execute(
            insert(audit_events).values(
                at=OLD, actor="test", action="session-booked", entity="session", entity_id=1
            )
        )
    message(app, patient)
    newest(app, patient)
    before = counts(app)
    housekeeping.run(app)
    after = counts(app)
    assert after["outbox"] < before["outbox"]
    for table in ("consent_events", "audit_events"):
        assert after[table] == before[table] > 0


def test_sandbox_records_go_after_their_own_shorter_retention(app, patient):
    outbox_id = message(app, patient, at=T0 - timedelta(days=31))
    newest(app, patient)
    result = housekeeping.run(app)
    assert result.counts == {**dict.fromkeys(TABLES, 0), "sandbox_messages": 1}
    assert outbox_id in ids(app, outbox)


@pytest.mark.parametrize("sandbox_days", [0, 30])
def test_attempts_can_go_before_their_message(db_url, clock, sandbox_days):
    app = services_with(db_url, clock, f"attempts_days = 100\nsandbox_days = {sandbox_days}")
    patient = enrol(app)["id"]
    kept = message(app, patient, at=T0 - timedelta(days=101))
    pending = message(app, patient, status="pending", at=T0 - timedelta(days=101))
    gone = message(app, patient)
    newest(app, patient)
    dry = housekeeping.run(app, dry_run=True)
    result = housekeeping.run(app)
    assert result.counts == dry.counts  # each row counted once, by the pass that takes it
    assert result.counts["outbox"] == 1 and result.counts["delivery_attempts"] == 2
    assert result.counts["sandbox_messages"] == 2 + (sandbox_days > 0)  # the pending one's record
    assert {kept, pending} <= ids(app, outbox) and gone not in ids(app, outbox)
    with app.engine.connect() as conn:
        owners = set(conn.execute(select(delivery_attempts.c.outbox_id)).scalars())
    assert kept not in owners and pending in owners
    app.engine.dispose()


def test_inbox_texts_go_once_handled_unless_an_escalation_names_them(app, patient):
    handled = inbound(app, patient)
    unhandled = inbound(app, patient, handled=False)
    named = inbound(app, patient)
    escalation(app, patient, "acknowledged", inbound_id=named)
    young = inbound(app, patient, at=YOUNG)
    newest(app, patient)
    assert housekeeping.run(app).counts["inbound_messages"] == 1
    left = ids(app, inbound_messages)
    assert handled not in left and {unhandled, named, young} <= left


def test_staff_answers_stay_while_their_inbox_text_does(app, patient):
    text = inbound(app, patient)
    answer = message(app, patient, key=f"staffreply:{text}:1")
    newest(app, patient)
    first = housekeeping.run(app)  # the answer stays this time; the text itself goes
    assert answer in ids(app, outbox) and text not in ids(app, inbound_messages)
    assert first.counts["inbound_messages"] == 1
    housekeeping.run(app)
    assert answer not in ids(app, outbox)


def test_zero_days_keeps_everything(db_url, clock):
    app = services_with(
        db_url, clock, "outbox_days = 0\nattempts_days = 0\nsandbox_days = 0\ninbound_days = 0"
    )
    patient = enrol(app)["id"]
    message(app, patient, at=T0 - timedelta(days=4000))
    inbound(app, patient, at=T0 - timedelta(days=4000))
    newest(app, patient)
    assert housekeeping.run(app).total == 0
    app.engine.dispose()


def test_the_newest_row_of_each_table_stays(app, patient):
    """SQLite numbers a new row max(id) + 1: deleting the newest would give its id out again."""
    first, last = message(app, patient), message(app, patient)
    with app.engine.begin() as conn:  # the patient's enrolment messages are newer: remove them
        conn.execute(outbox.delete().where(outbox.c.id > last))
    housekeeping.run(app)
    assert first not in ids(app, outbox) and last in ids(app, outbox)
    with app.engine.connect() as conn:
        assert set(conn.execute(select(delivery_attempts.c.outbox_id)).scalars()) == {last}


# --- batches, concurrency, dry run ---------------------------------------------------------------


def test_a_backlog_goes_in_bounded_batches(db_url, clock):
    app = services_with(db_url, clock, "batch_size = 10")
    patient = enrol(app)["id"]
    old = {message(app, patient) for _ in range(35)}
    newest(app, patient)
    result = housekeeping.run(app)
    assert result.counts["outbox"] == 35 and result.batches["outbox"] == 4
    assert not old & ids(app, outbox)
    app.engine.dispose()


def test_two_runs_at_once_neither_fail_nor_count_twice(db_url, clock):
    app = services_with(db_url, clock, "batch_size = 10")
    patient = enrol(app)["id"]
    old = {message(app, patient) for _ in range(120)}
    newest(app, patient)
    start = threading.Barrier(2)
    results: list[housekeeping.HousekeepingResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            results.append(housekeeping.run(app))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(r.counts["outbox"] for r in results) == 120
    assert sum(r.counts["delivery_attempts"] for r in results) == 120
    assert not old & ids(app, outbox)
    app.engine.dispose()


def test_a_dry_run_counts_what_would_go_and_changes_nothing(app, patient):
    checkin(app, message(app, patient), patient, "closed")
    for status in PRUNABLE:
        message(app, patient, status=status)
    message(app, patient, status="pending")
    message(app, patient, at=T0 - timedelta(days=40))
    inbound(app, patient)
    newest(app, patient)
    before = counts(app)
    dry = housekeeping.run(app, dry_run=True)
    assert counts(app) == before
    assert dry.dry_run and dry.counts["outbox"] == 6 and dry.counts["checkins"] == 1
    real = housekeeping.run(app)
    assert real.counts == dry.counts
    assert dry.counts == {
        "outbox": 6,
        "delivery_attempts": 6,
        "checkins": 1,
        "sandbox_messages": 8,
        "inbound_messages": 1,
        "idempotency_keys": 0,
    }


# --- the worker and the command -------------------------------------------------------------------


def test_the_worker_runs_housekeeping_on_its_own_interval(db_url, clock):
    app = services_with(db_url, clock, "run_every_minutes = 15")
    patient = enrol(app)["id"]
    old = message(app, patient)
    newest(app, patient)
    jobs = {job.id: job for job in build_scheduler(app, blocking=False).get_jobs()}
    job = jobs["housekeeping"]
    assert job.trigger.interval == timedelta(minutes=15)
    assert job.max_instances == 1 and job.coalesce is True
    job.func()
    assert old not in ids(app, outbox)
    app.engine.dispose()


def test_the_command_prints_counts_and_a_dry_run_deletes_nothing(app, patient):
    from service.web import create_app

    old = message(app, patient)
    newest(app, patient)
    runner = cli_runner(create_app(services=app))
    dry = runner.invoke(args=["housekeeping", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "outbox             would prune 1" in dry.output and "nothing was deleted" in dry.output
    assert old in ids(app, outbox)
    real = runner.invoke(args=["housekeeping"])
    assert real.exit_code == 0, real.output
    assert "outbox             pruned 1" in real.output
    assert "+1202" not in real.output + dry.output  # counts only
    assert old not in ids(app, outbox)
