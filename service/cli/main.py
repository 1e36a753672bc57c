"""The `interlude` command: a Flask CLI group (tested with `app.test_cli_runner()`)."""

from __future__ import annotations

import json
import logging
import secrets
import sys
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from .. import logs
from ..config import ConfigError, load_config
from ..db.engine import DatabaseError
from ..schedules import ScheduleError
from ..services import sessions
from ..services.errors import ServiceError
from ..services.patients import create_patient
from ..services.views import queries
from ..web.access import services
from .common import actor, fail, require_routing, require_schema, unreachable

log = logging.getLogger("interlude.cli")


def _make_app() -> Flask:
    from ..web import create_app

    ctx = click.get_current_context(silent=True)
    path = ctx.find_root().params.get("config") if ctx else None
    try:
        return create_app(load_config(path))
    except (ConfigError, ScheduleError, DatabaseError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@click.group(
    cls=FlaskGroup,
    create_app=_make_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    is_eager=True,
    help="Config file (else env INTERLUDE_CONFIG, else instance/config.toml, else defaults).",
)
def cli(config: str | None) -> None:
    """Interlude: between-session messages for ketamine treatment clinics."""


@cli.command("secret")
def secret() -> None:
    """Print a fresh random value for INTERLUDE_SECRET_KEY or INTERLUDE_API_TOKEN."""
    click.echo(secrets.token_urlsafe(32))


def _register_more() -> None:
    from . import deliveries, housekeeping, replies, screen, staff

    replies.register(cli)
    deliveries.register(cli)
    staff.register(cli)
    housekeeping.register(cli)
    screen.register(cli)
    from .hl7 import register as register_hl7

    register_hl7(cli)
    from .imports import register as register_import

    register_import(cli)
    from .report import register as register_report

    register_report(cli)


def main() -> None:
    _register_more()
    cli.main(prog_name="interlude")


def init_app(app: Flask) -> None:
    """Register every command on `app.cli` too, so `app.test_cli_runner()` can drive them."""
    _register_more()
    for name, command in cli.commands.items():
        app.cli.add_command(command, name)


@cli.command()
@click.option("--demo", is_flag=True, help="Also load the demo patient and session.")
def init(demo: bool) -> None:
    """Create or migrate the database and record the clinic (safe to run again)."""
    from ..services.clinic import ensure_clinic

    app = services()
    from ..db.migrate import upgrade

    try:
        upgrade(app.engine)
    except Exception as exc:
        unreachable(app, exc)
        raise
    ensure_clinic(app)
    click.echo("database ready")
    if demo:
        from ..demo import seed

        result = seed(app)
        click.echo("demo loaded" if result["created"] else "demo already loaded")
        from ..demo import write_demo_config

        if written := write_demo_config(app.config):
            click.echo(f"demo config written to {written} (sandbox transports, a demo on-call clinician)")
        from ..demo import seed_admin

        email, password = seed_admin(app)
        base = app.config.web.public_base_url.rstrip("/")
        click.echo(f"demo admin: sign in at {base}/ as {email} with password {password}")


@cli.command()
def check() -> None:
    """Check config, schedules and templates; print file:line for each problem."""
    from ..checks import routing_warning, run_checks

    problems = run_checks(services().config)
    warning = routing_warning(services().config)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    for p in problems:
        click.echo(str(p), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("ok: config, schedules and templates")


@cli.command()
@click.option("--modality", required=True)
@click.option("--start", required=True, help="Local start, e.g. 2027-03-13T09:00")
@click.option("--tz", required=True, help="Patient's IANA time zone")
@click.option("--schedule", default=None)
@click.option("--lang", default="en")
@click.option("--number", default=1, type=int, help="Session number in the course")
@click.option("--indication", multiple=True, help="Patient indication (repeatable)")
@click.option("--detailed", is_flag=True, help="Patient agreed to detailed messages")
@click.option("--sessions", "count", default=1, type=int, help="Sessions in the course previewed (default 1)")
@click.option("--every", default=None, help="Time between sessions, e.g. 3d or 84h (default 7d)")
@click.option("--json", "as_json", is_flag=True)
def preview(
    modality: str,
    start: str,
    tz: str,
    schedule: str | None,
    lang: str,
    number: int,
    indication: tuple[str, ...],
    detailed: bool,
    count: int,
    every: str | None,
    as_json: bool,
) -> None:
    """Show every message of a schedule for a hypothetical session, or a course of them (each
    message's status and why it moved or is skipped: quiet hours, caps, grouping...)."""
    from ..services.content.preview import preview as run_preview

    try:
        rows = run_preview(
            services(),
            modality=modality,
            start=start,
            tz=tz,
            schedule=schedule,
            language=lang,
            number=number,
            indications=indication,
            detailed=detailed,
            sessions=count,
            every=every,
        )
    except ServiceError as exc:
        fail(exc)
        return
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2, ensure_ascii=False))
        return
    for r in rows:
        sms = (
            f" [{r.encoding}, {r.segments} segment{'s' if r.segments != 1 else ''}]"
            if r.channel == "sms"
            else ""
        )
        moved = f" ({r.reason})" if r.reason else ""
        which = f"#{r.session} " if count > 1 and r.session is not None else ""
        click.echo(
            f"== {r.local_time}  {which}{r.step} · {r.channel} · {r.category} · {r.status}{moved}{sms}"
        )
        if r.subject:
            click.echo(f"Subject: {r.subject}")
        click.echo(r.text if r.channel == "sms" else _first_lines(r.text))
        click.echo("")


