"""CLI: `interlude import FILE.csv [--patients FILE] [--dry-run] [--sync] [--errors PATH]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..services.imports_csv import ImportRefused, run_import
from ..web.access import services
from .common import actor, require_schema


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--patients",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A second CSV with the patients (joined by Patient ID).",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option(
    "--sync", is_flag=True, help="Cancel booked sessions of the file's dates that it no longer lists."
)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the error CSV goes (default: FILE.errors.csv next to the input).",
)
@with_appcontext
def import_cmd(
    file: Path, patients: Path | None, dry_run: bool, sync: bool, errors_path: Path | None
) -> None:
    """Import sessions and their patients from a clinic's CSV export (see README, "Importing bookings")."""
    app = services()
    require_schema(app)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=None,
        transient=False,
    ) as bar:
        task = bar.add_task("rows", total=None)

        def advance(n: int, total: int) -> None:
            bar.update(task, total=total, advance=n)

        try:
            report = run_import(
                app,
                file.read_bytes(),
                file.name,
                actor(),
                patients_data=patients.read_bytes() if patients else None,
                patients_name=patients.name if patients else "",
                dry_run=dry_run,
                sync=sync,
                progress=advance,
            )
        except ImportRefused as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    verb = "would be " if dry_run else ""
    click.echo(f"{report.rows} rows read")
    for action in ("created", "rescheduled", "cancelled", "no-show", "completed", "unchanged"):
        click.echo(f"sessions {verb}{action}: {report.actions.get(action, 0)}")
    for action in ("created", "updated"):
        click.echo(f"patients {verb}{action}: {report.patients.get(action, 0)}")
    if sync:
        click.echo(f"sessions {verb}cancelled as gone from the file: {len(report.sync_cancelled)}")
    if report.ignored_columns:
        click.echo(f"columns ignored: {', '.join(report.ignored_columns)}")
    if report.errors:
        path = errors_path or file.with_name(f"{file.stem}.errors.csv")
        path.write_text(report.error_csv(), encoding="utf-8", newline="")
        click.echo(f"{report.bad_rows} rows not imported: see {path}", err=True)
    if dry_run:
        click.echo("dry run: nothing was written")
    if report.errors:
        sys.exit(1)


def register(group: click.Group) -> None:
    group.add_command(import_cmd)
