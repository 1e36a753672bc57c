"""Escalation routing: who is paged, with what words, after hours too, and the refusal to run a
real clinic with nobody on call. SQLite and PostgreSQL; the CLI as a real subprocess."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import insert, inspect, select
from twilio.request_validator import RequestValidator

from service.config import ConfigError, parse_config
from service.db.engine import make_engine
from service.db.migrate import MIGRATIONS, upgrade
from service.db.tables import escalations, inbound_messages, patients, staff_tasks
from service.demo import DEMO_CONFIG, write_demo_config
from service.domain.office_hours import OfficeHours, within_office_hours
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.escalations import page_after_hours_inbox, raise_escalation, sweep
from service.web import create_app
from tests.helpers import (
    ROOT,
    TWILIO_TOKEN,
    book,
    cli_config,
    enrol,
    make_config,
    make_services,
    rows,
    run_cli,
    sandbox,
)

PUBLIC = "https://clinic.example.com"
ON_CALL = "+12025550181"
ON_CALL_EMAIL = "oncall@clinic.example"
BACKUP = "+12025550182"
ROUTED = f"""
[web]
public_base_url = "{PUBLIC}"
[[escalation.on_call]]
name = "Dr Rivera"
phone = "{ON_CALL}"
email = "{ON_CALL_EMAIL}"
[[escalation.backup]]
name = "Manager"
phone = "{BACKUP}"
"""
NY = ZoneInfo("America/New_York")
WORDS = "I swallowed all my pills an hour ago"  # never to appear in a page


def local(text: str) -> datetime:
    """A New York wall-clock time as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


@pytest.fixture
def make_app(db_url, clock):
    made = []

    def _make(extra: str = ROUTED):
        services = make_services(db_url, clock, config=make_config(db_url, extra=extra))
        made.append(services)
        return services

    yield _make
    for services in made:
        services.engine.dispose()


def patient_row(app, patient_id):
    with app.engine.connect() as conn:
        return conn.execute(select(patients).where(patients.c.id == patient_id)).mappings().one()


def store_inbound(app, patient_id, body=WORDS):
    with app.engine.begin() as conn:
        return conn.execute(
            insert(inbound_messages)
            .values(
                provider_id="SM" + uuid.uuid4().hex,
                channel="sms",
                sender="+12025550143",
                patient_id=patient_id,
                body=body,
                received_at=app.clock(),
                kind="inbox",
                needs_attention=True,
            )
            .returning(inbound_messages.c.id)
        ).scalar_one()


def escalate(app, patient_id, **kwargs):
    patient = patient_row(app, patient_id)
    with app.engine.begin() as conn:
        return raise_escalation(app, conn, patient=patient, now=app.clock(), **kwargs)


def all_escalations(app):
    with app.engine.connect() as conn:
        return list(conn.execute(select(escalations).order_by(escalations.c.id)).mappings())


def pages_to(app, *recipients):
    Dispatcher(app).run_once()
    return [m for m in sandbox(app) if m["recipient"] in recipients]


# --- the migration -------------------------------------------------------------------------------


