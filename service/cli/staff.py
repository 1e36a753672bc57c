"""CLI for staff accounts: `interlude staff add EMAIL [--admin]`, list, password, disable, enable."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..services import staff
from ..services.errors import ServiceError
from ..web.access import services
from .common import actor, fail


def _prompt_password() -> str:
    value: str = click.prompt(
        f"Password (at least {staff.MIN_PASSWORD} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )
    return value


@click.group("staff", invoke_without_command=True)
@click.pass_context
@with_appcontext
def staff_cmd(ctx: click.Context) -> None:
    """Staff accounts for the staff pages (lists them with no subcommand)."""
    if ctx.invoked_subcommand is None:
        for s in staff.list_staff(services()):
            flags = ["admin" if s["admin"] else "staff"]
            flags += [] if s["active"] else ["disabled"]
            flags += ["locked"] if s["locked"] else []
            click.echo(f"{s['email']} [{', '.join(flags)}]")


@staff_cmd.command("add")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May change schedules, templates and staff accounts.")
@with_appcontext
def add_cmd(email: str, admin: bool) -> None:
    """Create a staff account; the password is asked for (never an argument)."""
    try:
        staff.normalise_email(email)
        user = staff.add_staff(services(), email, _prompt_password(), admin=admin, actor=actor())
    except ServiceError as exc:
        fail(exc)
        return
    click.echo(f"added {user.email} ({'admin' if user.is_admin else 'staff'})")


@staff_cmd.command("password")
@click.argument("email")
@with_appcontext
def password_cmd(email: str) -> None:
    """Set a new password (also unlocks the account and signs it out everywhere)."""
    try:
        staff.set_password(services(), email, _prompt_password(), actor=actor())
    except ServiceError as exc:
        fail(exc)
        return
    click.echo("password changed")


@staff_cmd.command("disable")
@click.argument("email")
@with_appcontext
def disable_cmd(email: str) -> None:
    """Stop an account from signing in (and end its current sign-ins)."""
    try:
        staff.set_active(services(), email, False, actor=actor())
    except ServiceError as exc:
        fail(exc)
        return
    click.echo("disabled")


@staff_cmd.command("enable")
@click.argument("email")
@with_appcontext
def enable_cmd(email: str) -> None:
    """Allow a disabled account to sign in again."""
    try:
        staff.set_active(services(), email, True, actor=actor())
    except ServiceError as exc:
        fail(exc)
        return
    click.echo("enabled")


def register(group: click.Group) -> None:
    group.add_command(staff_cmd)
