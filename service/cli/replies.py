"""CLI for replies: the inbox, escalations, staff tasks."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ..services import tasks
from ..services.errors import ServiceError
from ..services.replies import escalations
from ..services.replies import inbound as replies
from ..web.access import services


@click.command("inbox")
@with_appcontext
def inbox_cmd() -> None:
    """Replies that need a person, oldest first."""
    for m in replies.inbox(services()):
        click.echo(
            f"#{m['id']} {m['received_at']} patient {m['patient_id'] or '?'} [{m['kind']}]: {m['body']}"
        )


@click.group("escalations", invoke_without_command=True)
@click.option("--state", default="open", type=click.Choice(["open", "acknowledged", "all"]))
@click.pass_context
@with_appcontext
def escalations_cmd(ctx: click.Context, state: str) -> None:
    """List escalations (open by default); `escalations ack ID` acknowledges one."""
    if ctx.invoked_subcommand is None:
        for e in escalations.list_escalations(services(), None if state == "all" else state):
            click.echo(
                f"#{e['id']} code {e['code']} {e['created_at']} patient {e['patient_id']} "
                f"{e['reason']} [{e['state']}, level {e['level']}]"
            )


@escalations_cmd.command("ack")
@click.argument("escalation_id", type=int)
@click.option("--by", required=True, help="Who acknowledges")
@click.option("--outcome", default=None, help="What was done")
@with_appcontext
def ack_cmd(escalation_id: int, by: str, outcome: str | None) -> None:
    """Acknowledge an escalation and record the outcome."""
    try:
        click.echo(json.dumps(escalations.acknowledge(services(), escalation_id, by, outcome), indent=2))
    except ServiceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@click.command("tasks")
@click.option("--state", default="open", type=click.Choice(["open", "done"]))
@with_appcontext
def tasks_cmd(state: str) -> None:
    """Staff tasks."""
    for t in tasks.list_tasks(services(), state):
        click.echo(
            f"#{t['id']} {t['created_at']} [{t['kind']}] patient {t['patient_id'] or '-'} "
            f"session {t['session_id'] or '-'}: {t['detail'] or ''}"
        )


def register(group: click.Group) -> None:
    for command in (inbox_cmd, escalations_cmd, tasks_cmd):
        group.add_command(command)
