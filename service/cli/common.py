"""What every command shares: who acts, how an error is printed, and the refusals to run
(a database that is not migrated or cannot be reached, a crisis that would page nobody)."""

from __future__ import annotations

import getpass
import sys

import click

from ..runtime import Interlude


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def fail(exc: Exception) -> None:
    fields = getattr(exc, "errors", None)
    if fields:
        for key, problem in fields.items():
            click.echo(f"error: {key}: {problem}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def require_routing(app: Interlude) -> None:
    """Refuse to run when messages go out for real and a crisis would page nobody."""
    from ..checks import routing_problem

    problem = routing_problem(app.config)
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)


def unreachable(app: Interlude, exc: Exception) -> None:
    """One clear line and exit 2 when the database cannot be reached (no traceback)."""
    from ..db.engine import describe
    from ..db.outage import unreachable as cannot_reach

    if cannot_reach(exc):
        click.echo(
            f"error: cannot reach the database ({describe(app.config.database.url)}): "
            f"{type(exc.__cause__ or exc).__name__}; is it running, and is [database] url right?",
            err=True,
        )
        sys.exit(2)


def require_schema(app: Interlude) -> None:
    from ..db.migrate import is_current

    try:
        current = is_current(app.engine)
    except Exception as exc:
        unreachable(app, exc)
        raise
    if not current:
        click.echo("error: the database is not at the current schema; run `interlude init` first", err=True)
        sys.exit(2)
