"""POST /twilio/inbound: a patient's text, answered with TwiML well within Twilio's 15 s."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Flask, Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse

from ..services.replies.inbound import Inbound, handle_inbound
from ..services.validation import UNSTORABLE, storable
from .access import services
from .auth import twilio_signature_ok

bp = Blueprint("twilio_inbound", __name__)
log = logging.getLogger("interlude.web")
SID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Twilio's are "SM" or "MM" and 32 hex digits
OPT_OUT_TYPES = ("STOP", "START", "HELP")


@bp.post("/twilio/inbound")
def inbound() -> Any:
    if not twilio_signature_ok():
        log.warning("inbound refused: bad or missing signature", extra={"path": request.path})
        abort(403)
    sid = request.form.get("MessageSid") or request.form.get("SmsMessageSid") or ""
    sender = request.form.get("From", "")
    # Twilio never sends these malformed; the columns they land in could not keep them.
    if not SID.fullmatch(sid) or not 0 < len(sender) <= 64 or not storable(sender):
        log.warning("inbound refused: malformed MessageSid or From", extra={"path": request.path})
        abort(400)
    opt_out_type = request.form.get("OptOutType", "").upper()
    result = handle_inbound(
        services(),
        Inbound(
            provider_id=sid,
            sender=sender,
            # A control character cannot be typed in an SMS, and PostgreSQL refuses NUL in text.
            body=UNSTORABLE.sub("\ufffd", request.form.get("Body", "")),
            # Advanced Opt-Out names one of these three; anything else is no keyword of Twilio's.
            opt_out_type=opt_out_type if opt_out_type in OPT_OUT_TYPES else None,
        ),
    )
    twiml = MessagingResponse()
    if result.reply:
        twiml.message(result.reply)
    return Response(str(twiml), mimetype="text/xml")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
