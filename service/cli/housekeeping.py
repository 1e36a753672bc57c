"""CLI for housekeeping: `interlude housekeeping [--dry-run]` runs the worker's job once."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..services.outbox import housekeeping
from ..web.access import services
from .common import require_schema


@click.command("housekeeping")
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@with_appcontext
def housekeeping_cmd(dry_run: bool) -> None:
    """Prune final messages, attempts, sandbox records and inbox texts past [retention]."""
    app = services()
    require_schema(app)
    result = housekeeping.run(app, dry_run=dry_run)
    r = app.config.retention
    click.echo(
        f"retention (days; 0 keeps forever): outbox {r.outbox_days}, attempts {r.attempts_days}, "
        f"sandbox {r.sandbox_days}, inbound {r.inbound_days}"
    )
    verb = "would prune" if dry_run else "pruned"
    for table, count in result.counts.items():
        click.echo(f"{table:<18} {verb} {count}")
    if dry_run:
        click.echo("dry run: nothing was deleted")


def register(group: click.Group) -> None:
    group.add_command(housekeeping_cmd)
