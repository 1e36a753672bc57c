"""Staff pages, served by the same Flask app under /staff.

One parent blueprint guards every page: the secret key must be set (it signs the sign-in
cookie), every POST carries a CSRF token (Flask-WTF), and every page but sign-in needs a
signed-in account whose cookie epoch is still current. Each page lives in its own module with
its own child blueprint; times are shown in the clinic's time zone, with the zone named.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, g, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

from .. import access
from . import common

csrf = CSRFProtect()
PUBLIC_ENDPOINTS = frozenset({"staff.auth.sign_in"})
SESSION_HOURS = common.SESSION_HOURS
# Sign-in attempts a minute, per address tried and per client. The account lockout (5 failures)
# already stops guessing one password; this keeps a flood of attempts, at many addresses or one,
# from spending the web process on password hashes. Counted in each process's memory: behind a
# proxy every client shares the proxy's address, hence the larger per-client figure.
SIGN_INS_PER_ADDRESS = "10/minute"
SIGN_INS_PER_CLIENT = "30/minute"
TOO_MANY = "Too many sign-in attempts: wait a minute and try again."


def guard() -> Any:
    if not current_app.secret_key:
        return common.error_page(
            503,
            "Staff pages are off",
            "Set INTERLUDE_SECRET_KEY (or INTERLUDE_SECRET_KEY_FILE) to sign staff in.",
        )
    if request.method == "POST":
        csrf.protect()
    g.staff = common.load_user()
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        session.clear()
        return redirect(url_for("staff.auth.sign_in", next=common.safe_next(request.full_path)))
    return None


def headers(response: Any) -> Any:
    # Pages carry patient details: never cached, never framed, nothing loaded from elsewhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response


def _limit_sign_ins(app: Flask) -> None:
    """Wrap the sign-in view in its rate limits (Flask-Limiter checks a decorated view itself)."""
    from . import signin

    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", default_limits=[])
    endpoint = "staff.auth.sign_in"
    for limit, key, scope in (
        (SIGN_INS_PER_ADDRESS, signin.posted_address, "sign-in-address"),
        (SIGN_INS_PER_CLIENT, get_remote_address, "sign-in-client"),
    ):
        rule = limiter.limit(limit, key_func=key, scope=scope, methods=["POST"], error_message=TOO_MANY)
        view: Any = app.view_functions[endpoint]
        app.view_functions[endpoint] = rule(view)


def init_app(app: Flask) -> None:
    services = access.services(app)
    secret = services.config.secrets.secret_key
    if secret:
        app.secret_key = secret
    secure = services.config.web.public_base_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="interlude_staff",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # Checked by the guard above on staff POSTs only: webhooks and the API have their own auth.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    common.register_filters(app)

    from . import accounts, content, imports, inbox, patient_edit, patients, reports, sandbox, signin, today

    # The parent is made per app (a blueprint cannot gain children once registered anywhere).
    bp = Blueprint("staff", __name__, url_prefix="/staff")
    bp.before_request(guard)
    bp.after_request(headers)
    for page in (signin, today, patients, patient_edit, inbox, content, sandbox, accounts, imports, reports):
        bp.register_blueprint(page.bp)
    app.register_blueprint(bp)
    _limit_sign_ins(app)

    @app.get("/")
    def root() -> Any:
        return redirect(url_for("staff.today.index"))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return common.error_page(
            400,
            "This form has expired",
            "The form was not sent from an open Interlude page, or it is too old. "
            "Go back, reload the page and try again.",
        )
