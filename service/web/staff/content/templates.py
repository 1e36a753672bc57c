"""Templates: every message template's files; a file's text with a preview for a chosen modality,
time zone and session number (SMS segments and encoding, or the email's subject, text and HTML)
and the checks of `interlude check`; admins save it as a new version and roll back.

Previews are open to every signed-in account, but only an admin's preview renders the text typed
in the form: for the others it renders the text in effect. Templates are Jinja2, which can reach
Python objects, so only those who may save a template may have their own text rendered.
Saving and rolling back are for admins (403 for the others).
"""

from __future__ import annotations

import zlib
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask import abort, flash, redirect, render_template, request, url_for

from ....schedules import MODALITIES
from ....services.content import edits as content
from ....services.errors import Conflict, InvalidInput
from ....services.views import content_pages
from ...access import services
from .. import common
from .shared import CONFLICT, ROLLBACK, base_version_of, bp, history_of, read_version, rollback_reason

FILE_PATH = "/templates/<template>/<lang>/<file>"


@cache
def _zones() -> list[str]:
    # Offered as suggestions; any IANA name is accepted and checked by the use case.
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV")))


@bp.get("/templates")
def templates() -> Any:
    listing = content_pages.template_index(services())
    return render_template("staff/content/templates.html", nav="templates", templates=listing)


def _file(template: str, lang: str, file: str) -> dict[str, Any]:
    """The file in effect; 404 for a template, language or file name that cannot be."""
    app = services()
    if template not in app.templates.names():
        abort(404)
    try:
        return content.get_template(app, f"{template}/{lang}/{file}")
    except InvalidInput:
        abort(404)


def _controls(data: Any, app: Any) -> dict[str, str]:
    return {
        "modality": data.get("modality", "iv").strip(),
        "tz": data.get("tz", "").strip() or app.config.clinic.timezone,
        "number": data.get("number", "1").strip(),
    }