def test_migration_0006_adds_a_nullable_category_and_goes_back(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        columns = {c["name"]: c for c in inspect(engine).get_columns("escalations")}
        assert columns["category"]["nullable"] is True
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0005")
        assert "category" not in {c["name"] for c in inspect(engine).get_columns("escalations")}
        upgrade(engine)
        assert "category" in {c["name"] for c in inspect(engine).get_columns("escalations")}
    finally:
        engine.dispose()


# --- raise_escalation ----------------------------------------------------------------------------


def test_an_escalation_with_someone_on_call_is_paged_by_sms_and_email(make_app):
    app = make_app()
    patient = enrol(app)
    result = escalate(app, patient["id"], kind="crisis", category="overdose")
    assert result["paged"] is True and len(result["code"]) == 6
    queued = [r for r in rows(app) if r["audience"] == "staff"]
    assert {(r["channel"], r["recipient"]) for r in queued} == {("sms", ON_CALL), ("email", ON_CALL_EMAIL)}


def test_an_escalation_with_nobody_on_call_is_not_paged_and_becomes_an_unrouted_task(make_app):
    app = make_app("")
    patient = enrol(app)
    result = escalate(app, patient["id"], kind="crisis", category="suicide")
    assert result["paged"] is False
    assert [r for r in rows(app) if r["audience"] == "staff"] == []
    with app.engine.connect() as conn:
        kinds = conn.execute(select(staff_tasks.c.kind)).scalars().all()
    assert kinds == ["escalation-unrouted"]


def test_the_crisis_category_is_stored_and_shown_in_plain_words(make_app):
    app = make_app()
    patient = enrol(app)
    escalate(app, patient["id"], kind="crisis", category="harm-others")
    escalate(app, patient["id"], kind="no-answer")
    crisis, silence = all_escalations(app)
    assert crisis["category"] == "harm-others" and silence["category"] is None
    from service.services.replies.escalations import list_escalations

    views = {v["kind"]: v for v in list_escalations(app)}
    assert views["crisis"]["reason"] == "crisis language: harm to others"
    assert views["crisis"]["category"] == "harm-others"


@pytest.mark.parametrize(
    ("category", "words"),
    [
        ("suicide", "crisis language: suicide or self-harm"),
        ("overdose", "crisis language: overdose or poisoning"),
        ("harm-others", "crisis language: harm to others"),
        ("medical-emergency", "crisis language: medical emergency"),
        ("urgent-symptom", "crisis language: urgent symptom after a session"),
    ],
)
def test_the_page_names_the_crisis_category_and_never_the_patients_words(make_app, category, words):
    app = make_app()
    patient = enrol(app)
    session = book(app, patient["id"], "2027-03-13T09:00")
    inbound_id = store_inbound(app, patient["id"])
    esc = escalate(
        app, patient["id"], kind="crisis", category=category, inbound_id=inbound_id, session_id=session["id"]
    )
    pages = pages_to(app, ON_CALL, ON_CALL_EMAIL)
    assert {m["channel"] for m in pages} == {"sms", "email"}
    for page in pages:
        text = page["body"] + (page["subject"] or "")
        assert words in text and esc["code"] in text and "M.L." in text and "Mar 13" in text
        assert f"{PUBLIC}/staff/escalations/" in text
        assert "swallowed" not in text and "pills" not in text and "Maria" not in text
        assert "Lopez" not in text and "555-0143" not in text and "low-urgency" not in text.lower()


def test_every_crisis_category_has_its_own_wording():
    from service.domain.crisis import CATEGORIES
    from service.services.replies.escalations import reason_label

    labels = {reason_label("crisis", c) for c in CATEGORIES}
    assert len(labels) == len(CATEGORIES) and all(label.startswith("crisis language: ") for label in labels)


# --- office hours (the pure rule) ----------------------------------------------------------------


HOURS = OfficeHours(
    datetime.strptime("08:00", "%H:%M").time(),
    datetime.strptime("18:00", "%H:%M").time(),
    ("mon", "tue", "wed", "thu", "fri"),
    NY,
)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        ("2027-03-02T08:00", True),  # Tuesday, opening minute
        ("2027-03-02T17:59", True),
        ("2027-03-02T18:00", False),  # closing minute is outside
        ("2027-03-02T07:59", False),
        ("2027-03-06T11:00", False),  # Saturday
        ("2027-03-14T12:00", False),  # Sunday of the DST change
        ("2027-03-15T12:00", True),
    ],
)
def test_office_hours_are_read_on_the_clinics_wall_clock(moment, inside):
    assert within_office_hours(local(moment), HOURS) is inside


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[clinic]\noffice_hours = "18:00-08:00"\n', "clinic.office_hours"),
        ('[clinic]\noffice_hours = "8-18"\n', "clinic.office_hours"),
        ('[clinic]\noffice_days = ["mon", "funday"]\n', "clinic.office_days"),
        ("[clinic]\noffice_days = []\n", "clinic.office_days"),
        ('[clinic]\noffice_days = "mon"\n', "clinic.office_days"),
        ('[escalation]\nafter_hours_inbox = "later"\n', "escalation.after_hours_inbox"),
    ],
)
def test_malformed_office_hours_and_after_hours_settings_are_refused_by_name(extra, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(extra, "clinic.toml")


# --- after-hours Inbox ---------------------------------------------------------------------------

SESSION_START = "2027-03-02T11:00"  # Tuesday, New York


def after_hours_setup(make_app, extra=ROUTED):
    """A patient whose session starts at SESSION_START (booked at T0, Tuesday 10:00 New York)."""
    app = make_app(extra)
    patient = enrol(app)
    session = book(app, patient["id"], SESSION_START)
    return app, patient, session


def page_inbox(app, patient_id):
    inbound_id = store_inbound(app, patient_id, body="Is it normal to feel this tired?")
    patient = patient_row(app, patient_id)
    with app.engine.begin() as conn:
        return page_after_hours_inbox(app, conn, patient=patient, inbound_id=inbound_id, now=app.clock())


def test_a_message_after_hours_within_72_hours_of_a_session_pages_with_low_urgency(make_app, clock):
    app, patient, _ = after_hours_setup(make_app)
    clock.set(local("2027-03-02T21:30"))
    assert page_inbox(app, patient["id"]) is True
    [esc] = all_escalations(app)
    assert esc["kind"] == "after-hours-inbox" and esc["state"] == "open" and esc["session_id"] is not None
    pages = pages_to(app, ON_CALL, ON_CALL_EMAIL)
    sms = next(m for m in pages if m["channel"] == "sms")["body"]
    email = next(m for m in pages if m["channel"] == "email")
    assert "low-urgency" in sms and "wrote after hours within 72 h of a session" in sms and "Inbox" in sms
    assert "crisis" not in sms.lower() and "tired" not in sms and esc["code"] in sms
    assert "low-urgency" in email["subject"] and "Low urgency" in email["body"]
    assert "tired" not in email["body"] and "attention" not in email["body"]


def test_an_unacknowledged_after_hours_page_goes_to_the_backup_too(make_app, clock):
    app, patient, _ = after_hours_setup(make_app)
    clock.set(local("2027-03-02T21:30"))
    assert page_inbox(app, patient["id"])
    pages_to(app, ON_CALL)
    clock.advance(timedelta(minutes=16))
    assert sweep(app) == 1
    [backup] = pages_to(app, BACKUP)
    assert "low-urgency" in backup["body"]


def test_a_second_message_while_one_is_open_adds_no_escalation(make_app, clock):
    app, patient, _ = after_hours_setup(make_app)
    clock.set(local("2027-03-02T21:30"))
    assert page_inbox(app, patient["id"]) is True
    clock.advance(timedelta(minutes=5))
    assert page_inbox(app, patient["id"]) is False
    assert len(all_escalations(app)) == 1


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        ("2027-03-03T10:00", "inside office hours"),
        ("2027-03-05T22:00", "more than 72 hours after the session"),
        ("2027-03-02T06:00", "before the session started"),
    ],
)
def test_no_after_hours_page(make_app, clock, moment, why):
    app, patient, _ = after_hours_setup(make_app)
    clock.set(local(moment))
    assert page_inbox(app, patient["id"]) is False, why
    assert all_escalations(app) == []


