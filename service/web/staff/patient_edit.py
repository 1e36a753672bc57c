"""Change a patient's details, and record a consent given again after an opt-out.

Both forms follow Post/Redirect/Get: a refused form goes back (303) to its page, which shows the
error summary and what was typed; a saved one goes to the patient's page with a note of what
changed. The consent rules themselves are services.consent's and services.patients' (a new number
gets the opt-in text again; a text-message opt-out sent by text is lifted only by the patient).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from ...domain.consent import HOW
from ...services import consent
from ...services import validation as v
from ...services.errors import InvalidInput
from ...services.patients import get_patient, update_patient
from ..access import services
from . import common, names
from .patients import PREFERENCE_CHOICES

bp = Blueprint("patient_edit", __name__)

EDIT_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Mobile phone",
    "email": "Email",
    "language": "Language",
    "timezone": "Time zone",
    "indications": "Indications",
    "detailed_messages": "Detailed messages",
    "preferred_channel": "Education messages by",
}
CONSENT_LABELS = {
    "channel": "Messages by",
    "purposes": "Which messages",
    "how": "How the patient agreed",
    "given_at": "When the patient agreed",
    "note": "Note",
}
# A valid value to copy, added to a field's error when its words give none.
EXAMPLES = {
    "first_name": "e.g. Maria",
    "last_name": "e.g. Lopez",
    "phone": "e.g. (202) 555-0143",
    "email": "e.g. maria@example.org",
    "timezone": "e.g. America/New_York",
}


def _key(kind: str, patient_id: int) -> str:
    return f"{kind}:{patient_id}"


def _patient(patient_id: int) -> dict[str, Any]:
    with services().reader.connect() as conn:
        return dict(get_patient(conn, patient_id))


def _with_examples(errors: dict[str, str]) -> dict[str, str]:
    """Every error with an example of a valid value."""
    return {k: m if "e.g." in m or k not in EXAMPLES else f"{m} ({EXAMPLES[k]})" for k, m in errors.items()}


# --- edit --------------------------------------------------------------------------------------


def _current(patient: dict[str, Any]) -> dict[str, Any]:
    """The form as the patient is now (the phone as the clinic dials it)."""
    form = {k: patient[k] or "" for k in ("first_name", "last_name", "email", "language", "timezone")}
    form.update(
        phone=names.phone(patient["phone"]),
        indications=list(patient["indications"]),
        detailed_messages=bool(patient["detailed_messages"]),
        preferred_channel=patient["preferred_channel"] or "",
    )
    return form


def _edit_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """What was typed, as the page shows it again."""
    kept: dict[str, Any] = {k: form.get(k, "").strip() for k in EDIT_LABELS if k not in ("indications",)}
    kept["timezone"] = names.zone_from_form(form)
    kept["indications"] = form.getlist("indications")
    kept["detailed_messages"] = form.get("detailed_messages") == "1"
    return kept


def _changes(kept: dict[str, Any]) -> dict[str, Any]:
    """The form as update_patient takes it: a blank phone or email removes it."""
    data = dict(kept)
    for key in ("phone", "email", "preferred_channel"):
        data[key] = data[key] or None
    return data


@bp.get("/patients/<int:patient_id>/edit")
def edit(patient_id: int) -> Any:
    patient = _patient(patient_id)
    form, errors = common.kept_form(_key("edit", patient_id))
    return render_template(
        "staff/patients/edit.html",
        nav="patients",
        patient=patient,
        form=form or _current(patient),
        errors=errors,
        labels=EDIT_LABELS,
        zones=names.usual_zones(),
        languages=services().config.messages.languages,
        indications=v.INDICATIONS,
        preference_choices=PREFERENCE_CHOICES,
        sms_opt_out=consent.opt_outs(services(), patient_id)["opted_out"].get("sms", {}).get("care"),
    )


@bp.post("/patients/<int:patient_id>/edit")
def save(patient_id: int) -> Any:
    before = _patient(patient_id)
    kept = _edit_form(request.form)
    try:
        after = update_patient(services(), patient_id, _changes(kept), common.actor())
    except InvalidInput as exc:
        url = url_for(".edit", patient_id=patient_id)
        return common.back_with_errors(_key("edit", patient_id), kept, _with_examples(exc.errors), url)
    flash(f"Saved the details of {after['first_name']} {after['last_name']}." + _phone_note(before, after))
    return redirect(url_for("staff.patients.show", patient_id=patient_id))


def _phone_note(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What a new number does to texts, in a sentence for the flash."""
    if not after["phone"] or after["phone"] == before["phone"]:
        return ""
    if consent.opt_outs(services(), after["id"])["opted_out"].get("sms", {}).get("care"):
        return (
            " The number changed, but the patient had opted out of text messages: the opt-out stays, "
            "and no text goes to the new number until the patient texts START (or a re-consent is "
            "recorded, when they did not opt out by text)."
        )
    return " The number changed: the opt-in text is planned again, to the new number."


