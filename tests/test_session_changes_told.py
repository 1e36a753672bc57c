"""Changes are told: a cancel or a no-show sends the patient its date and how to rebook, and a
session overlapping another booked session of the same patient is refused unless forced."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from service.config import ConfigError, parse_config
from service.domain.session_changes import Booked, clash, notice
from service.domain.session_state import Look, MessageKind, Move, message_stop
from service.services import sessions
from service.services.bulk import book_sessions
from service.services.errors import Conflict
from service.services.outbox.dispatch import Dispatcher
from service.services.validation import DEFAULT_DURATION
from service.template_context import display_phone
from service.web import create_app
from tests.helpers import (
    API_TOKEN,
    book,
    cli_runner,
    enrol,
    make_config,
    make_services,
    opt_out,
    rows,
    sandbox,
)

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
NOTICE_STEPS = ("_session_cancelled", "_session_no_show")


def notices(app, session_id):
    return [r for r in rows(app, session_id=session_id) if r["origin"] == "session-change"]


def sent_after(app, before):
    """What the sandbox sent since `before` messages, SMS first."""
    return sorted(sandbox(app)[before:], key=lambda m: m["channel"], reverse=True)


# --- cancel and no-show are told ----------------------------------------------------------------


def test_a_cancel_sends_one_message_per_channel_with_the_date_and_how_to_rebook(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    Dispatcher(services).run_once()  # the booking confirmation
    before = len(sandbox(services))
    sessions.cancel_session(services, s["id"], {"reason": "clinician ill"}, "test")
    Dispatcher(services).run_once()
    sms, email = sent_after(services, before)
    assert (sms["channel"], email["channel"]) == ("sms", "email")
    assert "Friday, March 12 at 9:00 AM" in sms["body"] and "cancelled" in sms["body"]
    assert f"call us at {display_phone(services.config.clinic.phone)}" in sms["body"]
    assert "Mar 12" in email["subject"] and "cancelled" in email["subject"]
    assert "To book another time, call us at" in email["body"] and "988" in email["body"]
    assert [r["status"] for r in notices(services, s["id"])] == ["sent", "sent"]


def test_the_cancel_is_told_in_the_patients_language(services):
    p = enrol(services, language="es")
    s = book(services, p["id"], "2027-03-12T09:00")
    Dispatcher(services).run_once()
    before = len(sandbox(services))
    sessions.cancel_session(services, s["id"], None, "test")
    Dispatcher(services).run_once()
    sms, email = sent_after(services, before)
    assert "viernes 12 de marzo a las 9:00" in sms["body"] and "se ha cancelado" in sms["body"]
    assert "llámenos al" in sms["body"]
    assert email["subject"].startswith("Se ha cancelado su cita")


def test_a_no_show_is_told_kindly_with_a_way_back_to_the_care_team(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-02T12:00")  # today 12:00 New York
    clock.advance(timedelta(hours=3))  # 13:00: the session has started
    Dispatcher(services).run_once()
    before = len(sandbox(services))
    sessions.no_show_session(services, s["id"], {"reason": "did not arrive"}, "test")
    Dispatcher(services).run_once()
    sms, email = sent_after(services, before)
    assert "we missed you" in sms["body"] and "Tuesday, March 2" in sms["body"]
    assert "hope you are well" in sms["body"] and "call us at" in sms["body"]
    for words in ("fail", "did not attend", "no-show", "no show"):
        assert words not in (sms["body"] + email["body"]).lower()
    assert "988" in email["body"] and "911" in email["body"]


def test_a_no_show_in_spanish(services, clock):
    p = enrol(services, language="es")
    s = book(services, p["id"], "2027-03-02T12:00")
    clock.advance(timedelta(hours=3))
    Dispatcher(services).run_once()
    before = len(sandbox(services))
    sessions.no_show_session(services, s["id"], None, "test")
    Dispatcher(services).run_once()
    sms, _email = sent_after(services, before)
    assert "no pudimos verle" in sms["body"] and "martes 2 de marzo" in sms["body"]


def test_cancelling_twice_still_tells_the_patient_once(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    sessions.cancel_session(services, s["id"], None, "test")
    sessions.cancel_session(services, s["id"], None, "test")
    assert sorted(r["channel"] for r in notices(services, s["id"])) == ["email", "sms"]
    Dispatcher(services).run_once()
    Dispatcher(services).run_once()
    assert sum("cancelled" in m["body"] for m in sandbox(services) if m["channel"] == "sms") == 1


def test_a_patient_with_one_channel_is_told_on_that_channel_only(services):
    p = enrol(services, email=None, channels=["sms"])
    s = book(services, p["id"], "2027-03-12T09:00")
    sessions.cancel_session(services, s["id"], None, "test")
    assert [r["channel"] for r in notices(services, s["id"])] == ["sms"]


def test_an_opted_out_patient_is_not_sent_the_notice(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    opt_out(services, p["id"], "sms")
    opt_out(services, p["id"], "email")
    sessions.cancel_session(services, s["id"], None, "test")
    Dispatcher(services).run_once()
    assert not any("cancelled" in m["body"] for m in sandbox(services))
    assert {(r["status"], r["reason"]) for r in notices(services, s["id"])} == {("skipped", "opted-out")}


def test_an_sms_opt_out_still_leaves_the_email(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    opt_out(services, p["id"], "sms")
    sessions.cancel_session(services, s["id"], None, "test")
    Dispatcher(services).run_once()
    told = {r["channel"]: r["status"] for r in notices(services, s["id"])}
    assert told == {"sms": "skipped", "email": "sent"}


def test_the_notice_waits_for_the_end_of_quiet_hours(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    clock.set(datetime(2027, 3, 3, 3, 0, tzinfo=UTC))  # 22:00 in New York
    sessions.cancel_session(services, s["id"], None, "test")
    Dispatcher(services).run_once()
    assert {r["status"] for r in notices(services, s["id"])} == {"pending"}
    assert not any("cancelled" in m["body"] for m in sandbox(services))
    clock.set(datetime(2027, 3, 3, 13, 1, tzinfo=UTC))  # 08:01 the next morning
    Dispatcher(services).run_once()
    assert {r["status"] for r in notices(services, s["id"])} == {"sent"}


def test_a_session_cancelled_after_its_start_is_not_told(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-02T12:00")
    clock.advance(timedelta(hours=3))
    sessions.cancel_session(services, s["id"], {"reason": "tidying the record"}, "test")
    assert notices(services, s["id"]) == []


@pytest.mark.parametrize(
    "setting, move",
    [("notify_cancellation", sessions.cancel_session), ("notify_no_show", sessions.no_show_session)],
)
def test_each_notice_can_be_turned_off(sqlite_url, clock, setting, move):
    config = make_config(sqlite_url)
    config = config.replace(messages=dataclasses.replace(config.messages, **{setting: False}))
    app = make_services(sqlite_url, clock, config=config)
    p = enrol(app)
    s = book(app, p["id"], "2027-03-02T12:00")
    if move is sessions.no_show_session:
        clock.advance(timedelta(hours=3))
    move(app, s["id"], None, "test")
    assert notices(app, s["id"]) == []


def test_the_settings_are_on_by_default_and_must_be_true_or_false():
    config = parse_config("", "t", {})
    assert config.messages.notify_cancellation and config.messages.notify_no_show
    off = parse_config("[messages]\nnotify_cancellation = false\nnotify_no_show = false\n", "t", {})
    assert not off.messages.notify_cancellation and not off.messages.notify_no_show
    with pytest.raises(ConfigError, match=r"messages\.notify_no_show"):
        parse_config('[messages]\nnotify_no_show = "yes"\n', "t", {})


def test_completing_a_session_tells_nothing(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-02T12:00")
    clock.advance(timedelta(hours=3))
    sessions.complete_session(services, s["id"], None, "test")
    assert notices(services, s["id"]) == []


def test_the_rule_of_what_is_told_takes_now():
    now = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
    ahead, past = now + timedelta(minutes=1), now - timedelta(minutes=1)
    assert notice(Move.CANCEL, start_at=ahead, now=now, enabled=True).template == "session_cancelled"
    assert notice(Move.CANCEL, start_at=past, now=now, enabled=True) is None
    assert notice(Move.CANCEL, start_at=now, now=now, enabled=True) is None  # started: not told
    assert notice(Move.NO_SHOW, start_at=past, now=now, enabled=True).template == "session_no_show"
    assert notice(Move.NO_SHOW, start_at=past, now=now, enabled=False) is None
    assert notice(Move.COMPLETE, start_at=past, now=now, enabled=True) is None


@pytest.mark.parametrize("state", ["cancelled", "no_show", "completed", "booked"])
@pytest.mark.parametrize("look", list(Look))
def test_no_state_of_the_session_holds_back_the_notice_of_its_change(state, look):
    kind = MessageKind.of("patient", "admin", "session-change")
    assert kind is MessageKind.CHANGE_NOTICE
    assert message_stop(state, kind, look, started=True) is None
    # while every other patient message of a cancelled or missed session stays stopped
    if state in ("cancelled", "no_show"):
        assert message_stop(state, MessageKind.of("patient", "admin", "planner"), look) is not None


# --- overlaps are refused unless forced ---------------------------------------------------------


def test_sessions_clash_when_they_share_any_minute_and_not_when_one_ends_as_the_next_starts():
    at = datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    other = Booked(7, at, 120)  # 14:00-16:00
    assert clash(at + timedelta(minutes=119), 30, [other]) == other
    assert clash(at - timedelta(minutes=30), 31, [other]) == other
    assert clash(at - timedelta(minutes=30), 30, [other]) is None  # ends as it starts
    assert clash(at + timedelta(minutes=120), 60, [other]) is None  # starts as it ends
    assert clash(at + timedelta(minutes=10), 10, [other]) == other  # inside
    assert clash(at - timedelta(hours=1), 300, [other]) == other  # around
    first = Booked(3, at - timedelta(minutes=60), 90)
    assert clash(at, 60, [other, first]) == first  # the earliest one is named


def test_an_overlapping_booking_is_refused_naming_the_other_session(services):
    p = enrol(services)
    first = book(services, p["id"], "2027-03-12T09:00")  # 120 min
    with pytest.raises(sessions.Overlap) as refused:
        book(services, p["id"], "2027-03-12T09:30")
    assert refused.value.session() == {"id": first["id"], "start": first["start"]}
    assert isinstance(refused.value, Conflict)
    assert len(rows(services)) == len(rows(services, session_id=first["id"]))  # nothing written


def test_force_books_it_anyway(services):
    p = enrol(services)
    book(services, p["id"], "2027-03-12T09:00")
    second = book(services, p["id"], "2027-03-12T09:30", force=True)
    assert second["status"] == "booked"


def test_back_to_back_sessions_and_other_patients_and_cancelled_sessions_do_not_clash(services):
    p, q = enrol(services), enrol(services, phone="+12025550199", email=None, channels=["sms"])
    first = book(services, p["id"], "2027-03-12T09:00")
    ends = datetime(2027, 3, 12, 9, 0) + timedelta(minutes=DEFAULT_DURATION["iv"])
    book(services, p["id"], ends.strftime("%Y-%m-%dT%H:%M"))  # starts as the first (default length) ends
    book(services, q["id"], "2027-03-12T09:00")
    sessions.cancel_session(services, first["id"], None, "test")
    book(services, p["id"], "2027-03-12T09:00", duration_minutes=60)  # only the cancelled one there


def test_rescheduling_into_another_session_is_refused_and_force_moves_it(services):
    p = enrol(services)
    first = book(services, p["id"], "2027-03-12T09:00")
    second = book(services, p["id"], "2027-03-15T09:00")
    with pytest.raises(sessions.Overlap) as refused:
        sessions.reschedule_session(services, second["id"], {"start": "2027-03-12T09:30"}, "test")
    assert refused.value.other.id == first["id"]
    sessions.reschedule_session(services, first["id"], {"start": "2027-03-12T09:30"}, "test")  # itself: fine
    moved = sessions.reschedule_session(
        services, second["id"], {"start": "2027-03-12T09:30", "force": True}, "test"
    )
    assert moved["start"] == "2027-03-12T14:30:00+00:00"


def test_a_longer_duration_that_runs_into_the_next_session_is_refused(services):
    p = enrol(services)
    first = book(services, p["id"], "2027-03-12T09:00")
    book(services, p["id"], "2027-03-12T11:00")
    with pytest.raises(sessions.Overlap):
        sessions.reschedule_session(
            services, first["id"], {"start": "2027-03-12T09:00", "duration_minutes": 180}, "test"
        )


def test_the_api_answers_409_naming_the_other_session_and_force_books(services):
    client = create_app(services=services).test_client()
    p = enrol(services)
    first = book(services, p["id"], "2027-03-12T09:00")
    body = {"patient_id": p["id"], "start": "2027-03-12T09:30", "modality": "iv"}
    r = client.post("/api/v1/sessions", json=body, headers=AUTH)
    assert r.status_code == 409 and r.json["error"] == "overlap"
    assert r.json["session"] == {"id": first["id"], "start": "2027-03-12T14:00:00+00:00"}
    assert f"session {first['id']}" in r.json["message"] and "force" in r.json["message"]
    r = client.post("/api/v1/sessions", json={**body, "force": True}, headers=AUTH)
    assert r.status_code == 201
    r = client.post("/api/v1/sessions", json={**body, "force": "yes"}, headers=AUTH)
    assert r.status_code == 400 and "force" in r.json["fields"]
    later = book(services, p["id"], "2027-03-20T09:00")
    r = client.patch(f"/api/v1/sessions/{later['id']}", json={"start": "2027-03-12T09:15"}, headers=AUTH)
    assert r.status_code == 409 and r.json["session"]["id"] == first["id"]


def test_the_api_document_describes_the_overlap_answer_and_force(services):
    client = create_app(services=services).test_client()
    doc = client.get("/api/v1/openapi.json").json
    # The 409 of a booking: the overlap, or (any POST) an Idempotency-Key still in use.
    answer = doc["paths"]["/sessions"]["post"]["responses"]["409"]
    refs = [s["$ref"] for s in answer["content"]["application/json"]["schema"]["anyOf"]]
    assert refs[1].endswith("/IdempotencyKeyError")
    overlap = doc["components"]["schemas"][refs[0].rsplit("/", 1)[1]]
    assert set(overlap["properties"]["session"]["required"]) == {"id", "start"}
    assert "force" in doc["components"]["schemas"]["Booking"]["properties"]
    assert "force" in doc["components"]["schemas"]["Reschedule"]["properties"]


def test_a_bulk_import_reports_an_overlapping_item_and_books_the_rest(services):
    p = enrol(services)
    first = book(services, p["id"], "2027-03-12T09:00")
    items = [
        {"patient_id": p["id"], "start": "2027-03-15T09:00", "modality": "iv"},
        {"patient_id": p["id"], "start": "2027-03-12T09:30", "modality": "iv"},  # on the booked one
        {"patient_id": p["id"], "start": "2027-03-15T09:30", "modality": "iv"},  # on item 0
        {"patient_id": p["id"], "start": "2027-03-12T09:30", "modality": "iv", "force": True},
        {"patient_id": p["id"], "start": "2027-03-18T09:00", "modality": "iv"},
    ]
    result = book_sessions(services, items, "ehr").as_dict()
    assert [b["index"] for b in result["booked"]] == [0, 3, 4]
    errors = {e["index"]: e["fields"]["start"] for e in result["errors"]}
    assert set(errors) == {1, 2}
    assert f"session {first['id']}" in errors[1]
    assert "item 0" in errors[2]


def test_the_cli_prints_the_overlap_and_books_with_force(sqlite_url, clock):
    app = make_services(sqlite_url, clock)
    runner = cli_runner(create_app(services=app))
    p = enrol(app)
    first = book(app, p["id"], "2027-03-12T09:00")
    args = ["session", "book", "--patient", str(p["id"]), "--start", "2027-03-12T09:30", "--modality", "iv"]
    r = runner.invoke(args=args)
    assert r.exit_code == 2 and f"session {first['id']}" in r.output and "--force" in r.output
    r = runner.invoke(args=[*args, "--force"])
    assert r.exit_code == 0, r.output
    assert '"status": "booked"' in r.output


def test_the_staff_booking_form_shows_the_overlap_and_books_when_ticked(staff_services, admin_client):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-12T09:00")
    url = f"/staff/patients/{p['id']}/sessions/new"
    data = {"start": "2027-03-12T09:30", "modality": "iv", "action": "save"}
    refused = admin_client.post(url, data)
    assert refused.status_code == 303  # back to the preview, which names the other session
    page = admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    shown = re.search(r'<p class="field-error" id="force-error">([^<]*)</p>', page)
    assert shown and "Fri, Mar 12, 9:00 AM EST" in shown.group(1) and "120 min" in shown.group(1)
    assert 'name="force"' in page
    booked = admin_client.post(url, {**data, "force": "on"})
    assert booked.status_code == 302


def test_the_staff_reschedule_form_shows_the_overlap(staff_services, admin_client):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-12T09:00")
    second = book(staff_services, p["id"], "2027-03-15T09:00")
    url = f"/staff/sessions/{second['id']}/reschedule"
    refused = admin_client.post(url, {"start": "2027-03-12T09:30", "action": "save"})
    assert refused.status_code == 303
    page = admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Fri, Mar 12, 9:00 AM EST" in page.split('id="force-error"')[1]
    moved = admin_client.post(url, {"start": "2027-03-12T09:30", "action": "save", "force": "on"})
    assert moved.status_code == 302
