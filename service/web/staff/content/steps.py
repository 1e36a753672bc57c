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
from .shared import CONFLICT, ROLLBACK, base_version_of, bp, history_of, read_version, rollback_reason

NOTHING = "Nothing changed: edit a field first."
_TEXT = ("title", "offset", "at", "template", "quiet_hours", "if_late", "deadline", "channel_choice")
# The step form's controls, by the keys of the use case's errors (a group of boxes: its first);
# an error with no control of its own is the form's.
FORM = "step-form"
_CONTROLS = {
    "channels": f"channel-{CHANNELS[0]}",
    "conditions": "conditions",
    "conditions.modalities": f"modality-{MODALITIES[0]}",
    "conditions.sessions": "sessions",
    "conditions.from_session": "from_session",
    "conditions.first_session_only": "first_session_only",
    "conditions.indications": f"indication-{INDICATIONS[0]}",
    **{k: k for k in (*_TEXT, "reason")},
}
# What the error summary calls each control.
LABELS = {
    "title": "Name",
    "offset": "Offset",
    "at": "Local time",
    _CONTROLS["channels"]: "Channels",
    "template": "Template",
    "quiet_hours": "Quiet hours",
    "if_late": "If late",
    "channel_choice": "Which channels",
    "deadline": "Deadline",
    "conditions": "Conditions",
    _CONTROLS["conditions.modalities"]: "Treatments",
    "sessions": "Session numbers",
    "from_session": "From session",
    "first_session_only": "First session only",
    _CONTROLS["conditions.indications"]: "Indications",
    "reason": "Reason",
    FORM: "This step",
}


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
            errors["conditions.from_session"] = (
                f"expected a session number, such as 3, got {form['from_session']!r}"
            )
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


def page_errors(errors: dict[str, str]) -> dict[str, str]:
    """The use case's errors by the id of the control each belongs to (the summary links there);
    those of no control (nothing changed, a newer version, the schedule) are the form's."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        control = _CONTROLS.get(key) or ("conditions" if key.startswith("conditions.") else FORM)
        out[control] = f"{out[control]}; {message}" if control in out else message
    order = list(LABELS)  # the form's order, top to bottom
    return dict(sorted(out.items(), key=lambda item: order.index(item[0]) if item[0] in order else 0))


def _key(schedule: str, step_id: str) -> str:
    return f"step:{schedule}:{step_id}"


def _url(schedule: str, step_id: str) -> str:
    return url_for("staff.content.step", schedule=schedule, step_id=step_id)


def _step_page(schedule: str, step_id: str, **page: Any) -> Any:
    app = services()
    current = content.get_step(app, schedule, step_id)
    step = app.schedule(schedule).step(step_id)
    history = history_of(content.STEP, current["name"])
    for entry in history:
        entry["summary"] = content_pages.step_summary(
            None if entry["body"] is None else json.loads(entry["body"])
        )
    values = {
        "schedule": schedule,
        "step": step,
        "current": current,
        "when": content_pages.describe_when(step.anchor, step.offset, step.at),
        "conditions": content_pages.describe_conditions(step.conditions),
        "history": history,
        "form": form_of(current["raw"]),
        "errors": {},
        "labels": LABELS,
        "preview": None,
        "base_version": None,
        "rollback_error": None,
        "templates": app.templates.names(),
        "channels": CHANNELS,
        "modalities": MODALITIES,
        "indications": INDICATIONS,
        "quiet_policies": QUIET_POLICIES,
        "late_policies": LATE_POLICIES,
        "channel_choices": CHANNEL_CHOICES,
        "default_channel_choice": CHANNEL_CHOICE_DEFAULT[step.category],
        **page,
    }
    return render_template("staff/content/step.html", nav="schedules", **values)


def _with_start(preview: dict[str, Any] | None) -> dict[str, Any] | None:
    """The preview with its sample session's start as an instant, for the `when` filter."""
    if preview and preview["example"]:
        preview["start_at"] = datetime.fromisoformat(preview["example"][0]["session"]["start"])
    return preview


