"""POST /twilio/status/<attempt>: Twilio's delivery reports for one of our delivery attempts."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request

from ..services.deliveries import apply_status
from .auth import twilio_signature_ok

bp = Blueprint("twilio_status", __name__)
log = logging.getLogger("interlude.web")


@bp.post("/twilio/status/<attempt>")
def status(attempt: str) -> Any:
    if not twilio_signature_ok():
        log.warning("status callback refused: bad or missing signature", extra={"path": request.path})
        abort(403)
    reported = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    # An attempt we do not know (deleted, another deployment's) still gets 200: an error answer
    # would only make Twilio retry it and file error 11200 against the account.
    if attempt.isdigit() and len(attempt) <= 18 and reported:
        apply_status(
            current_app.extensions["interlude"],
            int(attempt),
            reported,
            error_code=request.form.get("ErrorCode") or None,
            provider_id=request.form.get("MessageSid") or request.form.get("SmsSid") or None,
        )
    return Response("", status=200, mimetype="text/plain")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
