"""After a final failure: preparation and safety go by the other channel (recorded as such) or
become a staff task; preparation nobody confirmed before the session becomes a staff task; and
staff can list what failed, to whom (masked) and why, from the CLI and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.db.tables import audit_events, delivery_attempts, patients, staff_tasks
from service.logs import KeyValueFormatter
from service.services.outbox.deliveries import apply_status, list_deliveries, mask_email, mask_phone
from service.services.outbox.delivery_policy import after_failure, sweep_unconfirmed_prep
from service.services.outbox.dispatch import Dispatcher
from service.transports.base import TransportError
from service.web import create_app
from tests.helpers import (
    API_TOKEN,
    ScriptedTransport,
    book,
    cli_runner,
    enrol,
    make_config,
    make_services,
    rows,
)
from tests.prism import twilio_settings
from tests.smtp_peer import PASSWORD, smtp_server, smtp_settings

pytest_plugins = ["tests.prism"]

INVALID = TransportError("invalid number", kind="permanent", code="21211")
CARRIER = TransportError("carrier error", kind="permanent", code="30008")
REFUSED = TransportError("refused", kind="permanent", code="smtp-rcpt-550")


def one_step_schedule(folder, *, category, channels, template, step_id="the_step"):
    """A schedule with one step, due as soon as a session is booked."""
    folder.mkdir(exist_ok=True)
    listed = ", ".join(f'"{c}"' for c in channels)
    (folder / "default.toml").write_text(
        f'description = "one step"\n\n[[step]]\nid = "{step_id}"\nanchor = "booking"\noffset = "0m"\n'
        f'category = "{category}"\nchannels = [{listed}]\ntemplate = "{template}"\nif_late = "send"\n'
    )
    return folder


@pytest.fixture
def made():
    """Services built by a test, their engines closed after it."""
    apps = []
    yield apps
    for app in apps:
        app.engine.dispose()


@pytest.fixture
def app_with(db_url, clock, tmp_path, made):
    """Services whose schedule is one step; SMS and email by scripted transports named as the real ones."""

    def build(*, sms=(), email=(), **step):
        config = make_config(db_url, schedules=one_step_schedule(tmp_path / "schedules", **step))
        transports = {
            "sms": ScriptedTransport("twilio", list(sms)),
            "email": ScriptedTransport("smtp", list(email)),
        }
        made.append(make_services(db_url, clock, config=config, transports=transports))
        return made[-1], transports

    return build


def tasks(app):
    with app.engine.connect() as conn:
        return list(conn.execute(select(staff_tasks).order_by(staff_tasks.c.id)).mappings())


def test_a_prep_sms_that_fails_for_good_goes_by_email_recorded_as_such(app_with):
    app, t = app_with(
        sms=[INVALID],
        category="prep",
        channels=["sms"],
        template="prep_evening_before",
    )
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    failed, fallback = rows(app, step_id="the_step")
    assert (failed["channel"], failed["status"], failed["reason"]) == ("sms", "failed", "permanent:21211")
    assert (fallback["channel"], fallback["status"], fallback["dedupe_key"]) == (
        "email",
        "sent",
        f"fallback:{failed['id']}",
    )
    assert [m.to for m in t["email"].received] == ["maria@example.org"]
    sent = t["email"].received[0]
    assert sent.subject == "Before your appointment on Fri, Mar 12: when to stop eating and drinking"
    assert "Friday, March 12" in sent.body
    with app.engine.connect() as conn:
        audit = (
            conn.execute(select(audit_events).where(audit_events.c.action == "delivery-fallback"))
            .mappings()
            .one()
        )
    assert (audit["entity"], audit["entity_id"]) == ("outbox", failed["id"])
    assert audit["details"]["fallback_outbox_id"] == fallback["id"]
    assert [k["kind"] for k in tasks(app)] == ["sms-unusable"]  # the number, not the message, needs staff
    view = list_deliveries(app, failed=True)
    assert [(v["id"], v["fallback"]) for v in view] == [
        (failed["id"], {"id": fallback["id"], "channel": "email", "status": "sent"})
    ]


def test_a_safety_email_refused_for_good_goes_by_sms(app_with):
    app, t = app_with(
        email=[REFUSED],
        category="safety",
        channels=["email"],
        template="checkin_next_day",
    )
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    failed, fallback = rows(app, step_id="the_step")
    assert (failed["channel"], failed["status"]) == ("email", "failed")
    assert (fallback["channel"], fallback["status"]) == ("sms", "sent")
    assert [m.to for m in t["sms"].received] == ["+12025550143"]
    assert [k["kind"] for k in tasks(app)] == ["email-refused"]


def test_education_does_not_fall_back(app_with):
    app, _ = app_with(
        sms=[CARRIER],
        category="education",
        channels=["sms"],
        template="integration_note",
    )
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    assert [r["channel"] for r in rows(app, step_id="the_step")] == ["sms"]
    assert tasks(app) == []
    assert [v["reason"] for v in list_deliveries(app, failed=True)] == ["permanent:30008"]


def test_a_step_already_going_by_both_channels_needs_no_fallback(app_with):
    app, _ = app_with(
        sms=[CARRIER],
        category="prep",
        channels=["sms", "email"],
        template="prep_ahead",
    )
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    assert sorted((r["channel"], r["status"]) for r in rows(app, step_id="the_step")) == [
        ("email", "sent"),
        ("sms", "failed"),
    ]
    assert tasks(app) == []


@pytest.mark.parametrize(
    ("template", "patient", "why"),
    [
        ("prep_evening_before", {"email": None, "channels": ["sms"]}, "no-email-contact"),
        ("enrolment_opt_in", {}, "no-email-template"),
    ],
)
def test_when_no_other_channel_can_carry_it_staff_get_a_task(app_with, template, patient, why):
    app, _ = app_with(sms=[CARRIER], category="prep", channels=["sms"], template=template)
    p = enrol(app, **patient)
    s = book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    assert [r["channel"] for r in rows(app, step_id="the_step")] == ["sms"]
    [task] = tasks(app)
    assert (task["kind"], task["patient_id"], task["session_id"]) == ("undelivered", p["id"], s["id"])
    assert why in task["detail"] and "30008" in task["detail"]


def test_when_the_fallback_fails_too_staff_get_a_task(app_with):
    app, _ = app_with(
        sms=[CARRIER],
        email=[REFUSED],
        category="safety",
        channels=["sms"],
        template="checkin_next_day",
    )
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    assert sorted((r["channel"], r["status"]) for r in rows(app, step_id="the_step")) == [
        ("email", "failed"),
        ("sms", "failed"),
    ]
    assert sorted(t["kind"] for t in tasks(app)) == ["email-refused", "undelivered"]
    assert "both-failed" in next(t["detail"] for t in tasks(app) if t["kind"] == "undelivered")


def test_real_peers_a_landline_at_twilio_falls_back_to_email_over_smtp(
    sqlite_url, clock, tmp_path, twilio_api
):
    """Prism answers Twilio's 21211; the preparation arrives at a real SMTP server instead."""
    twilio_api.prefer = "code=400, example=invalidTo"
    with smtp_server() as (mailbox, port):
        config = make_config(
            sqlite_url,
            schedules=one_step_schedule(
                tmp_path / "s", category="prep", channels=["sms"], template="prep_evening_before"
            ),
            extra=twilio_settings(twilio_api.url) + smtp_settings(port),
            env={
                "INTERLUDE_SECRET_KEY": "fallback-test-key-0123456789abcdef",
                "INTERLUDE_SMTP_PASSWORD": PASSWORD,
            },
        )
        app = make_services(sqlite_url, clock, config=config)
        p = enrol(app)
        book(app, p["id"], "2027-03-12T09:00")
        Dispatcher(app).run_once()
    assert [m.form["To"] for m in twilio_api.messages] == ["+12025550143"]
    assert [r.rcpt_tos for r in mailbox.received] == [["maria@example.org"]]
    assert "List-Unsubscribe" not in mailbox.received[0].message  # preparation is care mail
    with app.engine.connect() as conn:
        patient = conn.execute(select(patients).where(patients.c.id == p["id"])).mappings().one()
    assert patient["sms_status"] == "unusable"


