"""Bulk booking (an EHR import): the same checks, rows and audit as booking one by one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from service.db.tables import audit_events, outbox
from service.db.tables import sessions as sessions_table
from service.runtime import Interlude
from service.services import sessions
from service.services.bulk import book_sessions
from service.services.errors import InvalidInput, NotFound
from service.services.outbox.enqueue import enqueue_bulk
from service.services.outbox.planning import new_session_rows
from tests.databases import new_schema, release_schema, schema_url
from tests.helpers import T0, FakeClock, enrol, make_services, need_postgres

ITEMS: list[dict[str, Any]] = [
    {"patient_id": 1, "start": "2027-03-12T09:00", "modality": "iv"},
    {"patient_id": 1, "start": "2027-03-19T09:00", "modality": "iv", "external_ref": "ehr-2"},
    {"patient_id": 2, "start": "2027-03-02T13:30", "modality": "im"},  # late booking, same day
    {"patient_id": 3, "start": "2027-03-15T07:00-07:00", "modality": "intranasal", "number": 4},
    {"patient_id": 2, "start": "2027-03-14T10:00", "modality": "kat", "duration_minutes": 90},
    {"patient_id": 1, "start": "2027-03-26T16:45", "modality": "iv", "schedule": "default"},
    {"patient_id": 3, "start": "2027-03-20T09:00", "modality": "intranasal"},
]


@pytest.fixture(params=["sqlite", "postgres"])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of the same kind, so that the same input can be booked twice."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    need_postgres()
    schemas = [new_schema() for _ in range(2)]
    yield schema_url(schemas[0]), schema_url(schemas[1])
    for schema in schemas:
        release_schema(schema)


def _patients(app: Interlude) -> None:
    enrol(app)  # New York, SMS and email
    enrol(app, first_name="Ana", phone="+12025550144", email=None, timezone="America/Chicago")
    enrol(app, first_name="Lee", phone="+12025550145", timezone="America/Los_Angeles", indications=["ptsd"])


def _table(app: Interlude, table: Any, *where: Any) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(table).where(*where).order_by(table.c.id)).mappings()
        return [{k: v for k, v in r.items() if k != "id"} for r in rows]


def test_bulk_booking_leaves_the_same_rows_as_booking_one_by_one(two_urls):
    one, many = (make_services(url, FakeClock(T0)) for url in two_urls)
    try:
        _patients(one)
        _patients(many)
        singles = [sessions.book_session(one, dict(item), "ehr") for item in ITEMS]
        result = book_sessions(many, [dict(item) for item in ITEMS], "ehr", batch_size=3)
        assert result.errors == []
        assert [i for i, _ in result.booked] == list(range(len(ITEMS)))
        assert [s for _, s in result.booked] == [s["id"] for s in singles]
        assert result.messages.created == sum(s["messages"]["created"] for s in singles)
        assert result.messages.skipped == sum(s["messages"]["skipped"] for s in singles)
        assert _table(many, sessions_table) == _table(one, sessions_table)
        assert _table(many, outbox) == _table(one, outbox)
        booked = audit_events.c.action == "session.booked"
        assert _table(many, audit_events, booked) == _table(one, audit_events, booked)
        assert len(_table(one, outbox)) > 5 * len(ITEMS)
        numbers = [r["number"] for r in _table(many, sessions_table)]
        assert numbers == [1, 2, 1, 4, 2, 3, 2]  # implicit: sessions so far (any number) + 1
    finally:
        one.engine.dispose()
        many.engine.dispose()


BAD: list[tuple[Any, dict[str, str]]] = [
    ({"patient_id": 1, "start": "2027-03-12T09:00"}, {"modality": "required"}),
    (
        {"patient_id": 1, "start": "2027-03-12T09:00", "modality": "iv", "room": "4"},
        {"room": "unknown field"},
    ),
    ({"patient_id": 1, "start": "2027-03-01T09:00", "modality": "iv"}, {"start": "must be in the future"}),
    ({"patient_id": 1, "start": "2027-03-14T02:30", "modality": "iv"}, {"start": "..."}),  # DST gap
    (
        {"patient_id": 1, "start": "2027-03-12T09:00", "modality": "iv", "schedule": "nope"},
        {"schedule": "..."},
    ),
    ({"patient_id": 1, "start": "2027-03-12T09:00", "modality": "iv", "number": 0}, {"number": "..."}),
]


def test_invalid_items_are_refused_one_by_one_with_their_index_and_field(services):
    enrol(services)
    good = {"patient_id": 1, "start": "2027-03-12T09:00", "modality": "iv"}
    later = {**good, "start": "2027-03-19T09:00"}  # not on `good`: an overlap is refused too
    items = [good, *(item for item, _ in BAD), {**good, "patient_id": 99}, "not an object", later]
    result = book_sessions(services, items, "ehr", batch_size=4)
    assert [i for i, _ in result.booked] == [0, len(items) - 1]
    errors = dict(result.errors)
    assert sorted(errors) == list(range(1, len(items) - 1))
    for index, (item, expected) in enumerate(BAD, start=1):
        assert set(errors[index]) == set(expected)
        with pytest.raises(InvalidInput) as refused:  # the very words book_session answers with
            sessions.book_session(services, item, "ehr")
        assert errors[index] == refused.value.errors
    assert errors[len(BAD) + 1] == {"patient_id": "patient 99 not found"}
    with pytest.raises(NotFound):
        sessions.book_session(services, {**good, "patient_id": 99}, "ehr")
    assert errors[len(BAD) + 2] == {"body": "expected a JSON object"}
    assert result.as_dict()["errors"][0] == {"index": 1, "fields": errors[1]}
    with services.engine.connect() as conn:
        assert len(conn.execute(select(sessions_table.c.id)).all()) == 2


def test_a_bulk_booked_session_reschedules_like_any_other(services, clock):
    enrol(services)
    result = book_sessions(
        services, [{"patient_id": 1, "start": "2027-03-12T09:00", "modality": "iv"}], "ehr"
    )
    ((_, session_id),) = result.booked
    moved = sessions.reschedule_session(services, session_id, {"start": "2027-03-13T11:00"}, "staff")
    assert moved["messages"]["moved"] > 0
    again = book_sessions(services, [], "ehr")
    assert again.booked == [] and again.errors == []


def test_the_fast_insert_stores_exactly_what_sqlalchemy_would(services, clock):
    """enqueue_bulk hands converted values to the driver; the stored values must not differ."""
    p = enrol(services)
    s = sessions.book_session(
        services, {"patient_id": p["id"], "start": "2027-03-12T09:00", "modality": "iv"}, "t"
    )
    with services.engine.begin() as conn:
        session = conn.execute(select(sessions_table).where(sessions_table.c.id == s["id"])).mappings().one()
        from service.services.patients import get_patient

        patient = get_patient(conn, p["id"])
        now = clock() + timedelta(microseconds=123456)  # a fraction of a second is kept as written
        planned, _ = new_session_rows(services.schedule("default"), session, patient, services.window, now)
        fast = [{**r, "dedupe_key": "fast:" + r["dedupe_key"]} for r in planned]
        slow = [{**r, "dedupe_key": "slow:" + r["dedupe_key"]} for r in planned]
        enqueue_bulk(conn, fast)
        conn.execute(insert(outbox), slow)
        columns = [c.name for c in outbox.columns if c.name not in ("id", "dedupe_key")]

        def raw(prefix: str) -> list[tuple[Any, ...]]:
            # raw text, as stored (SQLite keeps times as text; no type conversion on the way out)
            query = text(f"SELECT {', '.join(columns)} FROM outbox WHERE dedupe_key LIKE :p ORDER BY id")
            return [tuple(r) for r in conn.execute(query, {"p": prefix + "%"})]

        assert raw("fast:") == raw("slow:")
        assert len(raw("fast:")) == len(planned) > 0
