"""Staff edits of steps and templates: checked, versioned, rolled back, re-planned, seen by every process."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from service.bootstrap import build
from service.db.engine import make_engine
from service.db.tables import audit_events, content_versions, outbox
from service.scheduler import build_scheduler
from service.schedules import ScheduleError, load_schedules, parse_schedule, raw_steps
from service.services import sessions
from service.services.content import edits as content
from service.services.errors import Conflict, InvalidInput, NotFound
from service.services.outbox.dispatch import Dispatcher
from service.templates import MessageTemplates, TemplateError
from tests.helpers import (
    ROOT,
    T0,
    FakeClock,
    book,
    by_step,
    enrol,
    make_config,
    make_services,
    rows,
    sandbox,
    schedules_for_tests,
)

EVENING = "default:prep_evening_before"
CONFIRM_SMS = "booking_confirmation/en/sms.txt"
NEW_CONFIRMATION = (
    "{{ clinic.name }}: you are booked for {{ session.when }}{{ session.zone }} (edited). "
    "Questions: {{ clinic.phone }}. Reply STOP to opt out."
)


def versions(app) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        return [
            dict(r) for r in conn.execute(select(content_versions).order_by(content_versions.c.id)).mappings()
        ]


def snapshot(app) -> list[tuple]:
    return [(r["id"], r["status"], r["due_at"], r["template"], r["reason"]) for r in rows(app)]


def pending(app, session_id: int, step: str, channel: str = "sms") -> dict[str, Any]:
    live = [r for r in by_step(app, session_id)[(step, channel)] if r["status"] == "pending"]
    assert len(live) == 1
    return dict(live[0])


def refused(call, *args: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.errors


# --- steps ------------------------------------------------------------------------------------


def test_a_step_edit_moves_pending_messages_and_leaves_sent_and_cancelled_ones(services, clock):
    p = enrol(services)
    soon = book(services, p["id"], "2027-03-03T09:00")
    far = book(services, p["id"], "2027-03-12T09:00")
    gone = book(services, p["id"], "2027-03-10T09:00")
    sessions.cancel_session(services, gone["id"], {"reason": "patient asked"}, "test")
    clock.set(datetime(2027, 3, 2, 23, 1, tzinfo=UTC))  # 18:01 in New York: the evening message went
    Dispatcher(services).run_once()
    sent_before = [dict(r) for r in rows(services, session_id=soon["id"], step_id="prep_evening_before")]
    cancelled_before = rows(services, session_id=gone["id"])
    assert {r["status"] for r in sent_before} == {"sent"}

    result = content.save_step(
        services, "default", "prep_evening_before", {"at": "17:00"}, "alice", "earlier"
    )

    assert result["version"] == 1 and result["changed"] is True and result["raw"]["at"] == "17:00"
    assert result["replanned"]["moved"] == 2 and result["replanned"]["cancelled"] == 0
    for channel in ("sms", "email"):
        row = pending(services, far["id"], "prep_evening_before", channel)
        assert row["due_at"] == datetime(2027, 3, 11, 22, 0, tzinfo=UTC)  # 17:00 EST
    assert [
        dict(r) for r in rows(services, session_id=soon["id"], step_id="prep_evening_before")
    ] == sent_before
    assert rows(services, session_id=gone["id"]) == cancelled_before
    assert services.schedule("default").step("prep_evening_before").at == time(17, 0)
    [saved] = versions(services)
    assert (saved["kind"], saved["name"], saved["actor"], saved["reason"]) == (
        "step",
        EVENING,
        "alice",
        "earlier",
    )
    assert json.loads(saved["body"])["at"] == "17:00"
    with services.engine.connect() as conn:
        event = conn.execute(select(audit_events).where(audit_events.c.entity == "content")).mappings().one()
    assert event["action"] == "schedule.step_edited" and event["entity_id"] == saved["id"]


def test_changing_channels_creates_and_cancels_rows(services):
    content.save_step(services, "default", "prep_morning_of", {"channels": ["sms"]}, "a")
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    assert ("prep_morning_of", "email") not in by_step(services, s["id"])

    added = content.save_step(services, "default", "prep_morning_of", {"channels": ["sms", "email"]}, "a")
    assert added["replanned"]["created"] == 1
    assert pending(services, s["id"], "prep_morning_of", "email")["template"] == "prep_morning_of"

    dropped = content.save_step(services, "default", "prep_morning_of", {"channels": ["email"]}, "a")
    assert dropped["version"] == 3 and dropped["replanned"]["cancelled"] == 1
    [sms] = by_step(services, s["id"])[("prep_morning_of", "sms")]
    assert (sms["status"], sms["reason"]) == ("cancelled", "no-longer-planned")


def test_changing_conditions_cancels_rows_no_longer_planned(services):
    p = enrol(services, preferred_channel="both")  # education by text too
    iv = book(services, p["id"], "2027-03-12T09:00", modality="iv")
    im = book(services, p["id"], "2027-03-19T09:00", modality="im")
    conditions = {"modalities": ["im"], "sessions": [], "indications": None}
    result = content.save_step(services, "default", "integration_72h", {"conditions": conditions}, "a")
    assert result["raw"]["conditions"] == {"modalities": ["im"]}
    assert {r["status"] for r in by_step(services, iv["id"])[("integration_72h", "sms")]} == {"cancelled"}
    assert pending(services, im["id"], "integration_72h")["status"] == "pending"
    cleared = content.save_step(services, "default", "integration_72h", {"conditions": {}}, "a")
    assert "conditions" not in cleared["raw"]
    assert pending(services, iv["id"], "integration_72h")["status"] == "pending"  # revived


def test_changing_the_template_updates_pending_rows(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    content.save_step(services, "default", "prep_ahead", {"template": "prep_evening_before"}, "a")
    assert pending(services, s["id"], "prep_ahead")["template"] == "prep_evening_before"
    assert pending(services, s["id"], "prep_ahead", "email")["template"] == "prep_evening_before"


def test_re_planning_leaves_fallbacks_and_reminders_alone(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    base = pending(services, s["id"], "prep_morning_of")
    extra = {k: v for k, v in base.items() if k not in ("id", "origin")}  # the key names the origin
    with services.engine.begin() as conn:
        conn.execute(
            insert(outbox).values(**{**extra, "dedupe_key": f"fallback:{base['id']}", "channel": "email"})
        )
    content.save_step(services, "default", "prep_morning_of", {"offset": "-4h"}, "a")
    [fallback] = rows(services, dedupe_key=f"fallback:{base['id']}")
    assert fallback["status"] == "pending" and fallback["due_at"] == base["due_at"]


@pytest.mark.parametrize(
    ("step", "changes", "field", "problem"),
    [
        ("prep_evening_before", {"offset": "soon"}, "offset", "'soon'"),
        ("prep_evening_before", {"at": "25:00"}, "at", "'HH:MM'"),
        ("prep_evening_before", {"at": 1700}, "at", "'HH:MM'"),
        ("prep_evening_before", {"channels": ["fax"]}, "channels", "unknown value 'fax'"),
        ("prep_evening_before", {"channels": []}, "channels", "at least one channel"),
        ("prep_evening_before", {"channels": None}, "channels", "expected a list"),
        ("prep_evening_before", {"template": "no_such_message"}, "template", "no template named"),
        ("prep_evening_before", {"template": "Bad-Name"}, "template", "lower-case"),
        ("prep_evening_before", {"template": "enrolment_opt_in"}, "template", "has no email in 'en'"),
        ("prep_evening_before", {"colour": "red"}, "colour", "cannot be edited"),
        ("prep_evening_before", {"id": "other"}, "id", "cannot be edited"),
        ("prep_evening_before", {"quiet_hours": "never"}, "quiet_hours", "expected one of"),
        (
            "prep_evening_before",
            {"conditions": {"modalities": ["laser"]}},
            "conditions.modalities",
            "'laser'",
        ),
        ("prep_evening_before", {"conditions": {"sessions": [0]}}, "conditions.sessions", "session numbers"),
        ("prep_evening_before", {"conditions": {"colour": 1}}, "conditions.colour", "unknown key"),
        (
            "prep_evening_before",
            {"conditions": {"first_session_only": True, "sessions": [2]}},
            "conditions.first_session_only",
            "conflicts",
        ),
        ("prep_evening_before", {"conditions": ["iv"]}, "conditions", "expected a table"),
        ("prep_morning_of", {"deadline": "later"}, "deadline", "'later'"),
        ("checkin_same_day", {"template": "prep_ahead"}, "template", "does not name 911 and 988"),
        ("prep_evening_before", {}, "changes", "expected"),
    ],
)
def test_a_bad_step_edit_is_refused_by_field_and_nothing_changes(services, step, changes, field, problem):
    p = enrol(services)
    book(services, p["id"], "2027-03-12T09:00")
    before = snapshot(services)
    errors = refused(content.save_step, services, "default", step, changes, "a")
    assert list(errors) == [field] and problem in errors[field], errors
    assert versions(services) == [] and snapshot(services) == before
    assert refused(content.preview_step_edit, services, "default", step, changes) == errors


def test_a_channel_the_template_lacks_is_named_on_the_channels_field(services):
    content.save_step(
        services, "default", "prep_morning_of", {"channels": ["sms"], "template": "enrolment_opt_in"}, "a"
    )
    errors = refused(
        content.save_step, services, "default", "prep_morning_of", {"channels": ["sms", "email"]}, "a"
    )
    assert list(errors) == ["channels"] and "has no email" in errors["channels"]


def test_unknown_schedule_or_step_is_not_found(services):
    with pytest.raises(NotFound):
        content.save_step(services, "nope", "prep_ahead", {"at": "09:00"}, "a")
    with pytest.raises(NotFound):
        content.save_step(services, "default", "nope", {"at": "09:00"}, "a")


def test_removing_at_and_a_no_op_edit(services):
    result = content.save_step(services, "default", "prep_ahead", {"at": None, "deadline": ""}, "a")
    assert "at" not in result["raw"] and "deadline" not in result["raw"]
    again = content.save_step(services, "default", "prep_ahead", {"at": "", "deadline": None}, "a")
    assert again["changed"] is False and again["version"] == 1 and len(versions(services)) == 1


def test_preview_of_a_step_edit_counts_without_saving(services):
    p = enrol(services)
    book(services, p["id"], "2027-03-12T09:00")
    before = snapshot(services)
    preview = content.preview_step_edit(services, "default", "prep_evening_before", {"at": "17:00"})
    assert preview["replanned"]["moved"] == 2 and preview["version"] == 1
    assert {e["channel"]: e["local_time"] for e in preview["example"]} == {
        "sms": "Thu, Mar 11 5:00 PM",
        "email": "Thu, Mar 11 5:00 PM",
    }
    assert snapshot(services) == before and versions(services) == []
    assert services.schedule("default").step("prep_evening_before").at == time(18, 0)


def test_step_history_and_rollback_re_plan(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    content.save_step(services, "default", "prep_evening_before", {"at": "17:00"}, "alice", "one")
    content.save_step(services, "default", "prep_evening_before", {"at": "16:00"}, "bob", "two")
    assert pending(services, s["id"], "prep_evening_before")["due_at"].hour == 21  # 16:00 EST

    back = content.rollback(services, "step", EVENING, 1, "carol", "too early")
    assert back["version"] == 3 and back["replanned"]["moved"] == 2
    assert pending(services, s["id"], "prep_evening_before")["due_at"].hour == 22
    shipped = content.rollback(services, "step", EVENING, 0, "carol", "as shipped")
    assert shipped["version"] == 4 and shipped["raw"]["at"] == "18:00"
    assert pending(services, s["id"], "prep_evening_before")["due_at"].hour == 23

    history = content.history(services, "step", EVENING)
    assert [h["version"] for h in history] == [4, 3, 2, 1]
    assert [h["actor"] for h in history] == ["carol", "carol", "bob", "alice"]
    assert history[0]["body"] is None and history[1]["body"] == history[3]["body"]
    assert content.current(services) == {"steps": [], "templates": []}
    assert content.get_step(services, "default", "prep_evening_before")["version"] == 4
    with pytest.raises(NotFound):
        content.rollback(services, "step", EVENING, 9, "carol")
    with services.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))]
    assert actions.count("schedule.step_rolled_back") == 2


def test_a_rollback_that_would_not_pass_now_is_refused(services):
    safe = "{{ clinic.name }}: how are you after today? Emergency: 911. Crisis: call or text 988."
    for lang in ("en", "es"):
        content.save_template(services, f"aftercare_check/{lang}/sms.txt", safe, "a")
    only_sms = {"template": "aftercare_check", "channels": ["sms"]}
    content.save_step(services, "default", "checkin_same_day", only_sms, "a")
    content.save_step(services, "default", "checkin_same_day", {"template": "checkin_same_day"}, "a")
    # No step sends it any more, so it may change; but version 1 of the step may not come back.
    content.save_template(services, "aftercare_check/en/sms.txt", safe.replace(" or text 988", ""), "a")
    errors = refused(content.rollback, services, "step", "default:checkin_same_day", 1, "a")
    assert list(errors) == ["version"] and "does not name 988" in errors["version"]
    assert content.history(services, "step", "default:checkin_same_day")[0]["version"] == 2


# --- templates --------------------------------------------------------------------------------


def test_a_template_edit_is_sent_and_can_be_rolled_back(services):
    p = enrol(services)
    saved = content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION, "alice", "shorter")
    assert saved == {"kind": "template", "name": CONFIRM_SMS, "version": 1, "changed": True}
    book(services, p["id"], "2027-03-12T09:00")
    Dispatcher(services).run_once()
    assert any("(edited)" in m["body"] for m in sandbox(services) if m["channel"] == "sms")
    assert content.current(services)["templates"][0]["name"] == CONFIRM_SMS

    back = content.rollback(services, "template", CONFIRM_SMS, 0, "bob", "as shipped")
    assert back["version"] == 2 and not services.templates.is_edited(CONFIRM_SMS)
    again = content.rollback(services, "template", CONFIRM_SMS, 1, "bob")
    assert again["version"] == 3 and services.templates.source(CONFIRM_SMS) == NEW_CONFIRMATION
    assert [h["body"] for h in content.history(services, "template", CONFIRM_SMS)] == [
        NEW_CONFIRMATION,
        None,
        NEW_CONFIRMATION,
    ]
    with services.engine.connect() as conn:
        actions = {r[0] for r in conn.execute(select(audit_events.c.action))}
    assert {"template.edited", "template.rolled_back"} <= actions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ clinic.name }}: hello.\nBring {{ session.time }.\n", "line 2: unexpected '}'"),
        (
            "{{ clinic.name }}: hello.\n{{ session.colour }}\n",
            "line 2: 'dict object' has no attribute 'colour'",
        ),
        ("Hello, your visit is booked.", "line 1: patient-facing SMS does not name the clinic"),
        ("{{ clinic.name }}: your ketamine visit.", "line 1: discreet SMS contains 'ketamine'"),
        ("{{ clinic.name }}: \u201cbooked\u201d.", "line 1: U+201C forces UCS-2 encoding"),
        # templates render sandboxed: no way from a template to Python's internals
        (
            "{{ clinic.name }}: {{ clinic.__class__.__mro__[1].__subclasses__() }}",
            "line 1: access to attribute '__class__' of 'dict' object is unsafe",
        ),
    ],
)
def test_a_bad_template_edit_is_refused_with_its_line(services, text, expected):
    errors = refused(content.save_template, services, CONFIRM_SMS, text, "a")
    assert list(errors) == ["text"] and expected in errors["text"], errors
    assert versions(services) == []
    assert expected in "; ".join(content.preview_template(services, CONFIRM_SMS, text)["problems"])


def test_dropping_988_from_a_safety_template_is_refused(services):
    path = "checkin_same_day/es/sms.txt"
    text = services.templates.source(path).replace("Crisis: llame o escriba al {{ clinic.crisis_line }}.", "")
    errors = refused(content.save_template, services, path, text, "a")
    assert errors == {"text": "line 1: safety message (step 'checkin_same_day') does not name 988"}


def test_a_bad_template_path_is_refused(services):
    for path in (
        "booking_confirmation/en/notes.md",
        "booking_confirmation/fr/sms.txt",
        "x/sms.txt",
        "../a/en/sms.txt",
    ):
        assert list(refused(content.save_template, services, path, "x", "a")) == ["path"]


def test_template_preview_shows_segments_and_saves_nothing(services):
    preview = content.preview_template(services, CONFIRM_SMS, NEW_CONFIRMATION + "\r\n")
    assert preview["problems"] == [] and preview["channel"] == "sms"
    assert preview["sms"]["encoding"] == "GSM-7" and preview["sms"]["segments"] == 1
    assert "(edited)" in preview["sms"]["text"] and "Interlude" in preview["sms"]["text"]
    email = content.preview_template(
        services, "booking_confirmation/es/subject.txt", "Su cita {{ session.date }}"
    )
    assert email["email"]["subject"].startswith("Su cita") and email["problems"] == []
    assert versions(services) == []
    assert list(refused(content.preview_template, services, CONFIRM_SMS, "x", tz="Mars/Base")) == ["tz"]


def test_concurrent_saves_get_distinct_versions(services):
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def save(n: int) -> None:
        barrier.wait()
        try:
            for i in range(2):
                content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION + f" #{n}{i}", f"user{n}")
        except (Conflict, InvalidInput) as exc:  # pragma: no cover - shown by the assert below
            failures.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(v["version"] for v in versions(services)) == list(range(1, 9))


def test_a_save_that_loses_the_race_for_its_version_number_is_retried(services, monkeypatch):
    """Another writer took version 1 between the read and the insert: the unique constraint
    refuses the second row, and the save runs again on the newer state."""
    content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION, "first")
    real = content._newest
    stale = iter([(0, None)])
    monkeypatch.setattr(content, "_newest", lambda *a: next(stale, None) or real(*a))
    saved = content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION + " again", "second")
    assert saved["version"] == 2
    assert [v["actor"] for v in versions(services)] == ["first", "second"]


def test_a_base_version_that_is_not_the_newest_is_a_conflict(services):
    content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION, "a", base_version=0)
    with pytest.raises(Conflict):
        content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION + " 2", "b", base_version=0)
    with pytest.raises(Conflict):
        content.save_step(services, "default", "prep_ahead", {"at": "09:00"}, "b", base_version=3)


# --- every process ----------------------------------------------------------------------------


def test_another_process_uses_an_edit_on_its_next_tick(db_url, services, clock):
    other_clock = FakeClock(T0)
    other = make_services(db_url, other_clock)
    try:
        p = enrol(services)
        book(services, p["id"], "2027-03-12T09:00")
        content.save_template(services, CONFIRM_SMS, NEW_CONFIRMATION, "alice")
        content.save_step(services, "default", "prep_evening_before", {"at": "17:00"}, "alice")
        assert not other.templates.is_edited(CONFIRM_SMS)
        assert other.refresh_content() is False  # asked less than a second ago

        other_clock.advance(timedelta(seconds=1))
        build_scheduler(other, blocking=False).get_job("dispatch").func()

        assert other.templates.is_edited(CONFIRM_SMS)
        assert other.schedules["default"].step("prep_evening_before").at == time(17, 0)
        sms = [m for m in sandbox(other) if m["channel"] == "sms"]
        assert len(sms) == 1 and "(edited)" in sms[0]["body"]
        assert other.refresh_content(force=True) is False  # nothing new since
    finally:
        other.engine.dispose()


def test_a_new_process_starts_with_the_edits(db_url, services, clock):
    content.save_step(services, "default", "prep_evening_before", {"at": "17:00"}, "alice")
    other = make_services(db_url, FakeClock(T0))
    try:
        assert other.schedule("default").step("prep_evening_before").at == time(17, 0)
    finally:
        other.engine.dispose()


def test_build_runs_on_a_database_not_yet_migrated(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = build(make_config(url), clock=clock, engine=make_engine(url))
    assert app.content_loaded is False and app.schedule("default").step("prep_ahead").at == time(10, 0)
    app.engine.dispose()


# --- the loaders, with overlays ---------------------------------------------------------------


def test_a_step_override_replaces_the_table_and_its_errors_say_edited():
    folder = schedules_for_tests()
    raw = raw_steps(folder, "default")["prep_ahead"]
    schedules = load_schedules(folder, {"default": {"prep_ahead": {**raw, "at": "09:30"}}})
    assert schedules["default"].step("prep_ahead").at == time(9, 30)
    with pytest.raises(ScheduleError) as excinfo:
        load_schedules(
            folder, {"default": {"prep_ahead": {**raw, "at": "9"}}}, versions={"default": {"prep_ahead": 3}}
        )
    exc = excinfo.value
    assert (exc.step, exc.key) == ("prep_ahead", "at") and "HH:MM" in (exc.problem or "")
    line = schedules["default"].step("prep_ahead").line
    assert str(exc).startswith(f"{folder / 'default.toml'}:{line} (edited version 3): step 'prep_ahead': at:")
    with pytest.raises(ScheduleError, match="edited step not found"):
        parse_schedule((folder / "default.toml").read_text(), "f.toml", "default", {"gone": {"id": "gone"}})


def test_template_overlays_win_and_name_their_line():
    templates = MessageTemplates(
        ROOT / "messages",
        overlays={CONFIRM_SMS: "{{ clinic.name }}\n{{ nope }}", "fresh/fr/sms.txt": "Salut"},
    )
    assert templates.is_edited(CONFIRM_SMS) and not templates.is_edited("booking_confirmation/es/sms.txt")
    shipped_es = (ROOT / "messages" / "booking_confirmation/es/sms.txt").read_text(encoding="utf-8")
    assert templates.source("booking_confirmation/es/sms.txt") == shipped_es
    assert "fresh" in templates.names() and templates.languages("fresh") == ["fr"]
    assert templates.has("fresh", "sms", "fr") and templates.resolve_language("fresh", "fr") == "fr"
    assert templates.render("fresh", "sms", "fr", {}).body == "Salut"
    with pytest.raises(TemplateError) as excinfo:
        templates.render("booking_confirmation", "sms", "en", {"clinic": {"name": "C"}})
    assert str(excinfo.value).startswith(f"{ROOT / 'messages' / CONFIRM_SMS}:2 (edited): ")
    assert (excinfo.value.name, excinfo.value.line) == (CONFIRM_SMS, 2)
