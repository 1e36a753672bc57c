"""Sign in and sign out."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from ...services import staff
from ..access import services
from . import common

bp = Blueprint("auth", __name__)
log = logging.getLogger("interlude.web.staff")

REFUSED = (
    "Sign-in failed: the email or password is wrong, or the account is locked. "
    f"After {staff.MAX_FAILURES} failed attempts an account is locked for {staff.LOCK_MINUTES} minutes."
)


def posted_address() -> str:
    """The rate-limit key of a sign-in attempt: the address it tries (guessing one account)."""
    return "address:" + str(request.form.get("email", "")).strip().lower()[:254]


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    target = common.safe_next(request.values.get("next"))
    if request.method == "GET":
        if common.load_user() is not None:
            return redirect(target)
        return render_template("staff/sign_in.html", next=target, email="", error=None)
    email = request.form.get("email", "")
    try:
        user = staff.sign_in(services(), email, request.form.get("password", ""))
    except staff.SignInRefused:
        log.info("staff sign-in refused")
        return render_template("staff/sign_in.html", next=target, email=email, error=REFUSED), 401
    common.start_session(user)
    log.info("staff signed in", extra={"staff_id": user.id})
    return redirect(target)


@bp.post("/sign-out")
def sign_out() -> Any:
    staff.sign_out_everywhere(services(), common.user().id)
    session.clear()
    return redirect(url_for("staff.auth.sign_in"))
