"""Reports: every figure against a database seeded with known counts, on SQLite and PostgreSQL.

Seeded through the real services: patients enrolled and sessions booked by the booking service,
messages sent by the Dispatcher (a scripted SMS provider that records some texts the way the
sandbox does, and the sandbox email transport), provider status reports through
deliveries.apply_status, answers and crisis texts through the signed Twilio webhook, re-pages by
the escalation sweep and acknowledgements by the escalation service. Only the due messages of
the message figures are queued by hand (tests.helpers.due_note, as the worker tests do): a
booked session's own messages fall due over days, and their count would be the planner's.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from service.bootstrap import build
from service.db.tables import delivery_attempts, escalations, outbox
from service.domain import report_figures as rf
from service.services import consent
from service.services.measures import PATH, make_token
from service.services.outbox.deliveries import apply_status
from service.services.outbox.dispatch import Dispatcher
from service.services.replies import checkins as checkin_service
from service.services.replies import escalations as escalation_service
from service.services.staff import add_staff
from service.services.views import reports
from service.transports.base import Outgoing, Pacing, SendResult, TransportError
from service.transports.sandbox import SandboxTransport
from service.web import create_app
from tests.helpers import FakeClock, book, cli_runner, due_note, enrol, make_config, make_services
from tests.reply_helpers import EXTRA, Phone
from tests.staff_helpers import ADMIN, SECRET, STAFF, _hashing_once, signed_in

PRICE = 0.01  # per SMS segment, set in the test config: the estimate must use it
REPORTS = f"[reports]\nsms_segment_price = {PRICE}\n"
NOBODY_ON_CALL = f'[web]\npublic_base_url = "https://clinic.example.com"\n{REPORTS}'
# Messages of the message seed: when the old ones and the new ones were due.
OLD = datetime(2027, 1, 19, 15, 0, tzinfo=UTC)
NEW = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
LONG = "a" * 200  # two GSM-7 segments (153 characters each)
SHORT = "a" * 100  # one


class Provider:
    """Plays Twilio for SMS: each send follows the script. "record" keeps the text it is given
    (as the sandbox transport does) and answers delivered; "plain" keeps no text and answers
    sent; a TransportError is raised."""

    pacing = Pacing()

    def __init__(self, script: list[Any]) -> None:
        self.name = "twilio"
        self.sandbox: SandboxTransport | None = None
        self.script = script

    def send(self, message: Outgoing) -> SendResult:
        step = self.script.pop(0)
        if isinstance(step, TransportError):
            raise step
        if step == "plain":
            return SendResult(provider_id=f"SM{message.attempt_id}", status="sent")
        assert self.sandbox is not None
        self.sandbox.send(replace(message, body=step))
        return SendResult(provider_id=f"SM{message.attempt_id}", status="delivered")

    def was_sent(self, attempt_id: int) -> bool | None:
        return None


def queue(app: Any, patient_id: int, channel: str, n: int, tag: str) -> None:
    now = app.clock()
    with app.engine.begin() as conn:
        for i in range(n):
            conn.execute(
                insert(outbox).values(due_note(f"report:{tag}:{i}", patient_id, channel, now, "note"))
            )


def attempt_of(app: Any, key: str) -> int:
    with app.engine.connect() as conn:
        return int(
            conn.execute(
                select(delivery_attempts.c.id)
                .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
                .where(outbox.c.dedupe_key == key)
            ).scalar_one()
        )


@pytest.fixture
def sent(db_url: str, clock: FakeClock) -> Any:
    """The message seed. Old (outside a 7-day window): 2 SMS to A, recorded and delivered; B
    opts out of SMS by STOP. New: 6 SMS to A (2 recorded and delivered, of 2 and 1 segments;
    one sent then reported delivered; one sent and never confirmed; one sent then reported
    undelivered with 30003; one refused with 30007), 2 emails to A, 1 SMS to B (skipped: opted
    out); then A opts out of education emails by the email link."""
    config = make_config(db_url, extra=REPORTS)
    clock.set(OLD)
    script: list[Any] = [LONG, SHORT]
    sms = Provider(script)
    app = make_services(db_url, clock, config=config, transports={"sms": sms})
    sms.sandbox = SandboxTransport(app.engine, "sms")
    app.transports["email"] = SandboxTransport(app.engine, "email")
    a = enrol(app)
    b = enrol(app, first_name="Ben", phone="+12025550144", email=None, channels=["sms"], external_ref="b")
    queue(app, a["id"], "sms", 2, "old")
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=b["id"],
            channel="sms",
            action="opt_out",
            source="keyword",
            now=OLD,
            raw_text="STOP",
        )
    Dispatcher(app).run_once()
    clock.set(NEW)
    script += [
        LONG,
        SHORT,
        "plain",
        "plain",
        "plain",
        TransportError("refused", kind="permanent", code="30007"),
    ]
    queue(app, a["id"], "sms", 6, "new")
    queue(app, a["id"], "email", 2, "mail")
    queue(app, b["id"], "sms", 1, "b")
    Dispatcher(app).run_once()
    assert not script
    clock.advance(timedelta(minutes=5))
    assert apply_status(app, attempt_of(app, "report:new:2"), "delivered") == "delivered"
    assert apply_status(app, attempt_of(app, "report:new:4"), "undelivered", error_code="30003") == "failed"
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=a["id"],
            channel="email",
            purpose="education",
            action="opt_out",
            source="email-link",
            now=clock(),
        )
    yield app
    app.engine.dispose()


def week(at: datetime = NEW) -> tuple[datetime, datetime]:
    return at - timedelta(days=7), at + timedelta(hours=1)


def test_message_figures_count_each_outcome_reason_segment_and_opt_out(sent):
    f = reports.report(sent, *week())
    m = f["messages"]
    [email, sms] = m["channels"]
    assert sms["channel"] == "sms" and email["channel"] == "email"
    assert sms["outcomes"] == {
        "delivered": 3,
        "sent": 1,
        "failed": 1,
        "undelivered": 1,
        "skipped": 1,
        "cancelled": 0,
        "pending": 0,
        "unknown": 0,
    }
    assert email["outcomes"]["delivered"] == 2 and email["total"] == 2
    assert m["total"] == 9 and m["outcomes"]["delivered"] == 5
    assert m["failure_reasons"] == [
        {"reason": "permanent:30007", "count": 1},
        {"reason": "undelivered:30003", "count": 1},
    ]
    assert m["skip_reasons"] == [{"reason": "opted-out", "count": 1}]
    assert f["error_codes"] == [
        {"channel": "sms", "code": "30003", "count": 1},
        {"channel": "sms", "code": "30007", "count": 1},
    ]
    # Billed: the five the provider took (2 + 1 segments recorded, three kept no text).
    assert f["sms"]["messages"] == 5 and f["sms"]["segments"] == 6 and f["sms"]["counted_as_one"] == 3
    assert f["sms"]["price"] == PRICE and f["sms"]["cost"] == 0.06
    assert f["sms"]["emails"] == 2 and f["sms"]["email_cost"] == 0 and f["sms"]["total_cost"] == 0.06
    assert f["opt_outs"] == {
        "total": 1,
        "rows": [{"source": "email-link", "purpose": "education", "count": 1}],
    }


def test_the_window_leaves_older_rows_out_and_a_longer_one_takes_them_in(sent):
    before = reports.report(sent, OLD - timedelta(days=1), NEW - timedelta(days=7))
    assert before["messages"]["total"] == 2 and before["messages"]["outcomes"]["delivered"] == 2
    assert before["sms"]["segments"] == 3
    assert before["opt_outs"]["rows"] == [{"source": "keyword", "purpose": "all", "count": 1}]
    quarter = reports.report(sent, NEW - timedelta(days=90), NEW + timedelta(hours=1))
    assert quarter["messages"]["channels"][1]["outcomes"]["delivered"] == 5
    assert quarter["sms"]["segments"] == 9 and quarter["opt_outs"]["total"] == 2
    empty = reports.report(sent, NEW + timedelta(days=1), NEW + timedelta(days=2))
    assert empty["messages"]["total"] == 0 and empty["sms"]["cost"] == 0
    assert empty["checkins"]["response_rate"] is None and empty["escalations"]["median_minutes"] is None


def test_the_command_writes_the_same_figures_as_csv_and_refuses_a_bad_window(sent):
    runner = cli_runner(create_app(services=sent))
    out = runner.invoke(args=["report", "--since", "7d", "--until", "2027-03-02T16:00", "--csv"])
    assert out.exit_code == 0, out.output
    table = list(csv.DictReader(io.StringIO(out.output)))
    got = {(r["section"], r["figure"]): r["value"] for r in table}
    assert got[("messages", "sms/delivered")] == "3" and got[("messages", "email/delivered")] == "2"
    assert got[("sms", "segments")] == "6" and got[("sms", "cost")] == "0.06"
    assert got[("failure_reasons", "undelivered:30003")] == "1"
    assert got[("opt_outs", "email-link/education")] == "1"
    assert got[("window", "since")] == "2027-02-23T16:00:00+00:00"
    text = runner.invoke(args=["report", "--since", "7d", "--until", "2027-03-02T16:00"])
    assert text.exit_code == 0 and "Messages by channel and outcome" in text.output
    assert re.search(r"SMS segments\s+6", text.output)
    for args, option in (
        (["--since", "soon"], "--since"),
        (["--since", "0d"], "--since"),
        (["--since", "7d", "--until", "tomorrow"], "--until"),
        (["--since", "2027-03-05", "--until", "2027-03-01"], "--since"),
    ):
        bad = runner.invoke(args=["report", *args])
        assert bad.exit_code == 2 and f"error: {option}" in bad.output, bad.output


# --- check-ins, escalations, clearance --------------------------------------------------------

P2, P3, P4 = "+12025550144", "+12025550145", "+12025550146"
CARE_OLD = datetime(2027, 1, 21, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York


def _acknowledge(app: Any, clock: FakeClock, kind: str, after: timedelta) -> None:
    """Acknowledge the open escalation of `kind` `after` its raising, by the escalation service."""
    with app.engine.connect() as conn:
        esc = (
            conn.execute(select(escalations).where(escalations.c.kind == kind, escalations.c.state == "open"))
            .mappings()
            .one()
        )
    clock.set(esc["created_at"] + after)
    escalation_service.acknowledge(app, esc["id"], "staff:nurse@clinic.example", "called the patient")


def seed_care(app: Any, clock: FakeClock) -> dict[str, Any]:
    """Old (late January): P4's session; its check-in answered after 50 min; a crisis text
    acknowledged after 100 min. In the week of March 2: P1, P2, P3 sessions that day; P1 answers
    the check-in after 10 min, P2 after 30, P3 never (a no-answer escalation, re-paged once,
    acknowledged after 40 min); P1 texts crisis words (acknowledged after 5 min); P2 texts crisis
    words while nobody is on call (unrouted, acknowledged after 12 min). Clearance for sessions
    on March 4: P1 says yes, P2 says no, P3 never answers."""
    client = create_app(services=app).test_client()
    nobody = build(make_config(app.config.database.url, extra=NOBODY_ON_CALL), clock=clock, engine=app.engine)
    unrouted_client = create_app(services=nobody).test_client()
    clock.set(CARE_OLD)
    p4 = enrol(app, phone=P4, external_ref="p4")
    book(app, p4["id"], "2027-01-21T11:00", duration_minutes=60)
    clock.set(CARE_OLD.replace(hour=20, minute=1))
    Dispatcher(app).run_once()
    clock.advance(timedelta(minutes=50))
    Phone(client, P4).text("1")
    Phone(client, P4).text("I want to kill myself")
    _acknowledge(app, clock, "crisis", timedelta(minutes=100))

    clock.set(NEW)
    people = [enrol(app), enrol(app, phone=P2, external_ref="p2"), enrol(app, phone=P3, external_ref="p3")]
    for p in people:
        book(app, p["id"], "2027-03-02T11:00", duration_minutes=60)
    opened = NEW.replace(hour=20, minute=1)
    clock.set(opened)
    Dispatcher(app).run_once()
    clock.set(opened + timedelta(minutes=10))
    Phone(client).text("1")
    clock.set(opened + timedelta(minutes=30))
    Phone(client, P2).text("1")
    clock.set(opened + timedelta(hours=4, minutes=1))
    assert checkin_service.sweep(app)["escalated"] == 1
    clock.advance(timedelta(minutes=16))
    assert escalation_service.sweep(app) == 1  # the backup is paged
    _acknowledge(app, clock, "no-answer", timedelta(minutes=40))
    clock.set(datetime(2027, 3, 3, 15, 0, tzinfo=UTC))  # 10:00 in New York
    Phone(client).text("I want to kill myself")
    _acknowledge(app, clock, "crisis", timedelta(minutes=5))
    Phone(unrouted_client, P2).text("I took too many pills")
    _acknowledge(app, clock, "crisis", timedelta(minutes=12))
    for p in people:
        book(app, p["id"], "2027-03-04T09:00")
    clock.set(datetime(2027, 3, 3, 23, 1, tzinfo=UTC))  # 18:01 the evening before
    Dispatcher(app).run_once()
    Phone(client).text("YES")
    Phone(client, P2).text("no")
    clock.set(datetime(2027, 3, 4, 19, 2, tzinfo=UTC))  # the question's 20 hours are over
    checkin_service.sweep(app)
    return {"client": client}


@pytest.fixture
def care(db_url: str, clock: FakeClock) -> Any:
    app = make_services(db_url, clock, config=make_config(db_url, extra=EXTRA + REPORTS))
    seed_care(app, clock)
    yield app
    app.engine.dispose()


CARE_WEEK = (datetime(2027, 2, 28, tzinfo=UTC), datetime(2027, 3, 7, tzinfo=UTC))


def test_check_in_escalation_and_clearance_figures(care):
    f = reports.report(care, *CARE_WEEK)
    assert f["checkins"] == {"asked": 3, "answered": 2, "response_rate": 0.667, "median_minutes": 20.0}
    e = f["escalations"]
    assert e["count"] == 3 and e["acknowledged"] == 3 and e["unacknowledged"] == 0
    assert sorted((r["category"], r["count"]) for r in e["by_category"]) == [
        ("no-answer", 1),
        ("overdose", 1),
        ("suicide", 1),
    ]
    assert e["ack_minutes"] == [5.0, 12.0, 40.0]
    assert e["median_minutes"] == 12.0 and e["p90_minutes"] == 40.0
    assert e["repaged"] == 1 and e["repages"] == 1 and e["unrouted"] == 1
    assert f["clearance"]["states"]["cleared"] == 1
    assert f["clearance"]["states"]["not_cleared"] == 1
    assert f["clearance"]["states"]["unreachable"] == 1
    # The three sessions of March 2 were booked the same morning: no clearance question for them.
    assert f["clearance"] == {
        "sessions": 6,
        "states": {"cleared": 1, "not_cleared": 1, "unreachable": 1, "pending": 3},
    }


def test_older_check_ins_and_escalations_are_outside_the_window_until_it_reaches_them(care):
    old = reports.report(care, CARE_OLD - timedelta(days=1), CARE_OLD + timedelta(days=1))
    assert old["checkins"]["asked"] == 1 and old["checkins"]["median_minutes"] == 50.0
    assert old["escalations"]["count"] == 1 and old["escalations"]["median_minutes"] == 100.0
    assert old["clearance"]["sessions"] == 1
    quarter = reports.report(care, CARE_WEEK[1] - timedelta(days=90), CARE_WEEK[1])
    assert quarter["checkins"]["asked"] == 4 and quarter["checkins"]["median_minutes"] == 30.0
    assert quarter["escalations"]["count"] == 4 and quarter["escalations"]["p90_minutes"] == 100.0
    assert quarter["clearance"]["sessions"] == 7


def test_an_empty_window_is_refused():
    with pytest.raises(ValueError):
        reports.report(None, NEW, NEW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [
        ([], None, None),
        ([7.0], 7.0, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 2.5, 4.0),
        (list(map(float, range(1, 21))), 10.5, 18.0),
    ],
)
def test_median_and_nearest_rank_percentile(values, p50, p90):
    assert rf.median(values) == p50 and rf.percentile(values, 90) == p90


@pytest.mark.parametrize(
    ("status", "reason", "attempt", "expected"),
    [
        ("sent", None, "delivered", "delivered"),
        ("sent", None, "read", "delivered"),
        ("sent", None, "sent", "sent"),
        ("sent", None, None, "sent"),
        ("failed", "undelivered:30003", "undelivered", "undelivered"),
        ("failed", "permanent:30007", "failed", "failed"),
        ("skipped", "opted-out", None, "skipped"),
        ("cancelled", "session-cancelled", None, "cancelled"),
        ("pending", None, None, "pending"),
        ("unknown", "ambiguous:timeout", "ambiguous", "unknown"),
    ],
)
def test_each_outbox_row_has_one_outcome(status, reason, attempt, expected):
    assert rf.outcome(status, reason, attempt) == expected


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def page_app(db_url: str, clock: FakeClock) -> Any:
    config = make_config(db_url, extra=EXTRA + REPORTS, env={"INTERLUDE_SECRET_KEY": SECRET})
    app = make_services(db_url, clock, config=config)
    with _hashing_once():
        add_staff(app, *ADMIN, admin=True, actor="test")
        add_staff(app, *STAFF, admin=False, actor="test")
    seed_care(app, clock)
    yield create_app(app.config, services=app)
    app.engine.dispose()


def test_the_page_shows_the_figures_with_charts_for_admins_only(page_app):
    admin = signed_in(page_app, ADMIN)
    html = admin.get("/staff/reports?days=7").get_data(as_text=True)
    assert 'aria-current="page">Last 7 days' in html
    charts = re.findall(r'<svg id="([a-z-]+)" role="img" aria-label="([^"]+)"', html)
    assert [c[0] for c in charts] == ["messages-chart", "ack-chart"]
    ack = charts[1][1]
    # Acknowledged after 5, 12 and 40 minutes in the last 7 days (the clock is on March 4).
    assert "Under 5 min: 0; 5 to 15 min: 2; 15 to 30 min: 0; 30 to 60 min: 1; 1 hour or more: 0" in ack
    assert re.search(r'data-label="Value">12.0 minutes<', html) and re.search(
        r'data-label="Value">40.0 minutes<', html
    )
    assert "crisis language: overdose or poisoning" in html
    assert re.search(r'Unrouted \(nobody on call to page\)</td><td data-label="Value">1<', html)
    assert all("data-label=" in td for td in re.findall(r"<td[^>]*>", html))
    assert '<a href="/staff/reports">Reports</a>' in admin.get("/staff/today").get_data(as_text=True)
    assert admin.get("/staff/reports?days=5").status_code == 400
    assert admin.get("/staff/reports?days=x7").status_code == 400
    nurse = signed_in(page_app, STAFF)
    assert nurse.get("/staff/reports").status_code == 403
    assert 'href="/staff/reports"' not in nurse.get("/staff/today").get_data(as_text=True)


# --- questionnaires ------------------------------------------------------------------------------

QUESTIONNAIRE_SECRET = "report-link-secret-" + "s" * 24


def _phq9(total: int) -> dict[str, str]:
    """A complete PHQ-9 form scoring `total` (item 9 always 0)."""
    items = {f"item{n}": "0" for n in range(1, 10)}
    for n in range(1, 9):
        items[f"item{n}"] = str(min(3, max(0, total - 3 * (n - 1))))
    return items


def _link(app: Any, patient_id: int, step_id: str) -> str:
    """The signed link the step's SMS to the patient carried (made by the service's own signer)."""
    with app.reader.connect() as conn:
        row = (
            conn.execute(
                select(outbox).where(
                    outbox.c.patient_id == patient_id, outbox.c.step_id == step_id, outbox.c.channel == "sms"
                )
            )
            .mappings()
            .one()
        )
    assert row["status"] == "sent"
    return PATH + make_token(QUESTIONNAIRE_SECRET, row["id"], app.clock() + timedelta(days=7))


def _send_until(app: Any, clock: FakeClock, when: datetime) -> None:
    clock.set(when)
    Dispatcher(app).run_once()


@pytest.fixture
def questionnaires(db_url: str, clock: FakeClock) -> Any:
    """Three depression patients with sessions from March 9. PHQ-9 before session 1 (sent March 7):
    P1 scores 4, P2 never opens it, P3 answers two items and stops. Before session 4 (sent March
    18): P1 scores 9."""
    config = make_config(db_url, extra=EXTRA + REPORTS, env={"INTERLUDE_SECRET_KEY": QUESTIONNAIRE_SECRET})
    app = make_services(db_url, clock, config=config)
    client = create_app(services=app).test_client()
    p1, p2, p3 = enrol(app), enrol(app, phone=P2, external_ref="p2"), enrol(app, phone=P3, external_ref="p3")
    for day in (9, 12, 16, 19):
        book(app, p1["id"], f"2027-03-{day:02d}T11:00")
    for p in (p2, p3):
        book(app, p["id"], "2027-03-09T11:00")
    _send_until(app, clock, datetime(2027, 3, 7, 15, 1, tzinfo=UTC))
    assert client.post(_link(app, p1["id"], "measure_phq9_pre1"), data=_phq9(4)).status_code == 200
    assert (
        client.post(_link(app, p3["id"], "measure_phq9_pre1"), data={"item1": "2", "item2": "1"}).status_code
        == 200
    )
    _send_until(app, clock, datetime(2027, 3, 18, 14, 1, tzinfo=UTC))
    assert client.post(_link(app, p1["id"], "measure_phq9_pre4"), data=_phq9(9)).status_code == 200
    yield app
    app.engine.dispose()


def test_questionnaire_completion_and_change_from_baseline(questionnaires):
    march = reports.report(
        questionnaires, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC)
    )
    assert march["questionnaires"] == [
        {
            "instrument": "phq9",
            "sent": 4,
            "started": 3,
            "completed": 2,
            "completion_rate": 0.5,
            "patients_compared": 1,
            "mean_change": 5.0,
        }
    ]
    # From March 15: only the second questionnaire was sent, and it is compared with the first.
    later = reports.report(
        questionnaires, datetime(2027, 3, 15, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC)
    )
    [phq9] = later["questionnaires"]
    assert (phq9["sent"], phq9["completed"], phq9["mean_change"]) == (1, 1, 5.0)
    # Before the second one: one score per patient, nothing to compare.
    first = reports.report(
        questionnaires, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC)
    )
    [phq9] = first["questionnaires"]
    assert (phq9["sent"], phq9["completed"], phq9["patients_compared"], phq9["mean_change"]) == (
        3,
        1,
        0,
        None,
    )


def test_questionnaires_on_the_page_and_in_the_csv(questionnaires, clock):
    clock.advance(timedelta(hours=1))  # the admin looks an hour after the last answer
    with _hashing_once():
        add_staff(questionnaires, *ADMIN, admin=True, actor="test")
    flask_app = create_app(questionnaires.config, services=questionnaires)
    html = signed_in(flask_app, ADMIN).get("/staff/reports?days=30").get_data(as_text=True)
    assert re.search(
        r'<td data-label="Questionnaire">PHQ-9</td>\s*<td data-label="Sent">4</td>\s*'
        r'<td data-label="Started">3</td>\s*<td data-label="Completed">2</td>\s*'
        r'<td data-label="Completion">50%</td>\s*'
        r'<td data-label="Mean change from the first score">\+5.0 points \(1 patient\)</td>',
        html,
    )
    out = cli_runner(flask_app).invoke(args=["report", "--since", "30d", "--csv"])
    got = {(r["section"], r["figure"]): r["value"] for r in csv.DictReader(io.StringIO(out.output))}
    assert (
        got[("questionnaires", "phq9/completed")] == "2"
        and got[("questionnaires", "phq9/mean_change")] == "5.0"
    )