def _first_lines(text: str, n: int = 4) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:n]) + ("\n..." if len(lines) > n else "")


def _serve(app: Flask, host: str, port: int) -> None:
    from waitress import serve

    click.echo(f"serving on http://{host}:{port}")
    serve(app, host=host, port=port, threads=8, ident="interlude")


@cli.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def serve(host: str | None, port: int | None) -> None:
    """Run the web app and the worker in one process (one clinic, one machine)."""
    from ..scheduler import build_scheduler, run_until_stopped

    logs.setup()
    app = services()
    require_routing(app)
    require_schema(app)
    stopping = threading.Event()
    scheduler = build_scheduler(app, blocking=False, stopping=stopping)
    scheduler.start()
    flask_app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_until_stopped(
        scheduler,
        stopping,
        lambda: _serve(flask_app, host or app.config.web.host, port or app.config.web.port),
    )


@cli.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def web(host: str | None, port: int | None) -> None:
    """Run only the web app (run workers apart; gunicorn is the production server)."""
    logs.setup()
    app = services()
    require_routing(app)
    require_schema(app)
    _serve(current_app._get_current_object(), host or app.config.web.host, port or app.config.web.port)  # type: ignore[attr-defined]


@cli.command()
def worker() -> None:
    """Run only the worker (as many as wanted against one PostgreSQL)."""
    from ..scheduler import build_scheduler, run_until_stopped

    logs.setup()
    app = services()
    require_routing(app)
    require_schema(app)
    click.echo("worker running; Ctrl-C or SIGTERM to stop")
    stopping = threading.Event()
    scheduler = build_scheduler(app, blocking=True, stopping=stopping)
    run_until_stopped(scheduler, stopping, scheduler.start)


@cli.command()
@click.option("--session", "session_id", type=int, default=None)
@click.option("--patient", "patient_id", type=int, default=None)
@click.option("--status", default=None)
@click.option("--limit", default=200, type=click.IntRange(1, 10000))
def outbox(session_id: int | None, patient_id: int | None, status: str | None, limit: int) -> None:
    """List planned and sent messages with due time (UTC), status and channel."""
    rows = queries.list_messages(
        services(), session_id=session_id, patient_id=patient_id, status=status, limit=limit
    )
    click.echo(f"{'id':>6}  {'due (UTC)':<25} {'status':<10} {'channel':<6} {'session':>7}  step (reason)")
    for r in rows:
        reason = f" ({r['reason']})" if r["reason"] else ""
        click.echo(
            f"{r['id']:>6}  {r['due_at']:<25} {r['status']:<10} {r['channel']:<6} "
            f"{r['session_id'] or '-':>7}  {r['step']}{reason}"
        )


