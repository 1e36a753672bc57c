"""POST /twilio/status/<attempt>: Twilio's delivery reports for one of our delivery attempts."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Flask, Response, abort, request

from ..services.outbox.deliveries import apply_status
from .access import services
from .auth import twilio_signature_ok

bp = Blueprint("twilio_status", __name__)
log = logging.getLogger("interlude.web")
SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,16}")


@bp.post("/twilio/status/<attempt>")
def status(attempt: str) -> Any:
    if not twilio_signature_ok():
        log.warning("status callback refused: bad or missing signature", extra={"path": request.path})
        abort(403)
    reported = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or None
    code = request.form.get("ErrorCode") or None
    # An attempt we do not know (deleted, another deployment's) still gets 200: an error answer
    # would only make Twilio retry it and file error 11200 against the account. So does a report
    # Twilio would never send (a status, sid or error code our columns could not keep): it is
    # not applied, and logged.
    known = attempt.isascii() and attempt.isdigit() and len(attempt) <= 18
    if known and reported and _well_formed(reported, sid, code):
        apply_status(services(), int(attempt), reported, error_code=code, provider_id=sid)
    elif known and reported:
        log.warning("status callback ignored: malformed report", extra={"attempt_id": int(attempt)})
    return Response("", status=200, mimetype="text/plain")


def _well_formed(reported: str, sid: str | None, code: str | None) -> bool:
    """Twilio's statuses are short lowercase words, its sids 34 letters and digits, its error
    codes five digits."""
    return (
        TOKEN.fullmatch(reported) is not None
        and (sid is None or SID.fullmatch(sid) is not None)
        and (code is None or TOKEN.fullmatch(code) is not None)
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
