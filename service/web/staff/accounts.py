"""Staff accounts: admins add, disable and enable accounts; everyone changes their own password.

A form refused for bad input goes back to its page (Post/Redirect/Get) with the error summary and
the address typed; a password is never kept."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ...services import staff
from ...services.errors import Conflict, InvalidInput, NotFound
from ..access import services
from . import common

bp = Blueprint("accounts", __name__)
# The keys under which a refused form is kept for the next GET (common.kept_form).
NEW_ACCOUNT = "new-account"
NEW_PASSWORD = "password"


@bp.get("/accounts")
@common.admin_required
def index() -> Any:
    form, errors = common.kept_form(NEW_ACCOUNT)
    return render_template(
        "staff/accounts/index.html",
        accounts=staff.list_staff(services()),
        errors=errors,
        form=form,
        nav="accounts",
    )


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
        return common.back_with_errors(NEW_ACCOUNT, form, exc.errors, url_for("staff.accounts.index"))
    except Conflict as exc:
        errors = {"email": f"{exc}: choose another address, or enable the disabled account in the list"}
        return common.back_with_errors(NEW_ACCOUNT, form, errors, url_for("staff.accounts.index"))
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


@bp.get("/account/password")
def password() -> Any:
    _, errors = common.kept_form(NEW_PASSWORD)
    return render_template("staff/accounts/password.html", errors=errors, nav="password")


@bp.post("/account/password")
def change_password() -> Any:
    me = common.user()
    new = request.form.get("new_password", "")
    errors: dict[str, str] = {}
    try:
        staff.sign_in(services(), me.email, request.form.get("current_password", ""))
    except staff.SignInRefused:
        errors["current_password"] = "this is not your current password: type the one you signed in with"
    if new != request.form.get("confirm_password", ""):
        errors["confirm_password"] = "this does not match the new password: type the new password again"
    if not errors:
        try:
            staff.set_password(services(), me.email, new, actor=common.actor())
        except InvalidInput as exc:
            errors = {"new_password": exc.errors.get("password", str(exc))}
    if errors:  # nothing typed is kept: a password never goes into the cookie
        return common.back_with_errors(NEW_PASSWORD, {}, errors, url_for("staff.accounts.password"))
    session.clear()  # a new password ends every sign-in, this one too
    flash("Password changed: sign in with the new one.")
    return redirect(url_for("staff.auth.sign_in"))
