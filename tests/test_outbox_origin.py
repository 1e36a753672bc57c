"""The outbox's origin column: migration 0009 fills it from each existing row's key, and a row
queued by hand without one gets the origin its key names. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, inspect, select, text

from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import outbox
from tests.databases import downgrade
from tests.helpers import due_note

# Every key format the service has written, and keys written by hand.
KEYS = {
    "s12:prep_ahead:sms:0": "planner",
    "p3:default:welcome:sms": "planner",
    "c41:reminder:sms": "reminder",
    "e9:l1:0:email": "escalation",
    "staffreply:77:1": "staff-reply",
    "fallback:501": "fallback",
    "edu:3": "manual",
    "load:admin:1": "manual",
    "sx:1": "manual",
}
AT = "2027-03-02 15:00:00.000000"


def test_migration_0009_fills_the_origin_of_every_row_from_its_key_and_goes_back(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0008")
        assert "origin" not in {c["name"] for c in inspect(engine).get_columns("outbox")}
        with engine.begin() as conn:
            for key in KEYS:
                conn.execute(
                    text(
                        "INSERT INTO outbox (dedupe_key, schedule, step_id, template, channel, category,"
                        " priority, occurrence, due_at, next_attempt_at, status, attempts, created_at,"
                        " updated_at) VALUES (:key, 'default', 'step', 'tpl', 'sms', 'admin', 2, 0,"
                        " :at, :at, 'sent', 1, :at, :at)"
                    ),
                    {"key": key, "at": AT},
                )
        upgrade(engine)
        columns = {c["name"]: c for c in inspect(engine).get_columns("outbox")}
        assert columns["origin"]["nullable"] is False
        with engine.connect() as conn:
            found = dict(conn.execute(select(outbox.c.dedupe_key, outbox.c.origin)).all())
        assert found == KEYS
    finally:
        engine.dispose()


def test_a_row_queued_by_hand_gets_the_origin_its_key_names(db_url):
    engine = make_engine(db_url)
    now = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(insert(outbox), [due_note(key, None, "sms", now, "step") for key in KEYS])
            stated = {**due_note("s99:step:sms:0", None, "sms", now, "step"), "origin": "manual"}
            conn.execute(insert(outbox).values(**stated))
            found = dict(conn.execute(select(outbox.c.dedupe_key, outbox.c.origin)).all())
        assert found == {**KEYS, "s99:step:sms:0": "manual"}  # a row that says is believed
    finally:
        engine.dispose()
