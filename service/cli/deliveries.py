"""CLI for delivery tracking: `interlude deliveries [--failed]`."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from ..services.outbox.deliveries import list_deliveries
from ..web.access import services


@click.command("deliveries")
@click.option("--failed", is_flag=True, help="Only what needs a person: failed, undelivered, unknown.")
@click.option("--limit", default=100, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def deliveries_cmd(failed: bool, limit: int, as_json: bool) -> None:
    """Messages that were tried, newest first: to whom (masked), status, and why."""
    rows = list_deliveries(services(), failed=failed, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no failed deliveries" if failed else "no deliveries yet")
        return
    click.echo(f"{'id':>6}  {'updated (UTC)':<19}  {'status':<8} {'channel':<6} {'to':<18} {'step':<22} why")
    for r in rows:
        click.echo(
            f"{r['id']:>6}  {r['updated_at'][:19]:<19}  {r['status']:<8} {r['channel']:<6} {r['to']:<18} "
            f"{r['step']:<22} {_why(r)}"
        )


def _why(r: dict[str, Any]) -> str:
    text = r["reason"] or "-"
    if r["why"]:
        text += f" ({r['why']})"
    if r["delivery"] in ("failed", "undelivered") and r["status"] != "failed":
        text += f" [provider: {r['delivery']}]"
    if r["fallback"]:
        f = r["fallback"]
        text += f" -> fallback #{f['id']} by {f['channel']}: {f['status']}"
    return text


def register(group: click.Group) -> None:
    group.add_command(deliveries_cmd)
