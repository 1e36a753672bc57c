"""What every staff page shares: the signed-in account, permissions, times, error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from flask import Flask, g, redirect, render_template, request, session
from sqlalchemy.exc import SQLAlchemyError

from ...services.staff import StaffUser, active_user
from ...services.views import today
from ..access import services
from . import names

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("interlude.web.staff")


def user() -> StaffUser:
    staff: StaffUser = g.staff
    return staff


def actor() -> str:
    """Who did it, for the audit trail: the signed-in address."""
    return f"staff:{user().email}"


# A sign-in lasts this long from the moment it was made, however busy the session since: the
# cookie is re-signed whenever the session changes (a flash, a CSRF token), so its own age slides.
SESSION_HOURS = 12


def load_user() -> StaffUser | None:
    uid, epoch, since = session.get("uid"), session.get("epoch"), session.get("since")
    if not isinstance(uid, int) or not isinstance(epoch, int) or not isinstance(since, int):
        return None
    if services().clock().timestamp() - since > SESSION_HOURS * 3600:
        return None
    return active_user(services(), uid, epoch)


def start_session(user: StaffUser) -> None:
    """A fresh cookie for `user` (nothing set before it survives: no fixation), valid 12 hours."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["since"] = int(services().clock().timestamp())


def admin_required(view: F) -> F:
    """Only admins change schedules, templates and staff accounts (403 for the others)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not user().is_admin:
            return error_page(403, "Admins only", "Only an admin can change this. Ask your clinic's admin.")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None) -> str:
    """Only a path inside the staff pages may follow a sign-in (no open redirect)."""
    target = (target or "").rstrip("?")
    printable = target.isascii() and target.isprintable()  # no CR/LF: never a header injection
    if printable and target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/today"


# --- Post/Redirect/Get for forms with errors ------------------------------------------------------
# A form that fails keeps what was typed and what is wrong in the signed session cookie and
# redirects (303) to its page, which shows them once: a reload never sends the form again.
_KEPT = "form:"


def keep_form(key: str, form: Mapping[str, Any], errors: Mapping[str, str]) -> None:
    """Hold `form` and `errors` for the next GET of the page `key` names."""
    session[_KEPT + key] = {"form": dict(form), "errors": dict(errors)}


def kept_form(key: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The form and errors kept for page `key` (once), else two empty dicts."""
    kept = session.pop(_KEPT + key, None)
    if not isinstance(kept, dict):
        return {}, {}
    return dict(kept.get("form") or {}), dict(kept.get("errors") or {})


def back_with_errors(key: str, form: Mapping[str, Any], errors: Mapping[str, str], url: str) -> Any:
    """Keep the form and its errors, and send the browser back to `url` with a GET."""
    keep_form(key, form, errors)
    return redirect(url, code=303)


def error_page(code: int, title: str, message: str) -> Any:
    return render_template("staff/error.html", title=title, message=message), code


def clinic_zone() -> ZoneInfo:
    return services().clinic_tz


def when(instant: datetime | None) -> str:
    """An instant in the clinic's time zone and locale, with the zone's abbreviation."""
    return names.fmt(instant, "when")


def minutes(count: int | None) -> str:
    """A span of minutes as a person says it: "4 min", "2 h 05 min"."""
    if count is None:
        return ""
    if count < 60:
        return f"{count} min"
    return f"{count // 60} h {count % 60:02d} min"


def register_filters(app: Flask) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(minutes, "minutes")
    app.add_template_filter(lambda i: names.fmt(i, "clock"), "clock")
    app.add_template_filter(lambda i: names.fmt(i, "day"), "day")
    names.register(app)

    @app.context_processor
    def staff_context() -> dict[str, Any]:
        svc = services()
        return {
            "clinic_name": svc.config.clinic.name,
            "clinic_zone": svc.config.clinic.timezone,
            "sandbox_sms": svc.config.sms.transport == "sandbox",
            "on_call_configured": bool(svc.config.escalation.on_call),
            "staff": g.get("staff"),
            "alerts": alerts(),
            "rendered_at": svc.clock(),
            # Only a page fetched by GET may reload itself (a page answering a POST would re-send it).
            "reloadable": request.method == "GET",
        }


def alerts() -> dict[str, Any] | None:
    """The red banner and the counts in the navigation, for a signed-in account: one query per
    request. If the query fails the banner says it could not check, rather than nothing."""
    if g.get("staff") is None:
        return None
    if "alerts" not in g:
        try:
            g.alerts = today.alerts(services())
        except SQLAlchemyError:
            log.exception("alerts query failed")
            g.alerts = {"failed": True, "open": 0, "first": None, "unrouted": 0, "urgent": 0, "inbox": 0}
    found: dict[str, Any] = g.alerts
    return found
