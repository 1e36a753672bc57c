"""The composition root: builds the engine, schedules, templates, transports and clock once.

The app factory, the worker and the CLI all get their dependencies from `build()`; tests pass
their own clock and transports through it. Nothing here runs at import time. Only entry points
(web, cli, scheduler, demo, bench, tests) import this module; the use cases take the container
from `runtime`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from .config import Config, ConfigError
from .db.engine import make_engine, reader
from .runtime import Clock, Interlude, Overlays, build_content, read_overlays, system_clock
from .schedules import ScheduleError
from .templates import TemplateError
from .transports.base import Transport
from .transports.sandbox import SandboxTransport

log = logging.getLogger("interlude.content")


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
        from .services.replies.unsubscribe import UnsubscribeLinks
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
    """Wire the service for `config`. Raises ConfigError/ScheduleError/DatabaseError on bad input.
    A saved edit that no longer applies to the shipped files is logged and left out."""
    engine = engine or make_engine(config.database.url, config.database.pool_size)
    overlays, loaded = _startup_overlays(engine)
    try:
        schedules, templates = build_content(config, overlays)
    except (ScheduleError, TemplateError) as exc:
        # An edit saved against an older release (its step was since removed, say) must not keep
        # the service from starting: the shipped content runs, and the error says which edit.
        schedules, templates = build_content(config, Overlays(marker=overlays.marker))
        log.error(
            "saved content edits do not apply; starting with the shipped content", extra={"error": str(exc)}
        )
    app = Interlude(
        config=config,
        engine=engine,
        schedules=schedules,
        templates=templates,
        transports=dict(transports) if transports is not None else build_transports(config, engine),
        clock=clock or system_clock,
        content_marker=overlays.marker,
        content_loaded=loaded,
    )
    app._content_checked_at = app.clock()
    _wire_hooks(app)
    return app


def _startup_overlays(engine: Engine) -> tuple[Overlays, bool]:
    """The saved edits, or none (and False) when the table is not there yet: `interlude init`
    must run on an empty database; the first refresh reads them once it can."""
    try:
        with reader(engine).connect() as conn:
            return read_overlays(conn), True
    except DBAPIError as exc:
        log.info("content edits not read", extra={"error": type(exc).__name__})
        return Overlays(), False


def _wire_hooks(app: Interlude) -> None:
    """The policies that follow a send, attached once here (no service imports this module)."""
    from .services.outbox import delivery_policy
    from .services.replies.checkins import open_when_sent

    app.hooks.on_sent.append(open_when_sent(app))
    delivery_policy.register(app)
