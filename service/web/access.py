"""The one way the web and the CLI reach the container, and the one parser of ids in paths.

The Flask app keeps the `Interlude` container in `app.extensions`; every view and command (the
CLI runs inside the app's context) gets it here.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request

from ..runtime import Interlude

KEY = "interlude"


def attach(app: Flask, services: Interlude) -> None:
    app.extensions[KEY] = services


def services(app: Flask | None = None) -> Interlude:
    """The container of `app`, or of the app handling the current request or command."""
    found: Interlude = (app or current_app).extensions[KEY]
    return found


def parse_id(value: str) -> int:
    """A database id from a path segment, or 404: ASCII digits only ("²".isdigit() is true and
    int("²") raises), at most 18 of them (one past 64 bits would fail in the database)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        abort(404)
    return int(value)


def route() -> str:
    """The current request's route for a log line: the pattern ("/fhir/r4/Patient/<rid>"), never
    the path itself, which can carry a patient's record number or other reference."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(no route)"