# --- preparation nobody confirmed ---------------------------------------------------------------


def evening_session(app, *, email=None):
    """A session tonight (20:00 in New York, 10 hours ahead) whose preparation is sent at once."""
    channels = ["sms", "email"] if email else ["sms"]
    p = enrol(app, email=email, channels=channels)
    s = book(app, p["id"], "2027-03-02T20:00")
    Dispatcher(app).run_once()
    return p, s


@pytest.fixture
def twilio_like(db_url, clock, made):
    """Services with scripted transports named "twilio" and "smtp" (so status reports apply)."""
    transports = {"sms": ScriptedTransport("twilio"), "email": ScriptedTransport("smtp")}
    made.append(make_services(db_url, clock, transports=transports))
    return made[-1]


def test_preparation_with_no_confirmed_delivery_becomes_a_staff_task_once(twilio_like, clock):
    app = twilio_like
    p, s = evening_session(app)
    assert sweep_unconfirmed_prep(app) == 0  # just sent: its status report may still come
    clock.advance(timedelta(minutes=11))
    assert sweep_unconfirmed_prep(app) == 1
    assert sweep_unconfirmed_prep(app) == 0
    [task] = tasks(app)
    assert (task["kind"], task["patient_id"], task["session_id"]) == ("prep-unconfirmed", p["id"], s["id"])
    assert task["due_at"] == clock.now.replace(hour=1, minute=0) + timedelta(days=1)


