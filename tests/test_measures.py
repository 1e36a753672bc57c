"""Questionnaires (PHQ-9, GAD-7, PCL-5) on SQLite and PostgreSQL: the published scoring at every
band edge; a measure step sends one short signed link by SMS and email; the link's GET shows the
form and records nothing, each POST saves what was answered (resumable), the last one scores;
PHQ-9 item 9 above 0 shows 988 and 911 and opens an escalation the acknowledgement closes; a
PHQ-9 worsening of [measures] worsening_points opens a staff task; forged and expired links get a
clear page; the migration goes up and down."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select

from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import delivery_attempts, escalations, measure_responses, outbox, sandbox_messages
from service.db.tables import staff_tasks as tasks_table
from service.domain.instruments import GAD7, INSTRUMENTS, PCL5, PHQ9, MeasureError, score
from service.domain.segments import segment_info
from service.schedules import ScheduleError, parse_schedule
from service.services.measures import PATH, make_token, measures_of, read_token
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.escalations import acknowledge
from service.web import create_app
from tests.databases import downgrade
from tests.helpers import book, count, enrol, make_config, make_services
from tests.reply_helpers import EXTRA, PUBLIC

SECRET = "measure-link-secret-" + "s" * 24
LINK = re.compile(re.escape(PUBLIC) + r"(/q/[A-Za-z0-9_.\-]+)")


# --- scoring ---------------------------------------------------------------------------------------


def answers_totalling(instrument: Any, total: int) -> dict[int, int]:
    """Answers that add up to `total`, filling items from the first (item 9 last on PHQ-9)."""
    answers = {}
    left = total
    for n in range(1, len(instrument.items["en"]) + 1):
        answers[n] = min(left, instrument.max_answer)
        left -= answers[n]
    assert left == 0
    return answers


@pytest.mark.parametrize(
    ("instrument", "total", "band"),
    [
        (PHQ9, 0, "minimal"),
        (PHQ9, 4, "minimal"),
        (PHQ9, 5, "mild"),
        (PHQ9, 9, "mild"),
        (PHQ9, 10, "moderate"),
        (PHQ9, 14, "moderate"),
        (PHQ9, 15, "moderately severe"),
        (PHQ9, 19, "moderately severe"),
        (PHQ9, 20, "severe"),
        (PHQ9, 27, "severe"),
        (GAD7, 0, "minimal"),
        (GAD7, 4, "minimal"),
        (GAD7, 5, "mild"),
        (GAD7, 9, "mild"),
        (GAD7, 10, "moderate"),
        (GAD7, 14, "moderate"),
        (GAD7, 15, "severe"),
        (GAD7, 21, "severe"),
        (PCL5, 0, "below cut point"),
        (PCL5, 32, "below cut point"),
        (PCL5, 33, "probable PTSD"),
        (PCL5, 80, "probable PTSD"),
    ],
)
def test_published_bands_at_every_edge(instrument, total, band):
    result = score(instrument, answers_totalling(instrument, total))
    assert (result.total, result.band) == (total, band)


def test_instruments_have_their_published_size_and_languages():
    assert [(i.name, len(i.items["en"]), i.max_total) for i in INSTRUMENTS.values()] == [
        ("PHQ-9", 9, 27),
        ("GAD-7", 7, 21),
        ("PCL-5", 20, 80),
    ]
    assert PHQ9.languages == ("en", "es") and GAD7.languages == ("en", "es")
    assert PCL5.languages == ("en",) and PCL5.language_for("es") == "en"
    for instrument in INSTRUMENTS.values():
        for lang in instrument.languages:
            assert len(instrument.items[lang]) == len(instrument.items["en"])


def test_item9_above_zero_is_a_flag_and_incomplete_or_out_of_range_answers_are_refused():
    assert score(PHQ9, {**answers_totalling(PHQ9, 0), 9: 1}).flags == ("item9",)
    assert score(PHQ9, answers_totalling(PHQ9, 24)).flags == ()  # items 1-8 at 3, item 9 at 0
    with pytest.raises(MeasureError, match=r"items \[9\] are not answered"):
        score(PHQ9, {n: 0 for n in range(1, 9)})
    with pytest.raises(MeasureError, match="item 2: expected 0 to 3, got 4"):
        score(PHQ9, {**answers_totalling(PHQ9, 0), 2: 4})


def test_a_step_names_a_known_measure_and_asks_for_no_reply():
    base = '[[step]]\nid = "q"\nanchor = "start"\noffset = "-1d"\ncategory = "admin"\nchannels = ["sms"]\ntemplate = "measure_request"\n'
    assert parse_schedule(base + 'measure = "gad7"\n', "t.toml", "t").steps[0].measure == "gad7"
    with pytest.raises(ScheduleError, match="measure: expected one of phq9, gad7, pcl5"):
        parse_schedule(base + 'measure = "bdi"\n', "t.toml", "t")


# --- end to end --------------------------------------------------------------------------------------


@pytest.fixture
def web(db_url, clock):
    config = make_config(db_url, extra=EXTRA, env={"INTERLUDE_SECRET_KEY": SECRET})
    app = make_services(db_url, clock, config=config)
    flask_app = create_app(services=app)
    flask_app.testing = True
    yield app, flask_app.test_client()
    app.engine.dispose()


def send_step(app: Any, clock: Any, step_id: str, patient_id: int) -> list[Any]:
    """Move the clock to the step's messages and send them; the sandbox's copies (SMS, email)."""
    with app.reader.connect() as conn:
        due = (
            conn.execute(
                select(outbox.c.due_at).where(outbox.c.step_id == step_id, outbox.c.patient_id == patient_id)
            )
            .scalars()
            .all()
        )
    assert due, f"no {step_id} planned"
    clock.set(max(due) + timedelta(minutes=1))
    Dispatcher(app).run_once()
    with app.reader.connect() as conn:
        return list(
            conn.execute(
                select(sandbox_messages)
                .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
                .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
                .where(outbox.c.step_id == step_id, outbox.c.patient_id == patient_id)
            ).mappings()
        )


def measure_link(app: Any, clock: Any, patient: dict[str, Any], step_id: str = "measure_phq9_pre1") -> str:
    sent = send_step(app, clock, step_id, patient["id"])
    paths = {p for m in sent for p in LINK.findall(m["body"] + (m["html"] or ""))}
    assert len(paths) == 2  # one link in the SMS, one in the email
    return sorted(paths)[0]


def responses(app: Any) -> list[Any]:
    with app.reader.connect() as conn:
        return list(conn.execute(select(measure_responses).order_by(measure_responses.c.id)).mappings())


def form_for(total_items: int, value: int = 0, **override: int) -> dict[str, str]:
    data = {f"item{n}": str(value) for n in range(1, total_items + 1)}
    data.update({k: str(v) for k, v in override.items()})
    return data


def test_a_measure_step_sends_a_discreet_signed_link_by_sms_and_email(web, clock):
    app, _ = web
    patient = enrol(app)  # depression: PHQ-9
    book(app, patient["id"], "2027-03-09T11:00")
    sent = send_step(app, clock, "measure_phq9_pre1", patient["id"])
    assert sorted(m["channel"] for m in sent) == ["email", "sms"]
    sms = next(m for m in sent if m["channel"] == "sms")
    email = next(m for m in sent if m["channel"] == "email")
    (path,) = LINK.findall(sms["body"])
    assert read_token(SECRET, path.removeprefix(PATH)) is not None
    assert LINK.findall(email["html"]) and LINK.findall(email["body"])
    assert segment_info(sms["body"]).segments <= 2
    for word in ("depress", "ketamine", "PHQ", "anxiety"):
        assert word.lower() not in sms["body"].lower()
    with app.reader.connect() as conn:
        steps = set(
            conn.execute(select(outbox.c.step_id).where(outbox.c.patient_id == patient["id"])).scalars()
        )
    assert "measure_gad7_pre1" not in steps and "measure_pcl5_pre1" not in steps  # other indications


def test_get_shows_the_form_and_records_nothing_and_post_saves_and_resumes(web, clock):
    app, client = web
    patient = enrol(app, language="es")
    book(app, patient["id"], "2027-03-09T11:00")
    path = measure_link(app, clock, patient)
    for _ in range(3):  # a scanner, a preview, the patient
        r = client.get(path)
        assert r.status_code == 200
        assert r.text.count("<fieldset") == 9 and r.text.count('type="radio"') == 36
        assert "Poco interés o placer en hacer cosas" in r.text and 'lang="es"' in r.text
    assert responses(app) == []

    r = client.post(path, data={"item1": "2", "item2": "1"})
    assert r.status_code == 200 and "Hemos guardado sus respuestas" in r.text
    (saved,) = responses(app)
    assert saved["answers"] == {"1": 2, "2": 1} and saved["completed_at"] is None
    r = client.get(path)  # resumed: the saved answers are checked
    assert 'id="i1v2" name="item1" value="2" checked' in r.text
    assert 'id="i2v1" name="item2" value="1" checked' in r.text

    r = client.post(path, data=form_for(9, 0, item1=2, item2=1, item3=3))
    assert r.status_code == 200 and "6 de 27" in r.text and "leve" in r.text
    (done,) = responses(app)
    assert (done["score"], done["band"], done["flags"]) == (6, "mild", [])
    assert count(app, escalations) == 0
    assert measures_of(app, patient["id"])["phq9"][0]["score"] == 6
    r = client.post(path, data=form_for(9, 3))  # completed: a second submit changes nothing
    assert responses(app)[0]["score"] == 6


def test_item9_shows_988_and_911_at_once_and_opens_an_escalation_the_ack_closes(web, clock):
    app, client = web
    patient = enrol(app)
    book(app, patient["id"], "2027-03-09T11:00")
    path = measure_link(app, clock, patient)
    r = client.post(path, data={"item9": "1"})  # item 9 first, the rest not yet answered
    assert r.status_code == 200
    assert 'role="alert"' in r.text and "988" in r.text and "911" in r.text
    with app.reader.connect() as conn:
        (esc,) = conn.execute(select(escalations)).mappings().all()
        pages = conn.execute(select(outbox).where(outbox.c.audience != "patient")).mappings().all()
    assert (esc["kind"], esc["category"], esc["state"]) == ("questionnaire", "questionnaire-item9", "open")
    assert esc["patient_id"] == patient["id"] and pages
    client.post(path, data=form_for(9, 0, item9=1))  # completing it raises no second one
    assert count(app, escalations) == 1
    assert responses(app)[0]["flags"] == ["item9"]
    closed = acknowledge(app, esc["id"], "Dr Rivera", "Called the patient; safety plan reviewed.")
    assert closed["state"] == "acknowledged"


def test_a_phq9_worsening_of_five_points_opens_a_staff_task(web, clock):
    app, client = web
    patient = enrol(app)
    for day in (9, 12, 16, 19):
        book(app, patient["id"], f"2027-03-{day:02d}T11:00")
    first = measure_link(app, clock, patient, "measure_phq9_pre1")
    client.post(first, data=form_for(9, 0, item1=3, item2=1))  # 4
    assert count(app, tasks_table) == 0
    second = measure_link(app, clock, patient, "measure_phq9_pre4")
    client.post(second, data=form_for(9, 1))  # 9: five more
    with app.reader.connect() as conn:
        (task,) = conn.execute(select(tasks_table)).mappings().all()
    assert task["kind"] == "measure-worsening" and task["patient_id"] == patient["id"]
    assert [m["score"] for m in measures_of(app, patient["id"])["phq9"]] == [4, 9]


def test_forged_expired_and_foreign_links_get_a_clear_page(web, clock):
    app, client = web
    patient = enrol(app)
    book(app, patient["id"], "2027-03-09T11:00")
    path = measure_link(app, clock, patient)
    token = path.removeprefix(PATH)
    forged = make_token(
        "another-secret-" + "x" * 30, read_token(SECRET, token)[0], clock.now + timedelta(days=3)
    )
    for bad in (forged, token[:-2] + "zz", "x" * 500):
        for method in (client.get, client.post):
            r = method(PATH + bad, data={"item1": "1"})
            assert r.status_code == 403 and "This link is not valid" in r.text
    clock.advance(timedelta(days=app.config.measures.link_days, minutes=1))
    assert client.get(path).status_code == 410
    r = client.post(path, data={"item1": "1"})
    assert r.status_code == 410 and "expired" in r.text
    assert responses(app) == []
    # A token of ours for a message that is no questionnaire.
    with app.reader.connect() as conn:
        other = conn.execute(select(outbox.c.id).where(outbox.c.step_id == "booking_confirmation")).scalar()
    assert client.get(PATH + make_token(SECRET, other, clock.now + timedelta(days=1))).status_code == 403


def test_an_answer_out_of_range_is_named_not_saved(web, clock):
    app, client = web
    patient = enrol(app)
    book(app, patient["id"], "2027-03-09T11:00")
    path = measure_link(app, clock, patient)
    r = client.post(path, data={"item1": "7", "item2": "one", "item3": "2"})
    assert r.status_code == 200 and 'role="alert"' in r.text and 'class="err"' in r.text
    assert responses(app)[0]["answers"] == {"3": 2}


def test_pcl5_is_shown_in_english_with_a_spanish_note(web, clock):
    app, client = web
    patient = enrol(app, language="es", indications=["ptsd"])
    book(app, patient["id"], "2027-03-09T11:00")
    path = measure_link(app, clock, patient, "measure_pcl5_pre1")
    r = client.get(path)
    assert "solo está disponible en inglés" in r.text
    assert "Repeated, disturbing dreams of the stressful experience?" in r.text
    assert r.text.count("<fieldset") == 20


# --- the migration ---------------------------------------------------------------------------------


def test_migration_0012_adds_measure_responses_and_goes_back(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0011")
        assert "measure_responses" not in inspect(engine).get_table_names()
        upgrade(engine)
        columns = {c["name"] for c in inspect(engine).get_columns("measure_responses")}
        assert {"answers", "started_at", "completed_at", "score", "band", "flags", "link_key"} <= columns
    finally:
        engine.dispose()