def _try(schedule: str, step_id: str, action: str) -> tuple[dict[str, Any], Any, dict[str, str]]:
    """Read the step form and preview or save it: (the form, the preview or the saved answer,
    every error found). Errors of the form itself and of the use case are found together."""
    app = services()
    current = content.get_step(app, schedule, step_id)  # 404 before reading the form
    form, proposed, errors = read_form(request.form)
    form["base_version"] = base_version_of(request.form)
    changes = changes_of(current["raw"], proposed)
    try:
        if not changes:
            if action == "save" and not errors:
                raise InvalidInput({"changes": NOTHING})
            return form, content.preview_step(app, schedule, step_id), errors
        if action == "save" and not errors:
            saved = content.save_step(
                app,
                schedule,
                step_id,
                changes,
                common.actor(),
                form["reason"] or None,
                base_version=form["base_version"],
            )
            return form, saved, {}
        return form, content.preview_step_edit(app, schedule, step_id, changes), errors
    except InvalidInput as exc:
        return form, None, {**exc.errors, **errors}
    except Conflict:
        return form, None, {"conflict": CONFLICT}


@bp.get("/schedules/<schedule>/steps/<step_id>")
def step(schedule: str, step_id: str) -> Any:
    """The step; after a form with errors (Post/Redirect/Get), what was typed and every error,
    once."""
    form, errors = common.kept_form(_key(schedule, step_id))
    page: dict[str, Any] = {
        "rollback_error": common.kept_form(ROLLBACK + _key(schedule, step_id))[1].get("version")
    }
    if form and errors and common.user().is_admin:
        page.update(form=form, errors=errors, base_version=form.get("base_version"))
    else:
        page["preview"] = _with_start(content.preview_step(services(), schedule, step_id))
    return _step_page(schedule, step_id, **page)


@bp.post("/schedules/<schedule>/steps/<step_id>")
@common.admin_required
def edit_step(schedule: str, step_id: str) -> Any:
    """Preview (the Preview button, or Enter) or save; a form with errors goes back to the page
    (303), which shows them all."""
    action = "save" if request.form.get("action") == "save" else "preview"
    form, answer, errors = _try(schedule, step_id, action)
    if errors:
        url = _url(schedule, step_id)  # no #fragment: it would keep the summary from taking the focus
        return common.back_with_errors(_key(schedule, step_id), form, page_errors(errors), url)
    if action == "save":
        flash(_saved_message(answer))
        return redirect(_url(schedule, step_id) + "#history")
    return _step_page(
        schedule, step_id, form=form, preview=_with_start(answer), base_version=form["base_version"]
    )


@bp.post("/schedules/<schedule>/steps/<step_id>/preview")
@common.admin_required
def step_live_preview(schedule: str, step_id: str) -> Any:
    """The preview panel as an HTML piece, for content.js to put in place as the form changes."""
    _, preview, errors = _try(schedule, step_id, "preview")
    fragment = render_template(
        "staff/content/_step_live.html",
        preview=None if errors else _with_start(preview),
        errors=page_errors(errors),
        labels=LABELS,
    )
    return fragment, (400 if errors else 200)


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
    back = _url(schedule, step_id) + "#history"
    try:
        version = read_version(request.form)
        result = content.rollback(app, content.STEP, name, version, common.actor(), rollback_reason(version))
    except InvalidInput as exc:
        message = exc.errors.get("version", str(exc))
        return common.back_with_errors(ROLLBACK + _key(schedule, step_id), {}, {"version": message}, back)
    if result["changed"]:
        flash(
            f"Rolled {rollback_reason(version)}: saved as version {result['version']}; {_moved(result['replanned'])}."
        )
    else:
        flash("Nothing changed: that version is what is in effect already.")
    return redirect(back)