def test_a_delivered_report_confirms_the_preparation(twilio_like, clock):
    app = twilio_like
    evening_session(app)
    prep = rows(app, step_id="prep_evening_before")[0]
    with app.engine.connect() as conn:
        aid = conn.execute(
            select(delivery_attempts.c.id).where(delivery_attempts.c.outbox_id == prep["id"])
        ).scalar_one()
    assert apply_status(app, aid, "delivered", provider_id=f"fake-{aid}") == "delivered"
    clock.advance(timedelta(minutes=11))
    assert sweep_unconfirmed_prep(app) == 0


def test_an_email_accepted_by_the_relay_confirms_the_preparation(twilio_like, clock):
    app = twilio_like
    evening_session(app, email="maria@example.org")
    clock.advance(timedelta(minutes=11))
    assert sweep_unconfirmed_prep(app) == 0


def test_a_session_further_away_is_left_alone(twilio_like, clock):
    app = twilio_like
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-04T09:00")
    Dispatcher(app).run_once()
    clock.advance(timedelta(minutes=11))
    assert sweep_unconfirmed_prep(app) == 0


# --- what failed, to whom, why ------------------------------------------------------------------


def test_masks_show_enough_to_tell_apart_and_not_to_use():
    assert mask_phone("+12025550143") == "+1******0143"
    assert mask_email("maria@example.org") == "m***@example.org"
    assert mask_phone(None) == mask_email("") == "-"


def test_failed_deliveries_from_the_cli_and_the_api(sqlite_url, clock):
    sms = ScriptedTransport("twilio", [INVALID])
    email = ScriptedTransport("smtp", [REFUSED])
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": email})
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    flask_app = create_app(services=app)
    out = cli_runner(flask_app).invoke(args=["deliveries", "--failed"]).output
    assert "+1******0143" in out and "m***@example.org" in out
    assert "permanent:21211 (not a valid phone number)" in out
    assert "permanent:smtp-rcpt-550 (the mail server refused the address)" in out
    assert "2025550143" not in out and "maria@" not in out
    client = flask_app.test_client()
    assert client.get("/api/v1/deliveries?status=failed").status_code == 401
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    r = client.get("/api/v1/deliveries?status=failed", headers=auth)
    assert r.status_code == 200
    assert sorted((d["channel"], d["to"], d["code"], d["status"]) for d in r.json) == [
        ("email", "m***@example.org", "smtp-rcpt-550", "failed"),
        ("sms", "+1******0143", "21211", "failed"),
    ]
    assert "2025550143" not in r.text and "maria@" not in r.text
    assert client.get("/api/v1/deliveries?status=nope", headers=auth).status_code == 400
    everything = client.get("/api/v1/deliveries", headers=auth).json
    assert len(everything) >= 2


def test_a_broken_policy_leaves_the_recorded_failure_and_logs_no_phi(sqlite_url, clock, caplog):
    app = make_services(sqlite_url, clock)
    p = enrol(app)
    row = {"id": 1, "audience": "patient", "patient_id": 999999, "channel": "sms", "category": "prep"}
    with app.engine.begin() as conn:
        assert after_failure(app, conn, row, INVALID, clock.now) == ["policy-error"]
        conn.execute(update(patients).where(patients.c.id == p["id"]).values(language="es"))  # still usable
    assert "error=NoResultFound" in "\n".join(KeyValueFormatter().format(r) for r in caplog.records)


def test_a_corrected_phone_number_can_receive_sms_again(sqlite_services):
    from sqlalchemy import update

    from service.db.tables import patients as patients_table
    from service.services.patients import update_patient
    from tests.helpers import enrol

    p = enrol(sqlite_services)
    with sqlite_services.engine.begin() as conn:
        conn.execute(update(patients_table).values(sms_status="unusable", sms_status_reason="21614"))
    assert update_patient(sqlite_services, p["id"], {"language": "es"}, "test")["id"] == p["id"]
    with sqlite_services.engine.connect() as conn:
        assert conn.execute(patients_table.select()).mappings().one()["sms_status"] == "unusable"
    update_patient(sqlite_services, p["id"], {"phone": "+12025550177"}, "test")
    with sqlite_services.engine.connect() as conn:
        row = conn.execute(patients_table.select()).mappings().one()
    assert (row["sms_status"], row["sms_status_reason"]) == ("ok", None)


def test_the_morning_of_fasting_reminder_falls_back_to_email(app_with):
    app, _ = app_with(sms=[CARRIER], category="prep", channels=["sms"], template="prep_morning_of")
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    Dispatcher(app).run_once()
    assert sorted((r["channel"], r["status"]) for r in rows(app, step_id="the_step")) == [
        ("email", "sent"),
        ("sms", "failed"),
    ]
    assert tasks(app) == []
