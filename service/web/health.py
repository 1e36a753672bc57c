"""GET /healthz: the process is up and the database answers at the current schema."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        from ..db.engine import reader
        from ..db.migrate import is_current
        from .access import services

        engine = services(app).engine
        try:
            with reader(engine).connect() as conn:
                conn.execute(text("SELECT 1"))
            current = is_current(engine)
        except SQLAlchemyError:
            return jsonify(status="error", database="unreachable"), 503
        if not current:
            return jsonify(status="error", database="schema not current: run `interlude init`"), 503
        return jsonify(status="ok", database="ok")