def test_after_hours_inbox_wait_never_pages(make_app, clock):
    app, patient, _ = after_hours_setup(make_app, ROUTED + '\n[escalation]\nafter_hours_inbox = "wait"\n')
    clock.set(local("2027-03-02T21:30"))
    assert page_inbox(app, patient["id"]) is False
    assert all_escalations(app) == []


def test_a_cancelled_session_does_not_count(make_app, clock):
    from service.services.sessions import cancel_session

    app, patient, session = after_hours_setup(make_app)
    cancel_session(app, session["id"], {"reason": "ill"}, "test")
    clock.set(local("2027-03-02T21:30"))
    assert page_inbox(app, patient["id"]) is False


def test_free_text_after_hours_through_the_webhook_pages_the_on_call_once(make_app, clock):
    app, _, _ = after_hours_setup(make_app)
    client = create_app(services=app).test_client()
    clock.set(local("2027-03-02T22:00"))
    for body in ("Can I take ibuprofen tonight?", "Also, when is my next appointment?"):
        signed_text(client, body)
    [esc] = all_escalations(app)
    assert esc["kind"] == "after-hours-inbox"
    [sms] = [m for m in pages_to(app, ON_CALL) if m["channel"] == "sms"]
    assert "ibuprofen" not in sms["body"] and "appointment" not in sms["body"]


