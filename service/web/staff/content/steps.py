"""Schedules: each schedule's steps as a timeline; admins edit a step, preview what would move,
save it as a new version (the pending messages are re-planned) and roll back.

Every POST here is for admins (403 for the others), the preview too: it runs the re-planning in a
transaction that is rolled back. The Templates pages are in templates.py, on the same blueprint (shared.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from ....domain.schedule import (
    CHANNEL_CHOICE_DEFAULT,
    CHANNEL_CHOICES,
    CHANNELS,
    LATE_POLICIES,
    QUIET_POLICIES,
)
from ....schedules import INDICATIONS, MODALITIES
from ....services.content import edits as content
from ....services.errors import Conflict, InvalidInput
from ....services.views import content_pages
from ...access import services
from .. import common
from .shared import CONFLICT, base_version_of, bp, history_of, read_version, rollback_reason

NOTHING = "Nothing changed: edit a field first."
_TEXT = ("offset", "at", "template", "quiet_hours", "if_late", "deadline", "channel_choice")


@bp.get("/schedules")
def index() -> Any:
    timelines = content_pages.schedule_timelines(services())
    return render_template("staff/content/schedules.html", nav="schedules", schedules=timelines)


# --- the step form ----------------------------------------------------------------------------


def form_of(raw: dict[str, Any]) -> dict[str, Any]:
    """A step table (as the TOML writes it) as the form's values."""
    conditions = raw.get("conditions") or {}
    form: dict[str, Any] = {k: str(raw.get(k) or "") for k in _TEXT}
    from_session = conditions.get("from_session")
    form.update(
        channels=list(raw.get("channels") or []),
        modalities=list(conditions.get("modalities") or []),
        sessions=content_pages.sessions_text(conditions.get("sessions") or []),
        first_session_only=conditions.get("first_session_only") is True,
        from_session="" if from_session is None else str(from_session),
        indications=list(conditions.get("indications") or []),
        reason="",
    )
    return form


