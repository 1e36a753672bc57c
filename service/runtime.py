"""What every use case is handed: the `Interlude` container, its hooks and its clock.

A leaf under the services: it imports configuration, the database, the domain, the content
loaders and the transport protocol, never a service. `bootstrap.build()` fills it in; the use
cases only read it.

Schedules and templates are the shipped files plus the newest edits saved in the database
(`content_versions`); every process picks up a new edit within about a second (refresh_content).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError

from .config import Config
from .db.engine import reader
from .db.tables import content_versions
from .domain.quiet_hours import Window
from .domain.schedule import Schedule
from .schedules import ScheduleError, load_schedules
from .templates import MessageTemplates, TemplateError
from .transports.base import Transport, TransportError

log = logging.getLogger("interlude.content")
Clock = Callable[[], datetime]
# How often a process asks the database whether an edit was saved (one cheap query).
REFRESH_EVERY = timedelta(seconds=1)
SentHook = Callable[[Connection, Mapping[Any, Any], datetime], None]
FailedHook = Callable[[Connection, Mapping[Any, Any], TransportError, datetime], None]


@dataclass
class Hooks:
    """Policies the dispatcher runs inside its recording transaction, wired here once.

    on_sent(conn, outbox_row, now): after a message left (e.g. open the check-in it asks).
    on_failed(conn, outbox_row, error, now): after a final failure (e.g. fall back to email).
    """

    on_sent: list[SentHook] = field(default_factory=list)
    on_failed: list[FailedHook] = field(default_factory=list)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Overlays:
    """The newest saved edit of each step and template file (a NULL body, "as shipped", is left out).

    steps: schedule -> step id -> raw step table; step_versions: the same, -> version number;
    templates: "<template>/<lang>/<file>" -> text; marker: the newest content_versions id seen.
    """

    steps: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    step_versions: dict[str, dict[str, int]] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    marker: int | None = None


def content_marker(conn: Connection) -> int | None:
    """The id of the newest saved edit: it changes whenever anything is saved."""
    return conn.execute(select(func.max(content_versions.c.id))).scalar()


def read_overlays(conn: Connection) -> Overlays:
    """The newest version of every edited step and template, in the caller's transaction."""
    cv = content_versions
    marker = content_marker(conn)
    newest = (
        select(cv.c.kind, cv.c.name, func.max(cv.c.version).label("version"))
        .group_by(cv.c.kind, cv.c.name)
        .subquery()
    )
    query = select(cv.c.kind, cv.c.name, cv.c.version, cv.c.body).join(
        newest,
        (cv.c.kind == newest.c.kind) & (cv.c.name == newest.c.name) & (cv.c.version == newest.c.version),
    )
    overlays = Overlays(marker=marker)
    for kind, name, version, body in conn.execute(query):
        if body is None:
            continue
        if kind == "template":
            overlays.templates[name] = body
        elif kind == "step":
            schedule, _, step_id = name.partition(":")
            overlays.steps.setdefault(schedule, {})[step_id] = json.loads(body)
            overlays.step_versions.setdefault(schedule, {})[step_id] = version
    return overlays


def build_content(config: Config, overlays: Overlays) -> tuple[dict[str, Schedule], MessageTemplates]:
    """Schedules and templates from the files with `overlays` applied. Raises ScheduleError."""
    schedules = load_schedules(config.schedules.dir, overlays.steps, versions=overlays.step_versions)
    templates = MessageTemplates(config.messages.dir, config.messages.default_language, overlays.templates)
    return schedules, templates


@dataclass
class Interlude:
    """Everything the use cases need, wired once per process."""

    config: Config
    engine: Engine
    schedules: Mapping[str, Schedule]
    templates: MessageTemplates
    transports: Mapping[str, Transport]
    clock: Clock = system_clock
    hooks: Hooks = field(default_factory=Hooks)
    # The newest content_versions id applied; None before any edit (or when none could be read).
    content_marker: int | None = None
    content_loaded: bool = False
    _content_checked_at: datetime | None = field(default=None, init=False, repr=False)
    _content_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def reader(self) -> Engine:
        """The engine for read-only work (see db.engine.reader)."""
        return reader(self.engine)

    @property
    def window(self) -> Window:
        c = self.config.clinic
        return Window(c.quiet_hours_start, c.quiet_hours_end, c.safety_until)

    @property
    def clinic_tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.clinic.timezone)

    def schedule(self, name: str) -> Schedule:
        """The named schedule, as of the newest saved edit (looked for at most once a second, so
        that a booking in the web process plans with it); raises KeyError when there is none."""
        self.refresh_content()
        return self.schedules[name]

    def refresh_content(self, force: bool = False) -> bool:
        """Apply edits saved (by any process) since the last look; True when content changed.

        Unless `force`, asks the database at most once per second of the app's clock. New
        `schedules` and `templates` objects replace the old ones (never changed in place, so a
        render in progress keeps a consistent set). A database that cannot be read, or edits that
        no longer apply, keep the current content and are logged.
        """
        now = self.clock()
        last = self._content_checked_at
        recent = last is not None and timedelta(0) <= now - last < REFRESH_EVERY
        if (recent and not force) or not self._content_lock.acquire(blocking=force):
            return False
        try:
            self._content_checked_at = now
            return self._refresh()
        finally:
            self._content_lock.release()

    def _refresh(self) -> bool:
        try:
            with self.reader.connect() as conn:
                if self.content_loaded and content_marker(conn) == self.content_marker:
                    return False
                overlays = read_overlays(conn)
        except DBAPIError as exc:  # not migrated yet (interlude init), or the database is away
            log.info("content edits not read", extra={"error": type(exc).__name__})
            return False
        try:
            schedules, templates = build_content(self.config, overlays)
        except (ScheduleError, TemplateError) as exc:
            log.error(
                "saved content edits do not apply; keeping the current content", extra={"error": str(exc)}
            )
            self.content_marker, self.content_loaded = overlays.marker, True
            return False
        self.templates, self.schedules = templates, schedules  # templates first: a step may need a new one
        self.content_marker, self.content_loaded = overlays.marker, True
        return True
