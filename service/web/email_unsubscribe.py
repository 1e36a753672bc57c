"""/email/unsubscribe/<token>: one-click unsubscribe from education email (RFC 8058).

POST unsubscribes at once: no login, no cookie, no redirect (mail providers post the one-click
request themselves and do not follow redirects). GET only shows a page with a button, because
link scanners and previews follow every GET in an email and must not unsubscribe anybody.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request
from markupsafe import escape

from ..services.replies.unsubscribe import is_valid, unsubscribe
from .access import services

bp = Blueprint("email_unsubscribe", __name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{clinic}: email preferences</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222">
<h1 style="font-size:1.3rem">{clinic}</h1>
{content}
</body></html>"""

_ASK = """<p>Stop receiving educational emails from us? Messages about your appointments and your
safety after treatment will still reach you.</p>
<form method="post" action="{action}"><button type="submit" style="font-size:1rem;padding:.5rem 1rem">
Unsubscribe from educational emails</button></form>"""
_DONE = "<p>You are unsubscribed from educational emails. Appointment and safety messages will still reach you.</p>"
_BAD = (
    "<p>This unsubscribe link is not valid. Please call the clinic and we will stop these emails for you.</p>"
)


def _page(content: str, status: int = 200) -> Response:
    clinic = escape(services().config.clinic.name)
    response = Response(_PAGE.format(clinic=clinic, content=content), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    # No other site may frame the page and trick a click on its button (clickjacking).
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


@bp.get("/email/unsubscribe/<token>")
def confirm(token: str) -> Any:
    if not is_valid(services(), token):
        return _page(_BAD, 404)
    return _page(_ASK.format(action=escape(request.path)))


@bp.post("/email/unsubscribe/<token>")
def one_click(token: str) -> Any:
    outcome = unsubscribe(services(), token)
    if outcome is None:
        return _page(_BAD, 404)
    return _page(_DONE)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
