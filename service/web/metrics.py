"""GET /metrics: Prometheus figures for the clinic's monitoring (README: Metrics).

The database figures (outbox, sends, escalations) are read at scrape time by a collector, so
every web process reports the same truth. The webhook latency histogram is this process's own:
with several web processes each scrape sees the process that answered it (prometheus_client's
multiprocess mode needs a shared directory set before start-up and gives up custom collectors'
simplicity, so it is not used). Each app has its own registry, never the library's global one.

With INTERLUDE_METRICS_TOKEN set, a scrape needs `Authorization: Bearer <token>`; without it,
only a client on this machine that did not come through a proxy is answered.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from ..runtime import Interlude
from ..services.views.metrics import read_figures
from .access import services

log = logging.getLogger("interlude.metrics")
bp = Blueprint("metrics", __name__)
KEY = "interlude.metrics"
# The endpoints whose latency is observed: Twilio's webhooks, the JSON API and FHIR.
WATCHED = frozenset({"twilio_inbound", "twilio_status", "api", "replies_api", "fhir"})
# A request that passed a proxy on this machine comes from loopback too: these headers give it away.
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Forwarded-Host")
WEBHOOK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)


class DatabaseFigures(Collector):
    """The figures the database knows, read at each scrape (services.views.metrics)."""

    def __init__(self, app: Interlude) -> None:
        self.app = app

    def describe(self) -> Iterable[Metric]:
        return []  # registering reads nothing; the database is read only at a scrape

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "interlude_database_up", "1 when the figures below could be read from the database"
        )
        try:
            f = read_figures(self.app)
        except SQLAlchemyError as exc:
            log.warning("metrics: database not readable", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        due = GaugeMetricFamily(
            "interlude_outbox_due", "Messages pending and due now, by category", labels=["category"]
        )
        overdue = GaugeMetricFamily(
            "interlude_outbox_overdue",
            "Messages still pending [metrics] overdue_after (default 60 s) after they were due, by category",
            labels=["category"],
        )
        for category, n in f.due.items():
            due.add_metric([category], n)
        for category, n in f.overdue.items():
            overdue.add_metric([category], n)
        yield due
        yield overdue
        yield GaugeMetricFamily(
            "interlude_outbox_lag_seconds",
            "Dispatch lag: seconds since the oldest pending message was due (0 when none is due)",
            value=f.lag_seconds,
        )
        sends = GaugeMetricFamily(
            "interlude_sends_recent",
            "Messages that reached a final state within [metrics] sends_window (default 1 h), "
            "by channel and outcome (a gauge over the window, not a counter: pruning never makes it jump)",
            labels=["channel", "outcome"],
        )
        for (channel, outcome), n in f.sends.items():
            sends.add_metric([channel, outcome], n)
        yield sends
        yield GaugeMetricFamily(
            "interlude_escalations_open", "Escalations not acknowledged yet", value=f.escalations_open
        )
        yield GaugeMetricFamily(
            "interlude_escalation_oldest_unacknowledged_seconds",
            "Seconds since the oldest unacknowledged escalation was opened (0 when none is open)",
            value=f.oldest_unacknowledged_seconds,
        )


def init_app(app: Flask) -> None:
    if not services(app).config.metrics.enabled:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseFigures(services(app)))
    latency = Histogram(
        "interlude_webhook_seconds",
        "Time to answer Twilio webhooks, the JSON API and FHIR, by endpoint (this process only)",
        ["endpoint"],
        registry=registry,
        buckets=WEBHOOK_BUCKETS,
    )
    app.extensions[KEY] = registry

    def started() -> None:
        g.metrics_started = time.perf_counter()

    def observed(response: Response) -> Response:
        began = g.pop("metrics_started", None)
        if began is not None and request.blueprint in WATCHED and request.endpoint:
            latency.labels(request.endpoint).observe(time.perf_counter() - began)
        return response

    # First, so that the time includes every other hook (the content refresh, the token check).
    app.before_request_funcs.setdefault(None, []).insert(0, started)
    app.after_request(observed)
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Any:
    refused = _refused()
    if refused is not None:
        return refused
    # The text format, or OpenMetrics when the scraper asks for it.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(current_app.extensions[KEY])
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


def _refused() -> Response | None:
    expected = services().config.secrets.metrics_token
    if expected:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
            return None
        return _text(401, "missing or invalid bearer token", {"WWW-Authenticate": 'Bearer realm="metrics"'})
    if _loopback(request.remote_addr) and not any(h in request.headers for h in PROXY_HEADERS):
        return None
    return _text(
        403, "metrics answer only this machine: set INTERLUDE_METRICS_TOKEN to scrape from elsewhere"
    )


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status=status, headers=headers, mimetype="text/plain")