def _preview(info: dict[str, Any], text: str, controls: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """(preview_template's answer or None, errors of the preview controls)."""
    number = controls["number"]
    if not number.isdigit() or not 1 <= int(number) <= 1000:
        return None, {"number": "expected a session number from 1 to 1000"}
    try:
        preview = content.preview_template(
            services(),
            info["name"],
            text,
            modality=controls["modality"],
            tz=controls["tz"],
            number=int(number),
        )
    except InvalidInput as exc:
        return None, exc.errors
    return preview, {}


def _entered_text(info: dict[str, Any]) -> str:
    """The form's text for an admin; for the others the text in effect (see the module's note)."""
    if common.user().is_admin and "text" in request.form:
        return request.form["text"]
    return info["text"] or ""


# The template form's controls; an error with no control of its own (a newer version saved,
# a bad path) is the form's, and the error summary calls each by these labels.
FORM = "template-form"
_CONTROLS = ("text", "reason", "modality", "tz", "number")
LABELS = {
    "text": "Text",
    "reason": "Reason",
    "modality": "Treatment",
    "tz": "Patient's time zone",
    "number": "Session number",
    FORM: "This file",
}
# Typed text is kept in the signed session cookie across the redirect after a failed save; a
# text too long for a cookie is answered on the spot instead, so that it is never lost.
_KEEPABLE = 2_000


def page_errors(errors: dict[str, str]) -> dict[str, str]:
    """The use case's errors by the id of their control; the others are the form's."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        control = key if key in _CONTROLS else FORM
        out[control] = f"{out[control]}; {message}" if control in out else message
    return out


def _key(info: dict[str, Any]) -> str:
    return f"template:{info['name']}"


def _url(info: dict[str, Any]) -> str:
    template, lang, file = info["name"].split("/")
    return url_for("staff.content.template_file", template=template, lang=lang, file=file)


def _page(info: dict[str, Any], code: int = 200, **page: Any) -> Any:
    app = services()
    template = info["name"].split("/")[0]
    values: dict[str, Any] = {
        "info": info,
        "template": template,
        "file": info["name"].split("/")[2],
        "lang": info["name"].split("/")[1],
        "used_by": content_pages.template_users(app, template),
        "history": history_of(content.TEMPLATE, info["name"]),
        "text": info["text"] or "",
        "controls": _controls({}, app),
        "errors": {},
        "labels": LABELS,
        "preview": None,
        "modalities": MODALITIES,
        "zones": _zones(),
        "reason": "",
        "base_version": info["version"],
        **page,
    }
    if "preview" not in page and (info["text"] is not None or "text" in page):
        values["preview"], found = _preview(info, values["text"], values["controls"])
        values["errors"] = {**page_errors(found), **values["errors"]}
    return render_template("staff/content/template.html", nav="templates", **values), code


@bp.get(FILE_PATH)
def template_file(template: str, lang: str, file: str) -> Any:
    """The file; after a form with errors (Post/Redirect/Get), what was typed and every error,
    once."""
    info = _file(template, lang, file)
    kept, errors = common.kept_form(_key(info))
    _, rolled = common.kept_form(ROLLBACK + _key(info))
    page: dict[str, Any] = {"rollback_error": rolled.get("version")}
    if kept and errors:
        app = services()
        if common.user().is_admin:  # only an admin's own text is rendered (see the module's note)
            page.update(text=str(kept.get("text", "")), reason=str(kept.get("reason", "")))
        base = kept.get("base_version")
        page.update(controls=_controls(kept, app), errors=errors)
        page["base_version"] = base if isinstance(base, int) else info["version"]
    return _page(info, **page)


@bp.post(FILE_PATH)
def edit_template(template: str, lang: str, file: str) -> Any:
    """Preview (the Preview button) or save; a form with errors goes back to the page (303)."""
    info = _file(template, lang, file)
    app = services()
    text, controls = _entered_text(info), _controls(request.form, app)
    base = base_version_of(request.form)
    form: dict[str, Any] = {"text": text, **controls, "reason": request.form.get("reason", "")}
    form["base_version"] = info["version"] if base is None else base
    page = {
        "text": text,
        "controls": controls,
        "reason": form["reason"],
        "base_version": form["base_version"],
    }
    if request.form.get("action") != "save":
        page["preview"], errors = _preview(info, text, controls)
        if not errors:
            return _page(info, **page)
        return _back(info, form, page, page_errors(errors))
    if not common.user().is_admin:
        return common.error_page(
            403, "Admins only", "Only an admin can change this. Ask your clinic's admin."
        )
    try:
        saved = content.save_template(
            app, info["name"], text, common.actor(), form["reason"].strip() or None, base_version=base
        )
    except InvalidInput as exc:
        page.pop("preview", None)
        return _back(info, form, page, page_errors(exc.errors))
    except Conflict:
        return _back(info, form, page, {FORM: CONFLICT})
    flash(
        f"Saved version {saved['version']}." if saved["changed"] else "Nothing changed: the text is the same."
    )
    return redirect(_url(info))


def _back(info: dict[str, Any], form: dict[str, Any], page: dict[str, Any], errors: dict[str, str]) -> Any:
    """Back to the page with the form and its errors (303); a text too long to keep in the
    session cookie is answered here with 400 instead, rather than lost."""
    if len(zlib.compress(form["text"].encode())) > _KEEPABLE:
        return _page(info, 400, errors=errors, **page)
    return common.back_with_errors(_key(info), form, errors, _url(info))


@bp.post(FILE_PATH + "/preview")
def live_preview(template: str, lang: str, file: str) -> Any:
    """The preview panel and the checks as HTML pieces, for content.js to put in place."""
    info = _file(template, lang, file)
    controls = _controls(request.form, services())
    preview, errors = _preview(info, _entered_text(info), controls)
    fragment = render_template(
        "staff/content/_template_live.html",
        preview=preview,
        errors=errors,
        controls=controls,
    )
    return fragment, (200 if not errors else 400)


@bp.post(FILE_PATH + "/rollback")
@common.admin_required
def rollback_template(template: str, lang: str, file: str) -> Any:
    info = _file(template, lang, file)
    back = _url(info) + "#history"
    try:
        version = read_version(request.form)
        result = content.rollback(
            services(),
            content.TEMPLATE,
            info["name"],
            version,
            common.actor(),
            rollback_reason(version),
        )
    except InvalidInput as exc:
        message = exc.errors.get("version", str(exc))
        return common.back_with_errors(ROLLBACK + _key(info), {}, {"version": message}, back)
    if result["changed"]:
        flash(f"Rolled {rollback_reason(version)}: saved as version {result['version']}.")
    else:
        flash("Nothing changed: that version is what is in effect already.")
    return redirect(back)
