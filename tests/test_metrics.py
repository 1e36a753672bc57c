"""GET /metrics: Prometheus figures read from the database at scrape time, on SQLite and PostgreSQL.

The outbox's due and overdue messages and dispatch lag, the recent sends by channel and outcome,
the open escalations and the oldest one's age, and the webhook latency histogram; a token or
this machine only; counts and ages only, never a patient's name, number or address.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select

from service.config import ConfigError, parse_config
from service.db.tables import escalations
from service.domain.schedule import CATEGORIES
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.escalations import acknowledge
from service.web import create_app
from tests.helpers import ROOT, book, enrol, make_config, make_services, rows
from tests.reply_helpers import EXTRA, Phone

METRICS_TOKEN = "metrics-token-0123456789abcdefghijklmn"
ALERTS = ROOT / "examples" / "prometheus" / "alerts.yml"


@pytest.fixture
def app(db_url, clock):
    services = make_services(db_url, clock, config=make_config(db_url, extra=EXTRA))
    yield services
    services.engine.dispose()


@pytest.fixture
def client(app):
    return create_app(services=app).test_client()


def scrape(client: Any, **kwargs: Any) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    """The samples of one scrape, by (name, sorted labels), and the text as served."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, text


def by_label(samples: dict, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: v for (n, labels), v in samples.items() if n == name}


def one(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_outbox_figures_follow_the_clock_and_the_dispatcher(app, client, clock) -> None:
    patient = enrol(app)
    book(app, patient["id"], "2027-03-05T10:00")
    start = clock()
    pending = [r for r in rows(app, status="pending") if r["next_attempt_at"] <= start]
    due = Counter(r["category"] for r in pending)
    assert due["admin"] > 0  # the booking confirmation, due at once
    oldest = min(r["next_attempt_at"] for r in pending)

    clock.advance(timedelta(seconds=30))
    samples, _ = scrape(client)
    assert one(samples, "interlude_database_up") == 1
    assert by_label(samples, "interlude_outbox_due", "category") == {c: due[c] for c in CATEGORIES}
    assert set(by_label(samples, "interlude_outbox_overdue", "category").values()) == {0}
    assert one(samples, "interlude_outbox_lag_seconds") == (clock() - oldest).total_seconds()

    clock.advance(timedelta(minutes=5))
    samples, _ = scrape(client)
    assert by_label(samples, "interlude_outbox_overdue", "category") == {c: due[c] for c in CATEGORIES}
    assert one(samples, "interlude_outbox_lag_seconds") == (clock() - oldest).total_seconds() > 300
    assert set(by_label(samples, "interlude_sends_recent", "outcome").values()) == {0}

    Dispatcher(app).run_once()
    sent = Counter(r["channel"] for r in rows(app, status="sent"))
    assert sent["sms"] > 0 and sent["email"] > 0
    samples, _ = scrape(client)
    assert set(by_label(samples, "interlude_outbox_due", "category").values()) == {0}
    assert one(samples, "interlude_outbox_lag_seconds") == 0
    for channel in ("sms", "email"):
        assert one(samples, "interlude_sends_recent", channel=channel, outcome="sent") == sent[channel]
        assert one(samples, "interlude_sends_recent", channel=channel, outcome="failed") == 0

    clock.advance(timedelta(hours=1, minutes=1))  # past [metrics] sends_window
    samples, _ = scrape(client)
    assert set(by_label(samples, "interlude_sends_recent", "outcome").values()) == {0}


def test_escalation_age_and_webhook_latency_without_phi(app, client, clock) -> None:
    patient = enrol(app)
    samples, _ = scrape(client)
    assert one(samples, "interlude_escalations_open") == 0
    assert one(samples, "interlude_escalation_oldest_unacknowledged_seconds") == 0
    assert ("interlude_webhook_seconds_count", (("endpoint", "twilio_inbound.inbound"),)) not in samples

    assert Phone(client).text("I can't do this anymore, I want to kill myself").status_code == 200
    clock.advance(timedelta(minutes=16))
    samples, text = scrape(client)
    assert one(samples, "interlude_escalations_open") == 1
    assert one(samples, "interlude_escalation_oldest_unacknowledged_seconds") == 16 * 60
    # The signed webhook was timed once; the scrapes themselves are not.
    assert one(samples, "interlude_webhook_seconds_count", endpoint="twilio_inbound.inbound") == 1
    assert one(samples, "interlude_webhook_seconds_bucket", endpoint="twilio_inbound.inbound", le="+Inf") == 1
    assert not any(dict(labels).get("endpoint") == "metrics.metrics" for _, labels in samples)
    # The page to the on-call clinician is a due safety message.
    assert one(samples, "interlude_outbox_overdue", category="safety") > 0

    with app.engine.connect() as conn:
        code = conn.execute(select(escalations.c.code)).scalar_one()
    for phi in (patient["first_name"], patient["last_name"], "555", "0143", patient["email"], code):
        assert phi not in text

    acknowledge(app, code, "nurse@clinic.example", "Called the patient; safe with family.")
    samples, _ = scrape(client)
    assert one(samples, "interlude_escalations_open") == 0
    assert one(samples, "interlude_escalation_oldest_unacknowledged_seconds") == 0


def test_api_requests_are_timed_by_endpoint(sqlite_services) -> None:
    client = create_app(services=sqlite_services).test_client()
    client.get("/api/v1/patients/1", headers={"Authorization": "Bearer wrong"})
    samples, _ = scrape(client)
    counts = {dict(labels)["endpoint"]: v for (n, labels), v in samples.items() if n.endswith("_count")}
    assert list(counts.values()) == [1]
    assert next(iter(counts)).startswith("api.")


# --- who may read them ---------------------------------------------------------------------------


def _services_with(sqlite_url: str, clock: Any, env: dict[str, str] | None = None, extra: str = "") -> Any:
    return make_services(sqlite_url, clock, config=make_config(sqlite_url, env=env, extra=extra))


def test_with_a_token_a_scrape_needs_it_from_anywhere(sqlite_url, clock) -> None:
    services = _services_with(sqlite_url, clock, env={"INTERLUDE_METRICS_TOKEN": METRICS_TOKEN})
    try:
        client = create_app(services=services).test_client()
        missing = client.get("/metrics")
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 38}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 401
        good = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        scrape(client, headers=good, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    finally:
        services.engine.dispose()


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_without_a_token_this_machine_may_scrape(sqlite_services, address) -> None:
    client = create_app(services=sqlite_services).test_client()
    scrape(client, environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize(
    ("address", "headers"),
    [
        ("203.0.113.9", {}),
        ("10.0.0.5", {}),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),  # a proxy on this machine
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}),
        ("", {}),
    ],
)
def test_without_a_token_others_are_refused(sqlite_services, address, headers) -> None:
    client = create_app(services=sqlite_services).test_client()
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 403
    assert "INTERLUDE_METRICS_TOKEN" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("token", "problem"), [("changeme", "example value"), ("short-but-random-9f3a", "at least 32")]
)
def test_a_weak_token_is_refused_at_start(token, problem) -> None:
    with pytest.raises(ConfigError, match=rf"INTERLUDE_METRICS_TOKEN: .*{problem}"):
        parse_config("", "test", {"INTERLUDE_METRICS_TOKEN": token})


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[metrics]\noverdue_after = "0s"', "metrics.overdue_after"),
        ('[metrics]\nsends_window = "30d"', "metrics.sends_window"),
        ("[metrics]\nenabled = 1", "metrics.enabled"),
    ],
)
def test_bad_metrics_settings_are_refused_by_name(extra, key) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        parse_config(extra, "test", {})


