"""Reports (admins): what Interlude did over the last 7, 30 or 90 days: messages by channel and
outcome, why some failed, SMS segments and their estimated cost, check-in answers, escalations
and how fast they were acknowledged, clearance before sessions, questionnaires, opt-outs.

Charts are drawn here as SVG bars (no script, nothing loaded from elsewhere): each bar carries
its label and value as text, the chart names every figure in its aria-label, and a table with the
same figures follows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, render_template, request

from ...domain import report_figures as rf
from ...domain.instruments import INSTRUMENTS
from ...services.replies.escalations import CRISIS_REASONS, reason_label
from ...services.views import reports
from ..access import services
from . import common, names

bp = Blueprint("reports", __name__)

OUTCOME_NAMES = {
    "delivered": "Delivered",
    "sent": "Sent, delivery not confirmed",
    "failed": "Failed",
    "undelivered": "Undelivered",
    "skipped": "Skipped",
    "cancelled": "Cancelled",
    "pending": "Not sent yet",
    "unknown": "Outcome unknown",
}
CLEARANCE_NAMES = {
    "cleared": "Cleared",
    "not_cleared": "Not cleared",
    "unreachable": "No answer",
    "pending": "Not asked or waiting",
}
PURPOSE_NAMES = {"all": "All messages", "care": "Care messages", "education": "Education"}
# The acknowledgement-time chart's bars: (label, upper bound in minutes, None for no bound).
ACK_BUCKETS = (
    ("Under 5 min", 5.0),
    ("5 to 15 min", 15.0),
    ("15 to 30 min", 30.0),
    ("30 to 60 min", 60.0),
    ("1 hour or more", None),
)

# Chart geometry (SVG user units).
LABEL_WIDTH = 210
BAR_WIDTH = 300
ROW_HEIGHT = 30
BAR_HEIGHT = 20


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: float
    text_x: float


@dataclass(frozen=True)
class Chart:
    title: str
    aria_label: str
    bars: list[Bar]
    height: int
    width: int = LABEL_WIDTH + BAR_WIDTH + 60
    bar_x: int = LABEL_WIDTH


def bar_chart(title: str, items: list[tuple[str, int]], unit: str) -> Chart:
    """Horizontal bars, longest for the largest value; a zero value draws no bar but keeps its
    label and value. The aria-label names every bar and its value."""
    top = max((v for _, v in items), default=0)
    bars = []
    for i, (label, value) in enumerate(items):
        width = BAR_WIDTH * value / top if top else 0.0
        bars.append(Bar(label, value, i * ROW_HEIGHT, round(width, 1), round(LABEL_WIDTH + width + 6, 1)))
    spoken = "; ".join(f"{label}: {value}" for label, value in items)
    aria = f"{title}, {unit}. {spoken}." if items else f"{title}: none."
    return Chart(title, aria, bars, max(1, len(items)) * ROW_HEIGHT)


def ack_buckets(waits: list[float]) -> list[tuple[str, int]]:
    counts = []
    low = 0.0
    for label, high in ACK_BUCKETS:
        counts.append((label, sum(1 for w in waits if w >= low and (high is None or w < high))))
        low = high if high is not None else low
    return counts


def instrument_name(code: str) -> str:
    return INSTRUMENTS[code].name if code in INSTRUMENTS else names.words(code)


def category_label(code: str) -> str:
    return reason_label("crisis", code) if code in CRISIS_REASONS else reason_label(code)


@bp.get("/reports")
@common.admin_required
def index() -> Any:
    raw = request.args.get("days", "30")
    if not raw.isascii() or not raw.isdigit() or int(raw) not in rf.WINDOW_DAYS:
        return common.error_page(
            400, "No such report window", "days: choose 7, 30 or 90 (the links on the Reports page)."
        )
    days = int(raw)
    app = services()
    until = app.clock()
    figures = reports.report(app, until - timedelta(days=days), until)
    outcomes = figures["messages"]["outcomes"]
    messages_chart = bar_chart(
        "Messages by outcome", [(OUTCOME_NAMES[o], n) for o, n in outcomes.items()], "number of messages"
    )
    ack_chart = bar_chart(
        "Time to acknowledge escalations",
        ack_buckets(figures["escalations"]["ack_minutes"]),
        "number of escalations",
    )
    return render_template(
        "staff/reports/index.html",
        nav="reports",
        days=days,
        windows=rf.WINDOW_DAYS,
        f=figures,
        outcome_names=OUTCOME_NAMES,
        clearance_names=CLEARANCE_NAMES,
        purpose_names=PURPOSE_NAMES,
        category_label=category_label,
        instrument_name=instrument_name,
        source_name=names.words,
        messages_chart=messages_chart,
        ack_chart=ack_chart,
    )
