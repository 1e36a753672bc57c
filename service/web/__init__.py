"""The Flask app: JSON API, health check, (later) webhooks and staff pages.

`create_app()` never starts the scheduler: under gunicorn every worker process would start its
own and send every message several times. The worker runs apart (`interlude worker`), or in
the same process only through `interlude serve`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..bootstrap import build
from ..config import Config, load_config
from ..runtime import Interlude
from ..services.errors import Conflict, InvalidInput, NotFound
from .access import attach, route
from .staff.common import error_page as staff_error

log = logging.getLogger("interlude.web")


class BoundedInt(IntegerConverter):
    """`<int:...>` within the database's integer range (a longer one is a 404, not a 500)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: Config | None = None, *, services: Interlude | None = None) -> Flask:
    """Build the web app. With no argument it loads the config like the CLI does."""
    if services is None:
        services = build(config or load_config())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.config["JSON_SORT_KEYS"] = False
    attach(app, services)
    # An id in a path is a database key: one past 64 bits would fail in the database, not here.
    app.url_map.converters["int"] = BoundedInt

    @app.before_request
    def current_content() -> None:
        # Schedule and template edits saved by any process apply here within a second.
        services.refresh_content()

    from . import (
        answers,
        api,
        email_unsubscribe,
        fhir,
        health,
        measures,
        metrics,
        replies_api,
        staff,
        twilio_inbound,
        twilio_status,
    )

    health.init_app(app)
    metrics.init_app(app)
    twilio_inbound.init_app(app)
    twilio_status.init_app(app)
    email_unsubscribe.init_app(app)
    answers.init_app(app)
    measures.init_app(app)
    replies_api.init_app(app)
    api.init_app(app)
    fhir.init_app(app)
    staff.init_app(app)
    _errors(app)
    return app


def _errors(app: Flask) -> None:
    def _staff_page() -> bool:
        return request.path.startswith("/staff")

    @app.errorhandler(InvalidInput)
    def invalid(exc: InvalidInput) -> Any:
        if _staff_page():
            problems = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
            return staff_error(400, "Not saved", problems)
        return jsonify(error="invalid-input", fields=exc.errors), 400

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Any:
        if _staff_page():
            return staff_error(404, "Not found", str(exc))
        return jsonify(error="not-found", message=str(exc)), 404

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict) -> Any:
        if _staff_page():
            return staff_error(409, "Not possible now", str(exc))
        return jsonify(error="conflict", message=str(exc)), 409

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/fhir/"):
            from .fhir import http_outcome

            return http_outcome(exc)
        if request.path.startswith("/api/"):
            code = exc.code or 500
            return jsonify(
                error=(exc.name or "error").lower().replace(" ", "-"), message=exc.description
            ), code
        if _staff_page() and exc.code in (403, 404, 405, 429):
            return staff_error(exc.code, exc.name, exc.description or "")
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error", extra={"path": route()})
        if _staff_page():
            return staff_error(500, "Something went wrong", "The error has been logged. Try again.")
        return jsonify(error="internal", message="unexpected error; it has been logged"), 500
