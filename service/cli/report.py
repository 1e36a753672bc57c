"""CLI: `interlude report --since 30d [--until WHEN] [--csv]`: the Reports page's figures."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from flask.cli import with_appcontext

from ..domain import report_figures as rf
from ..domain.errors import DomainError
from ..services.views import reports
from ..web.access import services
from .common import require_schema


@click.command("report")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="A duration back from the end (7d, 90d) or a date (ISO 8601, UTC).",
)
@click.option("--until", default=None, help="The window's end (ISO 8601 date or time, UTC); default now.")
@click.option("--csv", "as_csv", is_flag=True, help="Write the figures as CSV (section,figure,value).")
@with_appcontext
def report_cmd(since: str, until: str | None, as_csv: bool) -> None:
    """Messages, check-ins, escalations, clearance and opt-outs over a window."""
    app = services()
    require_schema(app)
    now = app.clock()
    end = _parsed("--until", lambda: rf.parse_instant(until)) if until else now
    start = _parsed("--since", lambda: rf.parse_since(since, end))
    if end <= start:
        click.echo("error: --since: the window must start before it ends (--until)", err=True)
        sys.exit(2)
    figures = reports.report(app, start, end)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("section", "figure", "value"))
        writer.writerows(reports.csv_rows(figures))
        return
    _print(figures)


def _parsed(option: str, parse: Callable[[], datetime]) -> datetime:
    try:
        return parse()
    except DomainError as exc:
        click.echo(f"error: {option}: {exc}", err=True)
        sys.exit(2)


def _table(title: str, head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    click.echo(f"\n{title}")
    if not rows:
        click.echo("  none")
        return
    widths = [max(len(str(v)) for v in col) for col in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        click.echo("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _value(v: Any, unit: str = "") -> str:
    return "-" if v is None else f"{v}{unit}"


def _print(f: dict[str, Any]) -> None:
    click.echo(
        f"Report from {f['since']:%Y-%m-%d %H:%M} to {f['until']:%Y-%m-%d %H:%M} UTC ({f['days']} days)"
    )
    m = f["messages"]
    head = ("channel", *rf.OUTCOMES, "total")
    rows = [(c["channel"], *c["outcomes"].values(), c["total"]) for c in m["channels"]]
    _table("Messages by channel and outcome", head, rows)
    _table("Failure reasons", ("reason", "count"), [(r["reason"], r["count"]) for r in m["failure_reasons"]])
    _table("Skipped, why", ("reason", "count"), [(r["reason"], r["count"]) for r in m["skip_reasons"]])
    _table(
        "Provider error codes",
        ("channel", "code", "count"),
        [(r["channel"], r["code"], r["count"]) for r in f["error_codes"]],
    )
    s = f["sms"]
    _table(
        "Cost estimate (USD)",
        ("figure", "value"),
        [
            ("SMS sent", s["messages"]),
            ("SMS segments", s["segments"]),
            ("  counted as one (no stored text)", s["counted_as_one"]),
            ("price per segment", s["price"]),
            ("SMS cost", f"{s['cost']:.2f}"),
            ("emails sent", s["emails"]),
            ("email cost", f"{s['email_cost']:.2f}"),
            ("total", f"{s['total_cost']:.2f}"),
        ],
    )
    c = f["checkins"]
    rate = None if c["response_rate"] is None else f"{c['response_rate'] * 100:.1f}%"
    _table(
        "Check-ins",
        ("figure", "value"),
        [
            ("asked", c["asked"]),
            ("answered", c["answered"]),
            ("response rate", _value(rate)),
            ("median time to answer", _value(c["median_minutes"], " min")),
        ],
    )
    e = f["escalations"]
    _table(
        "Escalations",
        ("figure", "value"),
        [
            ("raised", e["count"]),
            ("acknowledged", e["acknowledged"]),
            ("median time to acknowledge", _value(e["median_minutes"], " min")),
            ("90th percentile time to acknowledge", _value(e["p90_minutes"], " min")),
            ("re-paged (backup)", e["repaged"]),
            ("re-pages in all", e["repages"]),
            ("unrouted (nobody to page)", e["unrouted"]),
        ],
    )
    _table(
        "Escalations by category",
        ("category", "count"),
        [(r["category"], r["count"]) for r in e["by_category"]],
    )
    cl = f["clearance"]
    _table(
        "Clearance before sessions", ("state", "sessions"), [*cl["states"].items(), ("total", cl["sessions"])]
    )
    _table(
        "Questionnaires",
        ("instrument", "sent", "started", "completed", "completion", "patients compared", "mean change"),
        [
            (
                q["instrument"],
                q["sent"],
                q["started"],
                q["completed"],
                _value(None if q["completion_rate"] is None else f"{q['completion_rate'] * 100:.1f}%"),
                q["patients_compared"],
                _value(q["mean_change"], " points"),
            )
            for q in f["questionnaires"]
        ],
    )
    o = f["opt_outs"]
    _table(
        "Opt-outs by source and purpose",
        ("source", "purpose", "count"),
        [(r["source"], r["purpose"], r["count"]) for r in o["rows"]],
    )


def register(group: click.Group) -> None:
    group.add_command(report_cmd)
