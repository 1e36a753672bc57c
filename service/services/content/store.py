"""What the content edits share: the version table's rows, one transaction per save (or a dry
run rolled back), who saved and why, and the small checks of names, paths and text.

Private to this wing (edits.py and steps.py); use those modules' public functions.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from ...db.tables import content_versions as cv
from ...runtime import Interlude, Overlays, read_overlays
from ...schedules import ScheduleError, raw_steps
from ...templates import ALL_FILES, MessageTemplates, TemplateError
from .. import audit
from ..errors import Conflict, InvalidInput, NotFound

STEP, TEMPLATE = "step", "template"
KINDS = (STEP, TEMPLATE)
# What the step form may change; None or "" removes an optional key (its default applies).
EDITABLE = (
    "title",
    "offset",
    "at",
    "channels",
    "template",
    "conditions",
    "quiet_hours",
    "if_late",
    "deadline",
    "not_before",
    "same_day",
    "channel_choice",
)
OPTIONAL = frozenset(
    {"offset", "at", "conditions", "quiet_hours", "if_late", "deadline", "not_before", "same_day"}
    | {"channel_choice", "title"}
)
MAX_TEXT = 20_000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# One content save at a time across processes on PostgreSQL (SQLite's BEGIN IMMEDIATE already
# serialises writers): two edits of one schedule must not re-plan from two different versions.
_PG_LOCK = 4_811_302_117
T = TypeVar("T")


@dataclass
class _Tx:
    """One save: its transaction, time, author, and the edits in effect when it began."""

    app: Interlude
    conn: Connection
    now: datetime
    actor: str
    reason: str | None
    overlays: Overlays


# --- storage ----------------------------------------------------------------------------------


def _write(app: Interlude, actor: Any, reason: Any, work: Callable[[_Tx], T]) -> T:
    """Run a save in one transaction, then apply it in this process at once. A save that lost
    a race for its version number (unique constraint) is retried on the newer state, then refused."""
    who, why = _who(actor, reason)
    for attempt in range(3):
        try:
            with app.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
                result = work(_Tx(app, conn, app.clock(), who, why, read_overlays(conn)))
        except IntegrityError as exc:
            if attempt == 2:
                raise Conflict("another edit was saved at the same moment: reload and try again") from exc
            continue
        app.refresh_content(force=True)
        return result
    raise AssertionError("unreachable")


def _dry_run(app: Interlude, work: Callable[[_Tx], T]) -> T:
    """Run a save and roll it back: its answer, nothing written."""
    with app.engine.connect() as conn:
        conn.begin()
        try:
            return work(_Tx(app, conn, app.clock(), "preview", None, read_overlays(conn)))
        finally:
            conn.rollback()


def _newest(conn: Connection, kind: str, name: str) -> tuple[int, str | None]:
    """(newest version number, its body); (0, None) when never edited."""
    query = select(cv.c.version, cv.c.body).where(cv.c.kind == kind, cv.c.name == name)
    row = conn.execute(query.order_by(cv.c.version.desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None else (0, None)


def _insert(tx: _Tx, kind: str, name: str, version: int, body: str | None) -> int:
    values = {"kind": kind, "name": name, "version": version, "body": body}
    values.update(actor=tx.actor, reason=tx.reason, created_at=tx.now)
    row_id: int = tx.conn.execute(insert(cv).values(**values).returning(cv.c.id)).scalar_one()
    return row_id


def _audit(tx: _Tx, action: str, row_id: int, details: dict[str, Any]) -> None:
    audit.record(
        tx.conn,
        at=tx.now,
        actor=tx.actor,
        action=action,
        entity="content",
        entity_id=row_id,
        reason=tx.reason,
        details=details,
    )


# --- small checks -----------------------------------------------------------------------------


def _kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput({"kind": f"expected one of {', '.join(KINDS)}"})


def _step_name(schedule: str, step_id: str) -> str:
    return f"{schedule}:{step_id}"


def _who(actor: Any, reason: Any) -> tuple[str, str | None]:
    errors = {}
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 120:
        errors["actor"] = "expected a name of at most 120 characters"
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        errors["reason"] = "expected text of at most 500 characters"
    if errors:
        raise InvalidInput(errors)
    return actor.strip(), (reason.strip() or None) if reason else None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput({"text": "expected text"})
    if len(value) > MAX_TEXT:
        raise InvalidInput({"text": f"at most {MAX_TEXT} characters"})
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _template_path(app: Interlude, path: Any) -> tuple[str, str, str]:
    parts = path.split("/") if isinstance(path, str) else []
    if len(parts) != 3 or not _NAME.match(parts[0]) or parts[2] not in ALL_FILES:
        files = ", ".join(ALL_FILES)
        raise InvalidInput({"path": f"expected <template>/<lang>/<file>, the file one of {files}"})
    languages = app.config.messages.languages
    if parts[1] not in languages:
        raise InvalidInput({"path": f"unknown language {parts[1]!r} (configured: {', '.join(languages)})"})
    return parts[0], parts[1], parts[2]


def _effective_raw(
    app: Interlude, overlays: Overlays, schedule: str, step_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the step's table in effect, the shipped one), fresh copies. Raises NotFound."""
    try:
        shipped = raw_steps(app.config.schedules.dir, schedule)
    except (KeyError, ScheduleError) as exc:
        raise NotFound("schedule", schedule) from exc
    if step_id not in shipped:
        raise NotFound("step", _step_name(schedule, step_id))
    edited = overlays.steps.get(schedule, {}).get(step_id)
    return copy.deepcopy(edited if edited is not None else shipped[step_id]), shipped[step_id]


def _shipped_text(app: Interlude, path: str) -> str | None:
    try:
        return _templates(app, {}).source(path)
    except TemplateError:
        return None


def _templates(app: Interlude, texts: dict[str, str]) -> MessageTemplates:
    return MessageTemplates(app.config.messages.dir, app.config.messages.default_language, texts)


def _json(raw: dict[str, Any]) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput({"changes": "values must be text, numbers, true/false, lists or tables"}) from exc
