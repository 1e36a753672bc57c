"""The ceiling of benchmark 4: a Flask app that only checks Twilio's signature and stores the
message as one row, served by gunicorn exactly like the real app."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, abort, request
from sqlalchemy import insert
from twilio.request_validator import RequestValidator

from service.db.engine import make_engine
from service.db.tables import inbound_messages

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def create_app() -> Flask:
    engine = make_engine(os.environ["BENCH_DATABASE_URL"], 4)
    validator = RequestValidator(os.environ["INTERLUDE_TWILIO_AUTH_TOKEN"])
    url = os.environ["BENCH_PUBLIC_BASE_URL"].rstrip("/") + "/twilio/inbound"
    app = Flask(__name__)

    @app.post("/twilio/inbound")
    def inbound() -> Any:
        if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        with engine.begin() as conn:
            conn.execute(
                insert(inbound_messages).values(
                    provider_id=request.form["MessageSid"],
                    channel="sms",
                    sender=request.form["From"],
                    body=request.form.get("Body", ""),
                    received_at=datetime.now(UTC),
                    kind="received",
                    needs_attention=False,
                )
            )
        return Response(EMPTY, mimetype="text/xml")

    @app.get("/healthz")
    def health() -> Any:
        return {"status": "ok"}

    return app
