"""Staff edits of one schedule step: checked as `interlude check` checks the files, saved as a
new version, and the pending messages of its schedule re-planned in the same transaction (steps
anchored on enrolment are not re-planned for patients already enrolled). See content.py.
"""

from __future__ import annotations

import copy
from typing import Any

from ...checks import step_edit_problems
from ...domain.schedule import Schedule
from ...runtime import Interlude
from ...schedules import ScheduleError, load_schedules
from ..errors import Conflict, InvalidInput
from ..outbox.course import arrange_schedule, course_parts
from ..outbox.planning import ReplanOutcome, replan_schedule, step_example
from .samples import step_messages
from .store import (
    EDITABLE,
    OPTIONAL,
    STEP,
    _audit,
    _dry_run,
    _effective_raw,
    _insert,
    _json,
    _newest,
    _step_name,
    _templates,
    _Tx,
    _write,
)


def preview_step_edit(app: Interlude, schedule: str, step_id: str, changes: Any) -> dict[str, Any]:
    """What `save_step` would answer, without saving (the re-planning is done, counted and
    rolled back), plus "example": when the step's messages would go for a sample session (see
    planning.step_example) and "messages": their text for a sample patient (samples.step_messages).
    Raises InvalidInput (every field at fault at once), NotFound."""

    def work(tx: _Tx) -> dict[str, Any]:
        result, candidate = _edit_step(tx, schedule, step_id, changes, None)
        return {**result, **_sample(tx, candidate, step_id)}

    return _dry_run(app, work)


def preview_step(app: Interlude, schedule: str, step_id: str) -> dict[str, Any]:
    """The step as in effect, for a sample session and patient: {"example", "messages"} as
    `preview_step_edit` gives them. Raises NotFound."""

    def work(tx: _Tx) -> dict[str, Any]:
        _effective_raw(tx.app, tx.overlays, schedule, step_id)  # NotFound for an unknown step
        return _sample(tx, tx.app.schedule(schedule), step_id)

    return _dry_run(app, work)


def _sample(tx: _Tx, candidate: Schedule, step_id: str) -> dict[str, Any]:
    app = tx.app
    language = app.config.messages.default_language
    example = step_example(candidate, step_id, app.window, app.clinic_tz, tx.now, language)
    templates = _templates(app, tx.overlays.templates)
    return {"example": example, "messages": step_messages(app, templates, candidate.step(step_id), example)}


def save_step(
    app: Interlude,
    schedule: str,
    step_id: str,
    changes: Any,
    actor: str,
    reason: str | None = None,
    *,
    base_version: int | None = None,
) -> dict[str, Any]:
    """Check and save an edit of one step, then re-plan the pending messages of its schedule.

    `changes` maps keys of EDITABLE to values as the TOML writes them ("conditions" replaces the
    whole table: modalities, sessions, first_session_only, from_session, indications). Returns
    {"kind", "name", "version", "changed", "raw", "replanned": {"sessions", "moved", "created",
    "cancelled", "skipped", "in_flight"}}. Raises InvalidInput naming the form field ("at",
    "conditions.sessions", ...), NotFound, Conflict (`base_version` is not the newest version).
    """
    return _write(app, actor, reason, lambda tx: _edit_step(tx, schedule, step_id, changes, base_version)[0])


