"""Staff edits of schedule steps and template files: checked, versioned, attributed, reversible.

An edit is a row of `content_versions`; the shipped files are never written. kind "step": name
"<schedule>:<step id>", body the step's TOML table as JSON; kind "template": name
"<template>/<lang>/<file>", body the text. The newest version of a name wins; a NULL body means
"as shipped". A rollback appends a version carrying an older body. Every save is checked as
`interlude check` checks the files and refused with the form field at fault. Saving a step
re-plans the pending messages of its schedule in the same transaction; steps anchored on
enrolment are not re-planned for patients already enrolled. Template text needs no re-planning:
messages are rendered when they are sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from ...checks import Problem, template_edit_problems
from ...db.tables import content_versions as cv
from ...domain.tips_line import template_category
from ...runtime import Interlude, Overlays, read_overlays
from ...schedules import ScheduleError, load_schedules
from ...templates import MessageTemplates, Rendered, TemplateError
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import MODALITIES, timezone
from .samples import sample_context, sms_facts
from .steps import _store_step, preview_step, preview_step_edit, save_step
from .store import (
    EDITABLE,
    KINDS,
    MAX_TEXT,
    OPTIONAL,
    STEP,
    TEMPLATE,
    _audit,
    _effective_raw,
    _insert,
    _kind,
    _newest,
    _shipped_text,
    _step_name,
    _template_path,
    _templates,
    _text,
    _Tx,
    _write,
)

__all__ = [
    "EDITABLE",
    "KINDS",
    "MAX_TEXT",
    "OPTIONAL",
    "STEP",
    "TEMPLATE",
    "current",
    "get_step",
    "get_template",
    "history",
    "preview_step",
    "preview_step_edit",
    "preview_template",
    "rollback",
    "save_step",
    "save_template",
]


# --- reading ----------------------------------------------------------------------------------


def history(app: Interlude, kind: str, name: str) -> list[dict[str, Any]]:
    """Every saved version of one step or template file, newest first (empty: never edited).

    Each: version, body (None: as shipped), actor, reason, created_at (ISO 8601).
    """
    _kind(kind)
    query = select(cv).where(cv.c.kind == kind, cv.c.name == name).order_by(cv.c.version.desc())
    keys = ("version", "body", "actor", "reason")
    with app.reader.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{**{k: r[k] for k in keys}, "created_at": r["created_at"].isoformat()} for r in rows]


def current(app: Interlude) -> dict[str, list[dict[str, Any]]]:
    """What is edited now: {"steps": [...], "templates": [...]}, by name; each the newest version
    of a name that is not back to "as shipped": name, version, actor, reason, created_at."""
    newest: dict[tuple[str, str], Any] = {}
    with app.reader.connect() as conn:
        for r in conn.execute(select(cv).order_by(cv.c.version)).mappings():
            newest[(r["kind"], r["name"])] = r
    out: dict[str, list[dict[str, Any]]] = {"steps": [], "templates": []}
    for (kind, _), r in sorted(newest.items(), key=lambda item: item[0]):
        if r["body"] is not None:
            entry = {k: r[k] for k in ("name", "version", "actor", "reason")}
            out["steps" if kind == STEP else "templates"].append(
                {**entry, "created_at": r["created_at"].isoformat()}
            )
    return out


def get_step(app: Interlude, schedule: str, step_id: str) -> dict[str, Any]:
    """One step as in effect now: {"name", "version" (0: never edited), "edited", "raw",
    "shipped"} (raw: the step's table as the TOML writes it). Raises NotFound."""
    with app.reader.connect() as conn:
        overlays = read_overlays(conn)
        version = _newest(conn, STEP, _step_name(schedule, step_id))[0]
    raw, shipped = _effective_raw(app, overlays, schedule, step_id)
    edited = step_id in overlays.steps.get(schedule, {})
    name = _step_name(schedule, step_id)
    return {"name": name, "version": version, "edited": edited, "raw": raw, "shipped": shipped}


def get_template(app: Interlude, path: str) -> dict[str, Any]:
    """One template file as in effect now: {"name", "version", "edited", "text", "shipped"}
    (text None: no such file; shipped None: none ships). Raises InvalidInput for a bad path."""
    _template_path(app, path)
    with app.reader.connect() as conn:
        overlays = read_overlays(conn)
        version = _newest(conn, TEMPLATE, path)[0]
    shipped = _shipped_text(app, path)
    text = overlays.templates.get(path, shipped)
    return {
        "name": path,
        "version": version,
        "edited": path in overlays.templates,
        "text": text,
        "shipped": shipped,
    }


# --- templates --------------------------------------------------------------------------------


def preview_template(
    app: Interlude,
    path: str,
    text: Any,
    *,
    modality: str = "iv",
    tz: str | None = None,
    number: int = 1,
    detailed: bool | None = None,
) -> dict[str, Any]:
    """Render an edited template file for a sample patient and session, without saving.

    The language is the file's own; `detailed` defaults to true for sms.detailed.txt. Returns
    {"name", "channel" ("sms" | "email"), "sms": {"text", "segments", "encoding", "units"} | None,
    "email": {"subject", "text", "html"} | None (None: it cannot be rendered, or the email lacks a
    part), "grouped": {"text", "subject", "segments", "encoding", "units"} | None (the same file
    confirming sessions booked together, when that reads differently), "problems": what
    save_template would refuse ("line N: problem"; empty: it would save)}.
    Raises InvalidInput for a bad path, text, modality or tz.
    """
    template, lang, file = _template_path(app, path)
    body = _text(text)
    zone = _sample_zone(app, modality, tz)
    with app.reader.connect() as conn:
        overlays = read_overlays(conn)
    candidate = _templates(app, {**overlays.templates, path: body})
    problems = _template_problems(app, overlays, candidate, path, app.clock())
    channel = "sms" if file.startswith("sms") else "email"
    is_detailed = file == "sms.detailed.txt" if detailed is None else detailed
    context = sample_context(app, zone, lang, modality, number, is_detailed)
    result: dict[str, Any] = {"name": path, "channel": channel, "sms": None, "email": None, "grouped": None}
    if candidate.has(template, channel, lang, exact=True):
        try:
            category = template_category(app.schedules, template)
            out = candidate.render(template, channel, lang, context, detailed=is_detailed, category=category)
        except TemplateError:
            pass  # among the problems already, with its line
        else:
            sms = sms_facts(out.body)
            email = {"subject": out.subject, "text": out.body, "html": out.html}
            result[channel] = sms if channel == "sms" else email
            grouped = sample_context(app, zone, lang, modality, number, is_detailed, grouped=True)
            result["grouped"] = _grouped(
                candidate, template, channel, lang, grouped, is_detailed, category, out
            )
    return {**result, "problems": problems}


def _grouped(
    templates: MessageTemplates,
    template: str,
    channel: str,
    lang: str,
    context: dict[str, Any],
    detailed: bool,
    category: str | None,
    single: Rendered,
) -> dict[str, Any] | None:
    """The file rendered for a message that confirms several sessions booked together (the
    planner's group of a booking confirmation): {"text", "subject", "segments", "encoding",
    "units"}, or None when it reads the same as for one session."""
    try:
        out = templates.render(template, channel, lang, context, detailed=detailed, category=category)
    except TemplateError:
        return None  # among the problems already: the check renders the same sample
    if (out.body, out.subject) == (single.body, single.subject):
        return None
    return {**sms_facts(out.body), "subject": out.subject}


def save_template(
    app: Interlude,
    path: str,
    text: Any,
    actor: str,
    reason: str | None = None,
    *,
    base_version: int | None = None,
) -> dict[str, Any]:
    """Check and save the text of one template file ("<template>/<lang>/<file>").

    Returns {"kind", "name", "version", "changed"}. Raises InvalidInput: {"text": "line N:
    problem; ..."} when it would not pass `interlude check`, {"path": ...} for a bad path;
    Conflict when `base_version` is not the newest version.
    """
    _template_path(app, path)
    body = _text(text)
    return _write(app, actor, reason, lambda tx: _store_template(tx, path, body, base_version, "text"))


def _store_template(
    tx: _Tx,
    path: str,
    body: str | None,
    base_version: int | None,
    field: str,
    action: str = "template.edited",
) -> dict[str, Any]:
    latest, old_body = _newest(tx.conn, TEMPLATE, path)
    if base_version is not None and base_version != latest:
        raise Conflict(f"{path} is at version {latest}, not {base_version}: reload it and edit again")
    texts = {k: v for k, v in tx.overlays.templates.items() if k != path}
    if body is not None:
        texts[path] = body
    problems = _template_problems(tx.app, tx.overlays, _templates(tx.app, texts), path, tx.now)
    if problems:
        raise InvalidInput({field: "; ".join(problems)})
    result = {"kind": TEMPLATE, "name": path, "version": latest, "changed": False}
    if body == old_body or (old_body is None and body == _shipped_text(tx.app, path)):
        return result
    row_id = _insert(tx, TEMPLATE, path, latest + 1, body)
    _audit(tx, action, row_id, {"name": path, "version": latest + 1})
    return {**result, "version": latest + 1, "changed": True}


def _template_problems(
    app: Interlude, overlays: Overlays, candidate: MessageTemplates, path: str, now: datetime
) -> list[str]:
    """What `candidate` breaks, as "line N: problem" in the edited file, else "file:line: problem"."""
    try:
        schedules = load_schedules(app.config.schedules.dir, overlays.steps)
    except ScheduleError:
        schedules = dict(app.schedules)
    before = _templates(app, overlays.templates)
    found = template_edit_problems(app.config, before, candidate, path, now, schedules)
    return [_in_file(p, path) for p in found]


def _in_file(p: Problem, path: str) -> str:
    if p.file != path:
        return str(p)
    return f"line {p.line}: {p.message}" if p.line else p.message


def _sample_zone(app: Interlude, modality: str, tz: str | None) -> ZoneInfo:
    errors = {}
    if modality not in MODALITIES:
        errors["modality"] = f"expected one of {', '.join(MODALITIES)}"
    try:
        zone = ZoneInfo(timezone(tz or app.config.clinic.timezone))
    except ValueError as exc:
        errors["tz"] = str(exc)
    if errors:
        raise InvalidInput(errors)
    return zone


# --- rollback ---------------------------------------------------------------------------------


def rollback(
    app: Interlude, kind: str, name: str, version: int, actor: str, reason: str | None = None
) -> dict[str, Any]:
    """Make version `version` (0: the shipped file) the newest again, as a new version.

    Checked like a save, and refused with {"version": ...} when that content would not pass
    now (e.g. a step naming a template that has changed since); a step is re-planned like a
    save. Returns what save_step / save_template return. Raises InvalidInput, NotFound.
    """
    _kind(kind)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidInput({"version": "expected a version number (0: as shipped)"})
    if kind == TEMPLATE:
        _template_path(app, name)

    def work(tx: _Tx) -> dict[str, Any]:
        body = _body_of(tx.conn, kind, name, version)
        if kind == TEMPLATE:
            return _store_template(tx, name, body, None, "version", "template.rolled_back")
        schedule, _, step_id = name.partition(":")
        _effective_raw(app, tx.overlays, schedule, step_id)  # NotFound before anything else
        raw = None if body is None else json.loads(body)
        try:
            return _store_step(tx, schedule, step_id, raw, set(), None, "schedule.step_rolled_back")[0]
        except InvalidInput as exc:
            problems = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
            raise InvalidInput({"version": f"version {version} cannot be restored: {problems}"}) from exc

    return _write(app, actor, reason, work)


def _body_of(conn: Connection, kind: str, name: str, version: int) -> str | None:
    if version == 0:
        return None
    query = select(cv.c.body).where(cv.c.kind == kind, cv.c.name == name, cv.c.version == version)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("version", f"{version} of {name}")
    body: str | None = row[0]
    return body
