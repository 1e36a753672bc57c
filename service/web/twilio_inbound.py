"""POST /twilio/inbound: a patient's text, answered with TwiML well within Twilio's 15 s."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from ..services.replies import Inbound, handle_inbound
from .auth import twilio_signature_ok

bp = Blueprint("twilio_inbound", __name__)
log = logging.getLogger("interlude.web")


@bp.post("/twilio/inbound")
def inbound() -> Any:
    if not twilio_signature_ok():
        log.warning("inbound refused: bad or missing signature", extra={"path": request.path})
        abort(403)
    sid = request.form.get("MessageSid") or request.form.get("SmsMessageSid") or ""
    sender = request.form.get("From", "")
    if not sid or not sender:
        abort(400)
    result = handle_inbound(
        current_app.extensions["interlude"],
        Inbound(
            provider_id=sid,
            sender=sender,
            body=request.form.get("Body", ""),
            opt_out_type=request.form.get("OptOutType") or None,
        ),
    )
    twiml = MessagingResponse()
    if result.reply:
        twiml.message(result.reply)
    return Response(str(twiml), mimetype="text/xml")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