def _edit_step(
    tx: _Tx, schedule: str, step_id: str, changes: Any, base_version: int | None
) -> tuple[dict[str, Any], Schedule]:
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput({"changes": "expected the fields to change"})
    raw, _ = _effective_raw(tx.app, tx.overlays, schedule, step_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        errors = {k: f"cannot be edited here (editable: {', '.join(EDITABLE)})" for k in unknown}
        known = {k: v for k, v in changes.items() if k not in unknown}
        raise InvalidInput({**errors, **_every_problem(tx, schedule, step_id, raw, known)})
    try:
        return _store_step(
            tx,
            schedule,
            step_id,
            _apply_changes(raw, changes),
            set(changes),
            base_version,
            "schedule.step_edited",
        )
    except InvalidInput as exc:
        found = _every_problem(tx, schedule, step_id, raw, changes)
        raise InvalidInput({**exc.errors, **found}) from exc


def _every_problem(
    tx: _Tx, schedule: str, step_id: str, raw: dict[str, Any], changes: dict[str, Any]
) -> dict[str, str]:
    """The problem of each changed field, all at once: the schedule parser and the checks stop
    at the first problem, so each field is checked on its own, applied alone to the step in
    effect (which passes). The rules stay in one place, the parser; a problem that only two
    fields together make (e.g. sessions 2 and "first session only") is the combined check's."""
    errors: dict[str, str] = {}
    for single in _each_field(raw, changes):
        try:
            _check_step(tx, schedule, step_id, _apply_changes(raw, single), set(single), 0)
        except InvalidInput as exc:
            for key, problem in exc.errors.items():
                errors.setdefault(key, problem)
    return errors


def _each_field(raw: dict[str, Any], changes: dict[str, Any]) -> list[dict[str, Any]]:
    """`changes` one field at a time; a conditions table one condition at a time, the others
    as in effect."""
    out = []
    for key, value in changes.items():
        if key != "conditions" or not isinstance(value, dict):
            out.append({key: value})
            continue
        found = raw.get("conditions")
        now: dict[str, Any] = found if isinstance(found, dict) else {}
        for name in sorted(set(value) | set(now)):
            alone = {k: v for k, v in now.items() if k != name}
            if name in value:
                alone[name] = value[name]
            out.append({"conditions": alone})
    return out


def _apply_changes(raw: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The step table with `changes` applied; empty optional values remove their key."""
    edited = copy.deepcopy(raw)
    for key, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if key == "conditions" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if v not in (None, "", [], False)}
        if key in OPTIONAL and value in (None, "", {}):
            edited.pop(key, None)
        else:
            edited[key] = copy.deepcopy(value)
    return edited


def _store_step(
    tx: _Tx,
    schedule: str,
    step_id: str,
    raw: dict[str, Any] | None,
    keys: set[str],
    base_version: int | None,
    action: str,
) -> tuple[dict[str, Any], Schedule]:
    """Check `raw` (None: as shipped) as the step's new table; save it and re-plan."""
    name = _step_name(schedule, step_id)
    latest, body = _newest(tx.conn, STEP, name)
    if base_version is not None and base_version != latest:
        raise Conflict(f"{name} is at version {latest}, not {base_version}: reload it and edit again")
    new_body = None if raw is None else _json(raw)
    candidate = _check_step(tx, schedule, step_id, raw, keys, latest + 1)
    effective, shipped = _effective_raw(tx.app, tx.overlays, schedule, step_id)
    result = {"kind": STEP, "name": name, "version": latest, "changed": False, "raw": raw or shipped}
    if (raw is None and body is None) or (raw is not None and raw == effective):
        return {**result, "replanned": ReplanOutcome().as_dict()}, candidate
    row_id = _insert(tx, STEP, name, latest + 1, new_body)
    replanned = replan_schedule(tx.conn, candidate, tx.app.window, tx.now).as_dict()
    arrange_schedule(tx.conn, course_parts(tx.app, candidate), candidate.name, tx.now)
    _audit(tx, action, row_id, {"name": name, "version": latest + 1, "replanned": replanned})
    return {**result, "version": latest + 1, "changed": True, "replanned": replanned}, candidate


def _check_step(
    tx: _Tx, schedule: str, step_id: str, raw: dict[str, Any] | None, keys: set[str], version: int
) -> Schedule:
    """The schedule with this step as `raw`, checked as `interlude check` checks it (nothing is
    written). Raises InvalidInput naming the step's keys at fault."""
    candidate = _candidate_schedule(tx, schedule, step_id, raw, version)
    _refuse_step_problems(tx, candidate, step_id, keys)
    return candidate


def _candidate_schedule(
    tx: _Tx, schedule: str, step_id: str, raw: dict[str, Any] | None, version: int
) -> Schedule:
    """The schedule with this step as `raw`. Raises InvalidInput naming the step's key at fault."""
    steps = {s: dict(by_id) for s, by_id in tx.overlays.steps.items()}
    versions = {s: dict(by_id) for s, by_id in tx.overlays.step_versions.items()}
    steps.setdefault(schedule, {}).pop(step_id, None)
    versions.setdefault(schedule, {}).pop(step_id, None)
    if raw is not None:
        steps[schedule][step_id] = raw
        versions[schedule][step_id] = version
    try:
        return load_schedules(tx.app.config.schedules.dir, steps, versions=versions)[schedule]
    except ScheduleError as exc:
        if exc.step == step_id and exc.key and exc.problem:
            raise InvalidInput({exc.key: exc.problem}) from exc
        raise InvalidInput({"schedule": str(exc)}) from exc


def _refuse_step_problems(tx: _Tx, candidate: Schedule, step_id: str, keys: set[str]) -> None:
    """Refuse a template missing for a channel or language, a safety step without 911 and 988."""
    config = tx.app.config
    try:
        before: Schedule | None = load_schedules(config.schedules.dir, tx.overlays.steps)[candidate.name]
    except ScheduleError:
        before = None
    templates = _templates(tx.app, tx.overlays.templates)
    template = candidate.step(step_id).template
    if template not in templates.names():
        raise InvalidInput({"template": f"no template named {template!r}"})
    errors: dict[str, list[str]] = {}
    for p in step_edit_problems(config, templates, before, candidate, step_id):
        field = p.key or "template"
        if field == "template" and "template" not in keys and "channels" in keys:
            field = "channels"  # the edit asked for a channel the template does not have
        errors.setdefault(field, []).append(f"{p.message} ({p.where})" if p.file else p.message)
    if errors:
        raise InvalidInput({k: "; ".join(v) for k, v in errors.items()})
