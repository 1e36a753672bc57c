"""Today: open escalations first (and crises nobody could be paged for), what was acknowledged in
the last 24 hours, today's and tomorrow's sessions, failed deliveries, tasks.

Also one escalation on its own page: the link in the on-call clinician's SMS and email, opened
on a phone after signing in, with the number to call and the acknowledge form. Acknowledging
here needs an outcome; it closes the escalation, its Inbox message and its task together. A
refused outcome goes back to the page it came from (Post/Redirect/Get) with the error summary.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ...services import tasks
from ...services.errors import Conflict, InvalidInput
from ...services.replies import escalations
from ...services.views import today
from ..access import parse_id, services
from . import common, names

bp = Blueprint("today", __name__)
# The key under which a refused outcome is kept for the next GET (common.kept_form).
ACK_FORM = "ack"
OUTCOME_KEPT = 2001


@bp.get("/")
@bp.get("/today")
def index() -> Any:
    escalation_id, errors, outcome = _refused_outcome()
    return _today_page(escalation_id, errors, outcome)


def _refused_outcome() -> tuple[int | None, dict[str, str], str]:
    """The escalation whose outcome was refused just before, its errors and what was typed."""
    form, errors = common.kept_form(ACK_FORM)
    escalation_id = form.get("escalation_id")
    if not isinstance(escalation_id, int) or not errors:
        return None, {}, ""
    return escalation_id, errors, str(form.get("outcome", ""))


def _days_ahead() -> list[dict[str, Any]]:
    """Today's and tomorrow's sessions, each day headed in the clinic's date format."""
    zone = services().clinic_tz
    days = today.sessions_ahead(services())
    for d in days:
        d["heading"] = names.fmt(datetime.combine(d["day"], time(12), tzinfo=zone), "day")
    return days


def _today_page(
    escalation_id: int | None = None, errors: dict[str, str] | None = None, outcome: str = ""
) -> Any:
    """Today, with the refused outcome of one escalation (and its error) kept on its card."""
    app = services()
    card_errors = {escalation_id: errors} if escalation_id is not None and errors else {}
    return render_template(
        "staff/today/index.html",
        nav="today",
        refresh=not card_errors,  # a reload would drop the refused outcome kept for this one view
        escalations=today.open_escalations(app),
        urgent_tasks=today.urgent_tasks(app),
        flagged=today.flagged_messages(app),
        acknowledged=today.acknowledged_recently(app),
        concerning=today.concerning_results(app),
        measure_days=today.MEASURE_DAYS,
        days=_days_ahead(),
        failed=today.failed_deliveries(app),
        failed_days=today.FAILED_DAYS,
        tasks=[t for t in today.open_tasks(app) if t["kind"] not in tasks.URGENT_KINDS],
        inbox_count=today.inbox_count(app),
        card_errors=card_errors,
        outcomes={escalation_id: outcome} if escalation_id is not None else {},
    )


def _escalation_page(escalation_id: int, errors: dict[str, str] | None = None, outcome: str = "") -> Any:
    esc = today.escalation(services(), escalation_id)
    return render_template(
        "staff/today/escalation.html",
        nav="today",
        refresh=esc["state"] == "open" and not errors,
        e=esc,
        errors=errors or {},
        outcome=outcome,
    )


@bp.get("/escalations/<ident>")
def escalation(ident: str) -> Any:
    escalation_id = parse_id(ident)
    refused_id, errors, outcome = _refused_outcome()
    if refused_id != escalation_id:
        return _escalation_page(escalation_id)
    return _escalation_page(escalation_id, errors, outcome)


@bp.post("/escalations/<ident>/ack")
def acknowledge(ident: str) -> Any:
    escalation_id = parse_id(ident)
    app = services()
    outcome = request.form.get("outcome", "")
    back = request.form.get("back")
    detail = url_for("staff.today.escalation", ident=escalation_id)
    try:
        done = escalations.acknowledge(
            app, escalation_id, by=common.actor(), outcome=outcome, require_outcome=True
        )
    except InvalidInput as exc:
        today.escalation(app, escalation_id)  # 404 for an id that is not there
        page = url_for("staff.today.index") if back == "today" else detail
        # The box allows 2,000 characters; a longer text is kept only to one past the limit, so
        # the signed cookie that carries it back stays small.
        kept = {"escalation_id": escalation_id, "outcome": outcome[:OUTCOME_KEPT]}
        return common.back_with_errors(ACK_FORM, kept, exc.errors, page)
    except Conflict:
        esc = today.escalation(app, escalation_id)
        typed = outcome.strip()
        unsaved = " Your outcome note was not saved." if typed and typed != esc["outcome"] else ""
        flash(
            f"Escalation {esc['code']} was already acknowledged by {esc['acked_by_name']}.{unsaved}", "error"
        )
        return redirect(detail)
    flash(_closed_message(done))
    return redirect(url_for("staff.today.index") if back == "today" else detail)


def _closed_message(done: dict[str, Any]) -> str:
    closed = done["closed"]
    also = [
        *(["the Inbox message"] if closed["inbound_id"] else []),
        *(["the task"] if closed["task_ids"] else []),
    ]
    tail = f"; {' and '.join(also)} closed with it" if also else ""
    return f"Escalation {done['code']} acknowledged and the outcome recorded{tail}."


@bp.post("/tasks/<ident>/done")
def task_done(ident: str) -> Any:
    task = tasks.complete_task(services(), parse_id(ident), by=common.actor())
    flash(f"Task done: {task['kind'].replace('-', ' ')}.")
    return redirect(url_for("staff.today.index"))