# --- re-consent --------------------------------------------------------------------------------


def _consent_form(form: MultiDict[str, str]) -> dict[str, Any]:
    return {
        "channel": form.get("channel", ""),
        "purposes": form.getlist("purposes"),
        "how": form.get("how", ""),
        "given_at": form.get("given_at", "").strip(),
        "note": form.get("note", "").strip(),
        "close_task": form.get("close_task") == "1",
    }


def _reconsent_data(kept: dict[str, Any]) -> dict[str, Any]:
    """The form as record_reconsent takes it: blanks left out (no time given: now)."""
    data = {k: val for k, val in kept.items() if val not in ("", None)}
    data["purposes"] = kept["purposes"]
    data["close_task"] = kept["close_task"]
    return data


@bp.get("/patients/<int:patient_id>/consent")
def consent_form(patient_id: int) -> Any:
    app = services()
    patient = _patient(patient_id)
    state = consent.opt_outs(app, patient_id)
    form, errors = common.kept_form(_key("consent", patient_id))
    if not form:
        # The first channel staff may turn back on (none ticked when only the patient can).
        chosen = next(
            (c for c, ps in state["opted_out"].items() if not any(o["patient_only"] for o in ps.values())), ""
        )
        form = {
            "channel": chosen,
            "purposes": ["care", "education"],
            "given_at": app.clock().astimezone(app.clinic_tz).strftime(v.FORM_TIME),
            "close_task": state["open_task"] is not None,
        }
    return render_template(
        "staff/patients/consent.html",
        nav="patients",
        patient=patient,
        form=form,
        errors=errors,
        labels=CONSENT_LABELS,
        how_choices=HOW,
        now_local=app.clock().astimezone(app.clinic_tz).strftime(v.FORM_TIME),
        **state,
    )


@bp.post("/patients/<int:patient_id>/consent")
def record_consent(patient_id: int) -> Any:
    kept = _consent_form(request.form)
    try:
        done = consent.record_reconsent(services(), patient_id, _reconsent_data(kept), common.actor())
    except InvalidInput as exc:
        url = url_for(".consent_form", patient_id=patient_id)
        return common.back_with_errors(_key("consent", patient_id), kept, exc.errors, url)
    flash(_recorded_note(done))
    return redirect(url_for("staff.patients.show", patient_id=patient_id))


def _recorded_note(done: dict[str, Any]) -> str:
    which = " and ".join({"care": "care", "education": "education"}[p] for p in done["purposes"])
    note = (
        f"Recorded: the patient agreed again to {names.channel_name(done['channel']).lower()}s "
        f"({which} messages), {HOW[done['how']].lower()}."
    )
    if done["revived"]:
        note += f" {done['revived']} skipped messages are planned again."
    if done["opt_in"] == "planned":
        note += " The opt-in text is planned."
    if done["tasks_closed"]:
        note += " The task to call the patient is done."
    return note
