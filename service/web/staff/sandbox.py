"""Sandbox phone: a patient's texts as their phone would show them, and a box to reply as them.

Only while SMS goes to the sandbox transport (otherwise 404): once Twilio is connected, real
patients answer from real phones and nobody may text in their name.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from ...services.errors import InvalidInput, NotFound
from ...services.replies import sandbox_phone
from ..access import parse_id, services
from . import common

bp = Blueprint("sandbox", __name__)
# The key under which a refused reply is kept for the next GET (common.kept_form).
REPLY_FORM = "sandbox-reply"


@bp.before_request
def sandbox_only() -> Any:
    if services().config.sms.transport != "sandbox":
        return common.error_page(
            404,
            "Not found",
            "The sandbox phone is there only while texts go to the sandbox, not to a provider.",
        )
    return None


@bp.get("/sandbox")
def index() -> Any:
    return render_template("staff/sandbox/index.html", people=sandbox_phone.phones(services()))


@bp.get("/sandbox/<patient_id>")
def phone(patient_id: str) -> Any:
    pid = parse_id(patient_id)
    form, errors = common.kept_form(REPLY_FORM)
    if form.get("patient_id") != pid:
        return _phone_page(pid, text="", errors={})
    return _phone_page(pid, text=str(form.get("body", "")), errors=errors)


@bp.post("/sandbox/<patient_id>/reply")
def reply(patient_id: str) -> Any:
    pid = parse_id(patient_id)
    text = request.form.get("body", "")
    try:
        sandbox_phone.reply_as_patient(services(), pid, text, common.actor())
    except InvalidInput as exc:
        kept = {"patient_id": pid, "body": text[: sandbox_phone.MAX_TEXT + 1]}
        url = url_for("staff.sandbox.phone", patient_id=pid)
        return common.back_with_errors(REPLY_FORM, kept, exc.errors, url)
    except NotFound:
        return _not_found()
    return redirect(url_for("staff.sandbox.phone", patient_id=pid, _anchor="latest"))


def _phone_page(patient_id: int, *, text: str, errors: dict[str, str]) -> Any:
    try:
        talk = sandbox_phone.conversation(services(), patient_id)
    except NotFound:
        return _not_found()
    page = render_template(
        "staff/sandbox/phone.html", max_text=sandbox_phone.MAX_TEXT, text=text, errors=errors, **talk
    )
    return page


def _not_found() -> Any:
    return common.error_page(404, "No such phone", "There is no patient with a phone number here.")