def test_disabled_metrics_are_not_served(sqlite_url, clock) -> None:
    services = _services_with(sqlite_url, clock, extra="[metrics]\nenabled = false")
    try:
        assert create_app(services=services).test_client().get("/metrics").status_code == 404
    finally:
        services.engine.dispose()


def test_a_database_away_is_reported_not_a_500(sqlite_services, tmp_path: Path) -> None:
    client = create_app(services=sqlite_services).test_client()
    sqlite_services.engine.dispose()
    sqlite_services.engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'interlude.db'}")
    try:
        samples, _ = scrape(client)
    finally:
        sqlite_services.engine.dispose()
    assert one(samples, "interlude_database_up") == 0
    assert not any(name.startswith("interlude_outbox") for name, _ in samples)


# --- the example alert rules ------------------------------------------------------------------------


def test_example_alert_rules_name_served_metrics(sqlite_services) -> None:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert set(alerts) >= {"InterludeEscalationUnacknowledged", "InterludeOutboxLag"}
    for rule in alerts.values():
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s"))
    served, _ = scrape(create_app(services=sqlite_services).test_client())
    names = {name for name, _ in served}
    for rule in alerts.values():
        used = set(re.findall(r"\binterlude_[a-z_]+", rule["expr"]))
        assert used and used <= names, rule["expr"]
    assert alerts["InterludeEscalationUnacknowledged"]["expr"].endswith(">= 15 * 60")
    assert alerts["InterludeOutboxLag"]["expr"].endswith("> 60")