@cli.command()
@click.option("--limit", default=20, type=click.IntRange(1, 500))
def sandbox(limit: int) -> None:
    """Show the newest messages the sandbox transports recorded."""
    for m in reversed(queries.sandbox_messages(services(), limit)):
        head = f"#{m['id']} {m['created_at']} {m['channel']} to {m['to']}"
        click.echo(head + (f" — {m['subject']}" if m["subject"] else ""))
        click.echo(m["body"] if m["channel"] == "sms" else _first_lines(m["body"]))
        click.echo("")


@cli.group()
def patient() -> None:
    """Enrol and change patients."""


@patient.command("add")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--phone", default=None)
@click.option("--email", default=None)
@click.option("--tz", "timezone", default=None)
@click.option("--lang", "language", default=None)
@click.option("--channel", "channels", multiple=True, help="sms or email (repeatable)")
@click.option("--indication", "indications", multiple=True)
@click.option("--detailed", is_flag=True)
@click.option("--ref", "external_ref", default=None, help="The EHR's id for this patient")
@click.option(
    "--preferred-channel",
    default=None,
    help="How education messages go: sms, email or both (default: email when there is one, else sms)",
)
def patient_add(**options: Any) -> None:
    """Enrol a patient."""
    data = {k: v for k, v in options.items() if v not in (None, ())}
    for key in ("channels", "indications"):
        if key in data:
            data[key] = list(data[key])
    data["detailed_messages"] = bool(data.pop("detailed", False))
    try:
        result = create_patient(services(), data, actor())
    except ServiceError as exc:
        fail(exc)
        return
    click.echo(json.dumps(result, indent=2))


@cli.group()
def session() -> None:
    """Book and change treatment sessions."""


def _session_call(fn: Any, *args: Any) -> None:
    try:
        result = fn(services(), *args, actor())
    except sessions.Overlap as exc:
        fail(ServiceError(f"{exc}; --force books it anyway"))
        return
    except ServiceError as exc:
        fail(exc)
        return
    click.echo(json.dumps(result, indent=2))


@session.command("book")
@click.option("--patient", "patient_id", required=True, type=int)
@click.option("--start", required=True, help="ISO 8601; without offset it is the patient's local time")
@click.option("--modality", required=True)
@click.option("--duration", "duration_minutes", type=int, default=None)
@click.option("--number", type=int, default=None)
@click.option("--schedule", default=None)
@click.option(
    "--force", is_flag=True, help="Book even when it overlaps another booked session of the patient."
)
def session_book(**options: Any) -> None:
    """Book a session; its messages are planned at once."""
    _session_call(sessions.book_session, {k: v for k, v in options.items() if v is not None})


@session.command("reschedule")
@click.argument("session_id", type=int)
@click.option("--start", required=True)
@click.option("--reason", default=None)
@click.option("--force", is_flag=True, help="Move it even onto another booked session of the patient.")
def session_reschedule(session_id: int, start: str, reason: str | None, force: bool) -> None:
    """Move a session; pending messages move with it."""
    _session_call(sessions.reschedule_session, session_id, {"start": start, "reason": reason, "force": force})


@session.command("cancel")
@click.argument("session_id", type=int)
@click.option("--reason", default=None)
def session_cancel(session_id: int, reason: str | None) -> None:
    """Cancel a session and its pending messages."""
    _session_call(sessions.cancel_session, session_id, {"reason": reason})


@session.command("complete")
@click.argument("session_id", type=int)
@click.option("--reason", default=None)
def session_complete(session_id: int, reason: str | None) -> None:
    """Mark a session completed."""
    _session_call(sessions.complete_session, session_id, {"reason": reason})


@session.command("no-show")
@click.argument("session_id", type=int)
@click.option("--reason", default=None)
def session_no_show(session_id: int, reason: str | None) -> None:
    """Mark a session as a no-show."""
    _session_call(sessions.no_show_session, session_id, {"reason": reason})
