"""Staff accounts: admins add, disable and enable accounts; everyone changes their own password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ...services import staff
from ...services.errors import Conflict, InvalidInput, NotFound
from ..access import services
from . import common

bp = Blueprint("accounts", __name__)


def _page(errors: dict[str, str] | None = None, form: dict[str, Any] | None = None, code: int = 200) -> Any:
    return (
        render_template(
            "staff/accounts/index.html",
            accounts=staff.list_staff(services()),
            errors=errors or {},
            form=form or {},
            nav="accounts",
        ),
        code,
    )


@bp.get("/accounts")
@common.admin_required
def index() -> Any:
    return _page()


@bp.post("/accounts")
@common.admin_required
def add() -> Any:
    email, admin = request.form.get("email", ""), bool(request.form.get("admin"))
    form = {"email": email, "admin": admin}
    try:
        added = staff.add_staff(
            services(),
            email,
            request.form.get("password", ""),
            admin=admin,
            actor=common.actor(),
        )
    except InvalidInput as exc:
        return _page(exc.errors, form, 400)
    except Conflict as exc:
        return _page({"email": str(exc)}, form, 400)
    flash(f"Added {added.email}.")
    return redirect(url_for("staff.accounts.index"))


@bp.post("/accounts/<int:account_id>/active")
@common.admin_required
def set_active(account_id: int) -> Any:
    accounts = {a["id"]: a for a in staff.list_staff(services())}
    account = accounts.get(account_id)
    if account is None:
        raise NotFound("staff account", account_id)
    active = request.form.get("active") == "1"
    if not active and account_id == common.user().id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("staff.accounts.index"))
    staff.set_active(services(), account["email"], active, actor=common.actor())
    flash(f"{account['email']} {'enabled' if active else 'disabled'}.")
    return redirect(url_for("staff.accounts.index"))


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        me = common.user()
        new = request.form.get("new_password", "")
        try:
            staff.sign_in(services(), me.email, request.form.get("current_password", ""))
        except staff.SignInRefused:
            errors["current_password"] = "not your current password"
        if new != request.form.get("confirm_password", ""):
            errors["confirm_password"] = "does not match the new password"
        if not errors:
            try:
                staff.set_password(services(), me.email, new, actor=common.actor())
            except InvalidInput as exc:
                errors = {"new_password": exc.errors.get("password", str(exc))}
        if not errors:
            session.clear()  # a new password ends every sign-in, this one too
            flash("Password changed: sign in with the new one.")
            return redirect(url_for("staff.auth.sign_in"))
    code = 400 if errors else 200
    return render_template("staff/accounts/password.html", errors=errors, nav=None), code
