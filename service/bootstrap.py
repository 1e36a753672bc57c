"""The composition root: builds the engine, schedules, templates, transports and clock once.

The app factory, the worker and the CLI all get their dependencies from `build()`; tests pass
their own clock and transports through it. Nothing here runs at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from .config import Config, ConfigError
from .db.engine import make_engine, reader
from .domain.quiet_hours import Window
from .domain.schedule import Schedule
from .schedules import load_schedules
from .templates import MessageTemplates
from .transports.base import Transport, TransportError
from .transports.sandbox import SandboxTransport

Clock = Callable[[], datetime]
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

    @property
    def reader(self) -> Engine:
        """The engine for read-only work (see db.engine.reader)."""
        return reader(self.engine)

    @property
    def window(self) -> Window:
        c = self.config.clinic
        return Window(c.quiet_hours_start, c.quiet_hours_end)

    @property
    def clinic_tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.clinic.timezone)

    def schedule(self, name: str) -> Schedule:
        """The named schedule; raises KeyError when there is none."""
        return self.schedules[name]


def build_transports(config: Config, engine: Engine) -> dict[str, Transport]:
    """One transport per channel, as the config chooses. Raises ConfigError naming the setting
    or secret a real channel lacks."""
    sms: Transport = SandboxTransport(engine, "sms")
    email: Transport = SandboxTransport(engine, "email")
    if config.sms.transport == "twilio":
        from .transports.twilio_sms import TwilioSmsTransport

        t, token = config.twilio, config.secrets.twilio_auth_token
        needed = {
            "twilio.account_sid": t.account_sid,
            "twilio.messaging_service_sid or twilio.from_number": t.messaging_service_sid or t.from_number,
            "INTERLUDE_TWILIO_AUTH_TOKEN": token,
        }
        _require(config, needed, '[sms] transport = "twilio"')
        sms = TwilioSmsTransport(t, token or "", config.web.public_base_url, engine)
    if config.email.transport == "smtp":
        from .services.unsubscribe import UnsubscribeLinks
        from .transports.smtp_email import SmtpEmailTransport

        # The secret key signs unsubscribe links, which must keep working across restarts: a
        # per-process random key would break the link in every email already sent.
        needed = {"smtp.host": config.smtp.host, "INTERLUDE_SECRET_KEY": config.secrets.secret_key}
        _require(config, needed, '[email] transport = "smtp"')
        links = UnsubscribeLinks(config, engine)
        email = SmtpEmailTransport(
            config.smtp, config.clinic, config.secrets.smtp_password, unsubscribe=links
        )
    return {"sms": sms, "email": email}


def _require(config: Config, needed: Mapping[str, str | None], by: str) -> None:
    for name, value in needed.items():
        if not value:
            raise ConfigError(f"{config.source}: {name}: missing (needed by {by})")


def build(
    config: Config,
    *,
    clock: Clock | None = None,
    transports: Mapping[str, Transport] | None = None,
    engine: Engine | None = None,
) -> Interlude:
    """Wire the service for `config`. Raises ConfigError/ScheduleError/DatabaseError on bad input."""
    engine = engine or make_engine(config.database.url, config.database.pool_size)
    schedules = load_schedules(config.schedules.dir)
    templates = MessageTemplates(config.messages.dir, config.messages.default_language)
    app = Interlude(
        config=config,
        engine=engine,
        schedules=schedules,
        templates=templates,
        transports=dict(transports) if transports is not None else build_transports(config, engine),
        clock=clock or system_clock,
    )
    _wire_hooks(app)
    return app


def _wire_hooks(app: Interlude) -> None:
    """The policies that follow a send, attached once here (services import this module)."""
    from .services import delivery_policy
    from .services.checkins import open_when_sent

    app.hooks.on_sent.append(open_when_sent(app))
    delivery_policy.register(app)
