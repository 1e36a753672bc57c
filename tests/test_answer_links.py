"""One-tap answer links in check-in and clearance emails, end to end on SQLite and PostgreSQL:
the email carries one signed link per answer; opening a link (GET) records nothing; the page's
button (POST) records the answer once, through the same path as an answer by text; expired,
forged and wrong-purpose links get a clear page; an email-only patient gets every preparation
and safety message by email."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db.tables import (
    checkins,
    delivery_attempts,
    escalations,
    inbound_messages,
    outbox,
    sandbox_messages,
)
from service.db.tables import sessions as treatment_sessions
from service.db.tables import staff_tasks as tasks_table
from service.scheduler import sweep
from service.services.outbox.dispatch import Dispatcher
from service.services.replies import unsubscribe
from service.services.replies.answer_links import make_token, read_token
from service.web import create_app
from tests.helpers import book, count, enrol, make_config, make_services
from tests.reply_helpers import EXTRA, PUBLIC, Phone

SECRET = "answer-link-secret-" + "s" * 24
LINK = re.compile(re.escape(PUBLIC) + r"(/r/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def web(db_url, clock):
    config = make_config(db_url, extra=EXTRA, env={"INTERLUDE_SECRET_KEY": SECRET})
    app = make_services(db_url, clock, config=config)
    flask_app = create_app(services=app)
    flask_app.testing = True
    yield app, flask_app.test_client()
    app.engine.dispose()


def email_only(app: Any, **extra: Any) -> dict[str, Any]:
    return enrol(app, phone=None, channels=["email"], **extra)


def emails_of(app: Any, step_id: str, patient_id: int) -> list[Any]:
    """The emails sent for one step to one patient, as the sandbox received them."""
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                select(sandbox_messages)
                .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
                .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
                .where(
                    outbox.c.step_id == step_id,
                    outbox.c.patient_id == patient_id,
                    sandbox_messages.c.channel == "email",
                )
                .order_by(sandbox_messages.c.id)
            ).mappings()
        )


def run_until(
    app: Any, clock: Any, step_id: str, patient_id: int, limit: timedelta = timedelta(days=3)
) -> Any:
    """Move the clock a quarter of an hour at a time, sending what is due, until the step's
    email to the patient has gone; returns that email."""
    end = clock.now + limit
    while clock.now < end:
        Dispatcher(app).run_once()
        sent = emails_of(app, step_id, patient_id)
        if sent:
            return sent[0]
        clock.advance(timedelta(minutes=15))
    raise AssertionError(f"no {step_id} email within {limit}")


def links(message: Any) -> list[str]:
    """The answer links of an email, in order, each once (the text part)."""
    found = LINK.findall(message["body"])
    return list(dict.fromkeys(found))


def state(app: Any) -> dict[str, Any]:
    """Everything an answer could change."""
    with app.reader.connect() as conn:
        found: dict[str, Any] = {
            "checkins": [dict(r) for r in conn.execute(select(checkins).order_by(checkins.c.id)).mappings()],
            "sessions": conn.execute(select(treatment_sessions.c.id, treatment_sessions.c.clearance)).all(),
        }
    for table in (escalations, inbound_messages, tasks_table, outbox):
        found[table.name] = count(app, table)
    return found


def checkin_of(app: Any, patient_id: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(select(checkins).where(checkins.c.patient_id == patient_id)).mappings().one()


def answer_links_of(message: Any) -> dict[str, str]:
    """The email's links by the answer each one's signed token names."""
    found = {}
    for path in links(message):
        claim = read_token(SECRET, path.removeprefix("/r/"))
        assert claim is not None
        found[claim.answer] = path
    return found


def same_day_checkin(app: Any, clock: Any, patient: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """Book a session today, run the day until the same-day check-in email goes; the email and
    its links by answer."""
    book(app, patient["id"], "2027-03-02T11:00")
    message = run_until(app, clock, "checkin_same_day", patient["id"])
    return message, answer_links_of(message)


def test_an_email_check_in_carries_one_signed_link_per_answer_and_asks_for_no_email_reply(web, clock):
    app, _ = web
    patient = email_only(app)
    message, by_answer = same_day_checkin(app, clock, patient)
    assert list(by_answer) == ["1", "2", "3"]  # the answers the check-in takes by text
    assert len(links(message)) == 3
    for path in by_answer.values():
        assert f'href="{PUBLIC}{path}"' in message["html"]
    for part in (message["body"], message["html"], message["subject"]):
        assert "reply to this email" not in part.lower() and "to this email" not in part.lower()
    assert "911" in message["body"] and "988" in message["body"]


def test_the_next_day_scale_check_in_links_every_number(web, clock):
    app, _ = web
    patient = email_only(app)
    book(app, patient["id"], "2027-03-02T11:00")
    message = run_until(app, clock, "checkin_next_day", patient["id"])
    assert list(answer_links_of(message)) == [str(n) for n in range(11)]
    assert "I am home" not in message["body"]  # a number on a scale is only its number


def test_opening_a_link_records_nothing(web, clock):
    app, client = web
    patient = email_only(app)
    _, by_answer = same_day_checkin(app, clock, patient)
    before = state(app)
    for path in (by_answer["3"], by_answer["1"], by_answer["3"]):  # a scanner, a preview, the patient
        r = client.get(path)
        assert r.status_code == 200
        assert r.text.count('<form method="post"') == 3  # a button per answer
        assert f'action="{path}"' in r.text
    assert state(app) == before
    assert checkin_of(app, patient["id"])["state"] == "open"


def test_i_want_to_talk_to_someone_escalates_as_the_same_answer_by_text_does(web, clock):
    app, client = web
    by_link = email_only(app)
    by_text = enrol(app, email="other@example.org", external_ref="by-text")
    book(app, by_text["id"], "2027-03-02T11:00")
    _, by_answer = same_day_checkin(app, clock, by_link)
    Dispatcher(app).run_once()
    Phone(client).text("3")
    r = client.post(by_answer["3"])
    assert r.status_code == 200 and "recorded" in r.text
    assert "911" in r.text and "988" in r.text
    with app.engine.connect() as conn:
        esc = {
            row["patient_id"]: (row["kind"], row["checkin_id"] is not None, row["state"])
            for row in conn.execute(select(escalations)).mappings()
        }
        pages = {
            pid: conn.execute(
                select(outbox.c.id).where(outbox.c.origin == "escalation", outbox.c.patient_id == pid)
            ).all()
            for pid in (by_link["id"], by_text["id"])
        }
    assert esc[by_link["id"]] == esc[by_text["id"]] == ("concerning-answer", True, "open")
    assert len(pages[by_link["id"]]) == len(pages[by_text["id"]]) > 0
    link_checkin, text_checkin = checkin_of(app, by_link["id"]), checkin_of(app, by_text["id"])
    assert (link_checkin["state"], link_checkin["answer"], link_checkin["concerning"]) == (
        "escalated",
        "3",
        True,
    )
    assert (text_checkin["state"], text_checkin["answer"]) == (link_checkin["state"], link_checkin["answer"])


def test_i_am_ok_closes_the_check_in_and_silence_no_longer_escalates(web, clock):
    app, client = web
    patient = email_only(app)
    _, by_answer = same_day_checkin(app, clock, patient)
    r = client.post(by_answer["1"])
    assert r.status_code == 200 and "recorded" in r.text
    assert checkin_of(app, patient["id"])["state"] == "answered"
    clock.advance(timedelta(hours=6))
    counts = sweep(app)
    assert counts["escalated"] == 0 and counts["reminded"] == 0
    assert count(app, escalations) == 0


def test_the_email_reminder_of_an_unanswered_check_in_carries_the_links_too(web, clock):
    app, client = web
    patient = email_only(app)
    _, by_answer = same_day_checkin(app, clock, patient)
    clock.advance(timedelta(hours=2, minutes=1))
    assert sweep(app)["reminded"] == 1
    Dispatcher(app).run_once()
    with app.engine.connect() as conn:
        [reminder] = (
            conn.execute(
                select(sandbox_messages)
                .where(sandbox_messages.c.channel == "email")
                .order_by(sandbox_messages.c.id.desc())
            )
            .mappings()
            .all()[:1]
        )
    assert "not heard back" in reminder["body"]
    again = answer_links_of(reminder)
    assert list(again) == ["1", "2", "3"]
    assert client.post(again["1"]).status_code == 200
    assert checkin_of(app, patient["id"])["state"] == "answered"
    assert "already recorded" in client.post(by_answer["1"]).text


def test_a_second_post_has_no_second_effect(web, clock):
    app, client = web
    patient = email_only(app)
    _, by_answer = same_day_checkin(app, clock, patient)
    assert client.post(by_answer["2"]).status_code == 200
    after_first = state(app)
    for path in (by_answer["2"], by_answer["1"], by_answer["3"]):  # a double tap, a change of mind
        r = client.post(path)
        assert r.status_code == 200 and "already recorded" in r.text
    assert state(app) == after_first
    assert count(app, escalations) == 1
    assert checkin_of(app, patient["id"])["answer"] == "2"


def test_a_link_after_an_answer_by_text_changes_nothing(web, clock):
    app, client = web
    patient = enrol(app)  # text and email
    _, by_answer = same_day_checkin(app, clock, patient)
    Phone(client).text("1")
    before = state(app)
    r = client.post(by_answer["3"])
    assert r.status_code == 200 and "already recorded" in r.text
    assert state(app) == before


def test_an_email_clearance_answer_clears_the_session_or_opens_a_call_task(web, clock):
    app, client = web
    ready, not_ready = email_only(app), email_only(app, email="b@example.org", external_ref="b")
    for p in (ready, not_ready):
        book(app, p["id"], "2027-03-04T09:00")
    clock.set(clock.now.replace(day=3, hour=23, minute=1))  # 18:01 EST the evening before
    Dispatcher(app).run_once()
    for p, answer in ((ready, "yes"), (not_ready, "no")):
        [message] = emails_of(app, "prep_evening_before", p["id"])
        by_answer = answer_links_of(message)
        assert list(by_answer) == ["yes", "no"]
        assert client.post(by_answer[answer]).status_code == 200
    with app.engine.connect() as conn:
        clearance = dict(
            conn.execute(select(treatment_sessions.c.patient_id, treatment_sessions.c.clearance)).all()
        )
        kinds = conn.execute(select(tasks_table.c.kind, tasks_table.c.patient_id)).all()
    assert clearance == {ready["id"]: "cleared", not_ready["id"]: "not_cleared"}
    assert kinds == [("not-cleared", not_ready["id"])]


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_gets_a_clear_page_and_changes_nothing(web, clock, method):
    app, client = web
    patient = email_only(app)
    _, by_answer = same_day_checkin(app, clock, patient)
    clock.advance(timedelta(hours=4, minutes=1))  # the check-in's window has closed
    before = state(app)
    r = getattr(client, method)(by_answer["1"])
    assert r.status_code == 410
    assert "no longer works" in r.text and "911" in r.text and "988" in r.text and "555" in r.text
    assert state(app) == before


def _forged(token: str) -> str:
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("kind", ["forged", "wrong-purpose", "unsubscribe", "another-answer", "garbage"])
def test_forged_and_wrong_purpose_links_are_refused_with_a_clear_page(web, clock, method, kind):
    app, client = web
    patient = email_only(app)
    _, by_answer = same_day_checkin(app, clock, patient)
    token = by_answer["1"].removeprefix("/r/")
    claim = read_token(SECRET, token)
    assert claim is not None
    tokens = {
        "forged": _forged(token),
        "wrong-purpose": make_token(SECRET, claim.outbox_id, "1", claim.expires_at, purpose="unsubscribe"),
        "unsubscribe": unsubscribe.make_token(SECRET, patient["id"]),
        "another-answer": make_token(SECRET, claim.outbox_id, "7", claim.expires_at),
        "garbage": "x" * 500,
    }
    before = state(app)
    r = getattr(client, method)(f"/r/{tokens[kind]}")
    assert r.status_code == 400
    assert "not valid" in r.text and "911" in r.text and "988" in r.text
    assert state(app) == before


def test_a_token_signed_with_another_key_is_forged():
    other = make_token("another-key-" + "k" * 30, 1, "1", datetime(2030, 1, 1).astimezone())
    assert read_token(SECRET, other) is None


def test_an_email_only_patient_gets_the_morning_of_reminder_and_the_same_day_check_in(web, clock):
    app, _ = web
    patient = email_only(app, language="es")
    session = book(app, patient["id"], "2027-03-03T13:00")
    morning = run_until(app, clock, "prep_morning_of", patient["id"])
    checkin = run_until(app, clock, "checkin_same_day", patient["id"])
    assert morning["recipient"] == checkin["recipient"] == "maria@example.org"
    assert "911" in checkin["body"] and "988" in checkin["body"]
    assert len(links(checkin)) == 3 and "Estoy en casa" in checkin["body"]
    with app.engine.connect() as conn:
        sms = conn.execute(
            select(outbox.c.step_id).where(outbox.c.session_id == session["id"], outbox.c.channel == "sms")
        ).all()
    assert sms == []


def test_answers_are_rate_limited_per_client(web):
    _, client = web
    forged = "/r/" + make_token("another-key-" + "k" * 30, 1, "1", datetime(2030, 1, 1).astimezone())
    statuses = [client.post(forged).status_code for _ in range(31)]
    assert statuses[:30] == [400] * 30 and statuses[30] == 429
    assert client.get(forged).status_code == 400  # the page itself is never limited away