def signed_text(client, body):
    """Post `body` as the patient through the signed Twilio webhook."""
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": "+12025550143",
        "To": "+12025550100",
        "Body": body,
        "NumMedia": "0",
    }
    sig = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/twilio/inbound", params)
    r = client.post("/twilio/inbound", data=params, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 200
    return r


def test_a_crisis_text_through_the_webhook_stores_its_category_and_pages_it(make_app):
    app = make_app()
    enrol(app)
    signed_text(create_app(services=app).test_client(), "I took too many pills tonight")
    [esc] = all_escalations(app)
    assert esc["kind"] == "crisis" and esc["category"] == "overdose"
    [sms] = [m for m in pages_to(app, ON_CALL) if m["channel"] == "sms"]
    assert "crisis language: overdose or poisoning" in sms["body"] and "pills" not in sms["body"]


# --- routing must exist: check, serve, web, worker -----------------------------------------------

TWILIO = '[sms]\ntransport = "twilio"\n[twilio]\naccount_sid = "AC0123"\nfrom_number = "+12025550100"\n'
SMTP = '[email]\ntransport = "smtp"\n'
REAL_ENV = {
    "INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "INTERLUDE_SECRET_KEY": "f3a9c1d7e5b2084a6c9e1f3b5d7a2c4e",
}
ON_CALL_TOML = f'[[escalation.on_call]]\nname = "Dr Rivera"\nphone = "{ON_CALL}"\n'


@pytest.mark.parametrize("real", [TWILIO, SMTP], ids=["twilio", "smtp"])
def test_check_fails_naming_the_key_when_real_messages_have_nobody_on_call(tmp_path, real):
    config = cli_config(tmp_path, real)
    r = run_cli("--config", str(config), "check", cwd=tmp_path, env=REAL_ENV)
    assert r.returncode == 1, r.stderr
    [line] = [x for x in r.stderr.splitlines() if "on_call" in x]
    assert "[escalation] on_call" in line and str(config) in line and "Traceback" not in r.stderr


def test_check_passes_with_real_transports_and_someone_on_call(tmp_path):
    config = cli_config(tmp_path, TWILIO + ON_CALL_TOML)
    r = run_cli("--config", str(config), "check", cwd=tmp_path, env=REAL_ENV)
    assert r.returncode == 0, r.stderr
    assert "on_call" not in r.stderr


def test_check_only_warns_about_nobody_on_call_in_the_sandbox(tmp_path):
    r = run_cli("--config", str(cli_config(tmp_path)), "check", cwd=tmp_path)
    assert r.returncode == 0 and "ok" in r.stdout
    assert "warning:" in r.stderr and "[escalation] on_call" in r.stderr


@pytest.mark.parametrize("cmd", ["serve", "web", "worker"])
@pytest.mark.parametrize("real", [TWILIO, SMTP], ids=["twilio", "smtp"])
def test_serve_web_and_worker_refuse_to_start_with_nobody_on_call(tmp_path, cmd, real):
    config = cli_config(tmp_path, real)
    assert run_cli("--config", str(config), "init", cwd=tmp_path, env=REAL_ENV).returncode == 0
    r = run_cli("--config", str(config), cmd, cwd=tmp_path, env=REAL_ENV)
    assert r.returncode == 2
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and "[escalation] on_call" in line
    assert "serving on" not in r.stdout and "worker running" not in r.stdout


# --- the demo config -----------------------------------------------------------------------------


def test_the_demo_config_ships_an_on_call_clinician_and_sandbox_transports():
    config = parse_config(DEMO_CONFIG, "demo")
    assert config.sms.transport == "sandbox" and config.email.transport == "sandbox"
    [on_call] = config.escalation.on_call
    assert on_call.phone.startswith("+1202555") and on_call.email


def test_the_demo_config_is_written_only_when_no_config_is_in_use(tmp_path):
    target = tmp_path / "instance" / "config.toml"
    assert write_demo_config(parse_config("", "clinic.toml"), target) is None
    assert write_demo_config(parse_config("", "built-in defaults"), target) == target
    target.write_text("# the clinic's own\n")
    assert write_demo_config(parse_config("", "built-in defaults"), target) is None
    assert target.read_text() == "# the clinic's own\n"


def test_init_demo_then_check_runs_with_a_demo_on_call_as_make_run_does(tmp_path):
    for folder in ("schedules", "messages"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    r = run_cli("init", "--demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "demo config written" in r.stdout
    assert "Demo on-call clinician" in Path(tmp_path / "instance" / "config.toml").read_text()
    r = run_cli("check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "on_call" not in r.stderr
