"""Today: open escalations first, today's and tomorrow's sessions, failed deliveries, tasks.

Also one escalation on its own page: the link in the on-call clinician's SMS and email, opened
on a phone after signing in, with the number to call and the acknowledge form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ...services import escalations, tasks, today
from ...services.errors import Conflict, InvalidInput
from . import common

bp = Blueprint("today", __name__)


@bp.get("/")
@bp.get("/today")
def index() -> Any:
    app = common.services()
    return render_template(
        "staff/today/index.html",
        nav="today",
        escalations=today.open_escalations(app),
        days=today.sessions_ahead(app),
        failed=today.failed_deliveries(app),
        failed_days=today.FAILED_DAYS,
        tasks=today.open_tasks(app),
        inbox_count=today.inbox_count(app),
    )


def _escalation_page(escalation_id: int, errors: dict[str, str] | None = None, outcome: str = "") -> Any:
    esc = today.escalation(common.services(), escalation_id)
    return render_template(
        "staff/today/escalation.html", nav="today", e=esc, errors=errors or {}, outcome=outcome
    )


@bp.get("/escalations/<ident>")
def escalation(ident: str) -> Any:
    return _escalation_page(common.parse_id(ident))


@bp.post("/escalations/<ident>/ack")
def acknowledge(ident: str) -> Any:
    escalation_id = common.parse_id(ident)
    app = common.services()
    outcome = request.form.get("outcome", "").strip()
    detail = url_for("staff.today.escalation", ident=escalation_id)
    try:
        done = escalations.acknowledge(app, escalation_id, by=common.actor(), outcome=outcome or None)
    except InvalidInput as exc:
        return _escalation_page(escalation_id, exc.errors, outcome), 400
    except Conflict:
        esc = today.escalation(app, escalation_id)
        unsaved = " Your outcome note was not saved." if outcome and outcome != esc["outcome"] else ""
        who = (esc["acked_by"] or "someone").removeprefix("staff:")
        flash(f"Escalation {esc['code']} was already acknowledged by {who}.{unsaved}", "error")
        return redirect(detail)
    flash(f"Escalation {done['code']} acknowledged" + (" and the outcome recorded." if outcome else "."))
    if request.form.get("back") == "today":
        return redirect(url_for("staff.today.index"))
    return redirect(detail)


@bp.post("/tasks/<ident>/done")
def task_done(ident: str) -> Any:
    task = tasks.complete_task(common.services(), common.parse_id(ident), by=common.actor())
    flash(f"Task done: {task['kind'].replace('-', ' ')}.")
    return redirect(url_for("staff.today.index"))