def read_form(data: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(the values to show again, the step keys as the TOML takes them, field errors)."""
    form: dict[str, Any] = {k: data.get(k, "").strip() for k in (*_TEXT, "sessions", "from_session")}
    form.update(
        channels=data.getlist("channels"),
        modalities=data.getlist("modalities"),
        first_session_only=data.get("first_session_only") == "1",
        indications=data.getlist("indications"),
        reason=data.get("reason", "").strip(),
    )
    errors: dict[str, str] = {}
    conditions: dict[str, Any] = {
        "modalities": form["modalities"],
        "first_session_only": form["first_session_only"],
        "indications": form["indications"],
    }
    try:
        conditions["sessions"] = content_pages.parse_sessions(form["sessions"])
    except ValueError as exc:
        errors["conditions.sessions"] = str(exc)
    if form["from_session"]:
        if form["from_session"].isdigit() and len(form["from_session"]) < 5:
            conditions["from_session"] = int(form["from_session"])
        else:
            errors["conditions.from_session"] = "expected a session number, such as 3"
    step: dict[str, Any] = {k: form[k] or None for k in _TEXT}
    step.update(channels=form["channels"], conditions=_compact(conditions))
    return form, step, errors


def _compact(value: Any) -> Any:
    """A value with empty parts left out and lists sorted, so that equal meanings compare equal."""
    if isinstance(value, dict):
        value = {k: _compact(v) for k, v in value.items() if v not in (None, "", [], {}, False)}
        return value or None
    if isinstance(value, list):
        return sorted(value, key=str) or None
    return None if value == "" else value


def changes_of(raw: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    """The keys of `step` whose meaning differs from the table in effect."""
    return {k: v for k, v in step.items() if _compact(v) != _compact(raw.get(k))}


def _step_page(schedule: str, step_id: str, code: int = 200, **page: Any) -> Any:
    app = services()
    current = content.get_step(app, schedule, step_id)
    step = app.schedule(schedule).step(step_id)
    history = history_of(content.STEP, current["name"])
    for entry in history:
        entry["summary"] = content_pages.step_summary(
            None if entry["body"] is None else json.loads(entry["body"])
        )
    preview = page.get("preview")
    for example in preview["example"] if preview else []:
        example["start_at"] = datetime.fromisoformat(example["session"]["start"])
    values = {
        "schedule": schedule,
        "step": step,
        "current": current,
        "when": content_pages.describe_when(step.anchor, step.offset, step.at),
        "conditions": content_pages.describe_conditions(step.conditions),
        "history": history,
        "form": form_of(current["raw"]),
        "errors": {},
        "preview": None,
        "base_version": None,
        "rollback_error": None,
        "templates": app.templates.names(),
        "channels": CHANNELS,
        "modalities": MODALITIES,
        "modality_names": content_pages.MODALITY_NAMES,
        "indications": INDICATIONS,
        "quiet_policies": QUIET_POLICIES,
        "late_policies": LATE_POLICIES,
        "channel_choices": CHANNEL_CHOICES,
        "default_channel_choice": CHANNEL_CHOICE_DEFAULT[step.category],
        **page,
    }
    return render_template("staff/content/step.html", nav="schedules", **values), code


@bp.get("/schedules/<schedule>/steps/<step_id>")
def step(schedule: str, step_id: str) -> Any:
    return _step_page(schedule, step_id)


@bp.post("/schedules/<schedule>/steps/<step_id>")
@common.admin_required
def edit_step(schedule: str, step_id: str) -> Any:
    app = services()
    current = content.get_step(app, schedule, step_id)  # 404 before reading the form
    form, proposed, errors = read_form(request.form)
    page: dict[str, Any] = {"form": form, "base_version": base_version_of(request.form)}
    try:
        if errors:
            raise InvalidInput(errors)
        changes = changes_of(current["raw"], proposed)
        if not changes:
            raise InvalidInput({"changes": NOTHING})
        if request.form.get("action") == "save":
            saved = content.save_step(
                app,
                schedule,
                step_id,
                changes,
                common.actor(),
                form["reason"] or None,
                base_version=page["base_version"],
            )
            flash(_saved_message(saved))
            return redirect(url_for("staff.content.step", schedule=schedule, step_id=step_id) + "#history")
        page["preview"] = content.preview_step_edit(app, schedule, step_id, changes)
    except InvalidInput as exc:
        return _step_page(schedule, step_id, 400, errors=exc.errors, **page)
    except Conflict:
        return _step_page(schedule, step_id, 409, errors={"conflict": CONFLICT}, **page)
    return _step_page(schedule, step_id, **page)


def _moved(replanned: dict[str, int]) -> str:
    return (
        f"{replanned['moved']} pending message{'' if replanned['moved'] == 1 else 's'} moved, "
        f"{replanned['created']} created, "
        f"{replanned['cancelled']} cancelled"
    )


def _saved_message(saved: dict[str, Any]) -> str:
    if not saved["changed"]:
        return "Nothing changed: that is what is in effect already."
    return f"Saved version {saved['version']}; {_moved(saved['replanned'])}."


@bp.post("/schedules/<schedule>/steps/<step_id>/rollback")
@common.admin_required
def rollback_step(schedule: str, step_id: str) -> Any:
    app = services()
    name = content.get_step(app, schedule, step_id)["name"]
    try:
        version = read_version(request.form)
        result = content.rollback(app, content.STEP, name, version, common.actor(), rollback_reason(version))
    except InvalidInput as exc:
        return _step_page(schedule, step_id, 400, rollback_error=exc.errors.get("version", str(exc)))
    if result["changed"]:
        flash(
            f"Rolled {rollback_reason(version)}: saved as version {result['version']}; {_moved(result['replanned'])}."
        )
    else:
        flash("Nothing changed: that version is what is in effect already.")
    return redirect(url_for("staff.content.step", schedule=schedule, step_id=step_id) + "#history")
