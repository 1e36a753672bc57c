"""Patients: search, enrol, a patient's whole record, and booking or changing their sessions.

Booking and rescheduling show the messages they would plan before anything is saved. The
preview is a GET with the form's values in the query string (?action=preview&start=...): it
writes nothing, so a reload, the back button or a bookmark only runs the dry run again. Saving is
the one POST. Every form that fails keeps what was typed and what is wrong and answers 303 to its
page, which shows them once (Post/Redirect/Get): a reload never sends a form again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from ...domain import measure_chart
from ...services import sessions
from ...services import validation as v
from ...services.errors import Conflict, InvalidInput
from ...services.outbox.planning import patient_facts
from ...services.patients import create_patient
from ...services.views import patient_pages
from ..access import services
from . import common, names

bp = Blueprint("patients", __name__)

PATIENT_TEXT = (
    "first_name",
    "last_name",
    "phone",
    "email",
    "language",
    "external_ref",
    "preferred_channel",
)
# "Education messages by": the choices of the new-patient form ("": the default rule).
PREFERENCE_CHOICES = (
    ("", "Default: email when there is an address, else text message"),
    ("sms", names.CHANNEL_NAMES["sms"]),
    ("email", names.CHANNEL_NAMES["email"]),
    ("both", "Both"),
)
# The labels of the new-patient form's fields, for its error summary.
PATIENT_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Mobile phone",
    "email": "Email",
    "timezone": "Time zone",
    "language": "Language",
    "channels": "Channels",
    "preferred_channel": "Education messages by",
    "indications": "Indications",
    "external_ref": "EHR reference",
}
SESSION_LABELS = {
    "start": "Start",
    "modality": "Modality",
    "duration_minutes": "Duration in minutes",
    "number": "Session number",
    "schedule": "Schedule",
    "reason": "Reason",
    "force": "Book anyway",
}
# What a missing field needs, said on the page (the API says "required").
REQUIRED = {
    "first_name": "type the patient's first name, e.g. Maria",
    "last_name": "type the patient's last name, e.g. Lopez",
    "start": "choose a date and time, e.g. March 13, 2027 at 9:00 AM",
    "modality": "choose one from the list, e.g. IV ketamine",
}


def _local(zone: str) -> Callable[[datetime | None], str]:
    """Times in the patient's own zone (booking is done in it), with the zone's abbreviation."""
    return lambda instant: names.fmt(instant, "when", zone)


@cache
def _zones() -> list[str]:
    # The "Other" field's suggestions; any canonical IANA name is accepted by the use case.
    return sorted(v.canonical_zones())


def _readable(errors: Mapping[str, str]) -> dict[str, str]:
    """The use case's messages as a form says them: a form has no place for a UTC offset (ask
    for another time), offers a list of zones, and says what a missing field needs."""
    return {key: _page_words(key, message) for key, message in errors.items()}


def _page_words(key: str, message: str) -> str:
    message = re.sub(re.escape(v.OFFSET_HINT) + ".*$", "; choose another time, e.g. an hour later", message)
    message = message.replace(
        v.ZONE_HINT, "choose one from the list, or type a name such as America/New_York"
    )
    if message == "required":
        message = f"required: {REQUIRED.get(key, 'fill it in')}"
    return message


# --- search and enrol --------------------------------------------------------------------------

NEW_PATIENT = "patients:new"


@bp.get("/patients")
def index() -> Any:
    """Search, and the new-patient form (with what was typed and what is wrong, once, after a
    failed submit)."""
    query = request.args.get("q", "")[:100]
    app = services()
    form, errors = common.kept_form(NEW_PATIENT)
    defaults = {"timezone": app.config.clinic.timezone, "language": app.config.messages.default_language}
    return render_template(
        "staff/patients/index.html",
        nav="patients",
        q=query,
        results=patient_pages.search(app, query),
        form=form or defaults,
        errors=errors,
        labels=PATIENT_LABELS,
        languages=app.config.messages.languages,
        indications=v.INDICATIONS,
        zones=names.usual_zones(),
        all_zones=_zones(),
        preference_choices=PREFERENCE_CHOICES,
    )


def _patient_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """The form's values as the use case takes them: blanks left out (the defaults apply), but a
    time zone asked for with "Other" and left blank is given, to be named as missing."""
    data: dict[str, Any] = {k: form.get(k, "").strip() for k in PATIENT_TEXT}
    data = {k: val for k, val in data.items() if val}
    zone = names.zone_from_form(form)
    if zone or form.get("timezone") == names.OTHER_ZONE:
        data["timezone"] = zone
    if form.getlist("channels"):
        data["channels"] = form.getlist("channels")
    data["indications"] = form.getlist("indications")
    data["detailed_messages"] = form.get("detailed_messages") == "1"
    return data


@bp.post("/patients/new")
def create() -> Any:
    data = _patient_form(request.form)
    try:
        patient = create_patient(services(), data, common.actor())
    except InvalidInput as exc:
        back = url_for("staff.patients.index")
        return common.back_with_errors(NEW_PATIENT, data, _readable(exc.errors), back)
    flash(f"Enrolled {patient['first_name']} {patient['last_name']}.")
    return redirect(url_for("staff.patients.show", patient_id=patient["id"]))


# --- one patient -------------------------------------------------------------------------------


def education_by(patient: Mapping[str, Any]) -> str:
    """How education messages reach the patient, in plain words: the channels they go by, and
    whether that is the default or a choice the patient cannot receive."""
    going = patient_facts(patient).preferred
    words = " and ".join(names.channel_name(c).lower() for c in v.CHANNELS if c in going) or "no channel"
    words = words[0].upper() + words[1:]
    chosen = patient["preferred_channel"]
    if chosen is None:
        return f"{words} (the default: email when there is an address, else text message)"
    if going != (frozenset(v.CHANNELS) if chosen == "both" else frozenset({chosen})):
        chose = dict(PREFERENCE_CHOICES)[chosen].lower()
        return f"{words} ({chose} was chosen, but the patient cannot receive it)"
    return words


@bp.get("/patients/<int:patient_id>")
def show(patient_id: int) -> Any:
    """The patient at a glance: what needs a person first, then the conversation, then the
    messages (skipped and cancelled ones with ?messages=all, the whole thread with ?thread=all:
    links, so the filters work without JavaScript)."""
    view = patient_pages.patient_page(
        services(),
        patient_id,
        all_messages=request.args.get("messages") == "all",
        whole_thread=request.args.get("thread") == "all",
    )
    zone = view["patient"]["timezone"]
    for measure in view["measures"]:
        measure["chart"] = _chart(measure)
    return render_template(
        "staff/patients/show.html",
        nav="patients",
        local=_local(zone),
        zone_name=dict(names.usual_zones()).get(zone, zone.replace("_", " ")),
        education_by=education_by(view["patient"]),
        **view,
    )


def _chart(measure: Mapping[str, Any]) -> measure_chart.Chart:
    """The questionnaire's chart, its dates written as the pages write a day."""
    results = [measure_chart.Result(r["completed_at"], r["score"], r["band"]) for r in measure["results"]]
    return measure_chart.chart(
        measure["instrument"], results, measure["sessions"], lambda at: names.fmt(at, "day")
    )


# --- book --------------------------------------------------------------------------------------

# What a booking's preview carries in its query string: the time and kind, never free text.
BOOK_FIELDS = ("start", "modality", "duration_minutes", "number", "schedule")
RESCHEDULE_FIELDS = ("start", "duration_minutes")


def _session_form(form: MultiDict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The form's values as the use case takes them: blanks left out, whole numbers as ints."""
    data: dict[str, Any] = {}
    for key in fields:
        raw = form.get(key, "").strip()
        if raw:
            data[key] = int(raw) if key in ("duration_minutes", "number") and raw.isdigit() else raw
    return data


def _preview_url(endpoint: str, values: Mapping[str, Any], **route: Any) -> str:
    """The page's preview of `values`: a GET, safe to reload."""
    return f"{url_for(endpoint, **route)}?{urlencode({'action': 'preview', **values})}#preview"


def _previewed(run: Callable[[], dict[str, Any]], errors: dict[str, str]) -> tuple[Any, dict[str, str], int]:
    """The preview of the query's values when asked for (?action=preview), with the errors kept
    from a failed save; a preview with bad values is 400 and names every one."""
    if request.args.get("action") != "preview":
        return None, errors, 200
    try:
        return run(), errors, 200
    except InvalidInput as exc:
        return None, {**_readable(exc.errors), **errors}, 400


@bp.get("/patients/<int:patient_id>/sessions/new")
def book(patient_id: int) -> Any:
    """The booking form and, with ?action=preview, the messages it would plan and any overlap
    with another booked session, before anything is saved."""
    app = services()
    patient = patient_pages.session_owner(app, patient_id)
    values = _session_form(request.args, BOOK_FIELDS)
    kept, errors = common.kept_form(f"book:{patient_id}")
    preview, errors, code = _previewed(lambda: patient_pages.preview_booking(app, patient_id, values), errors)
    return render_template(
        "staff/patients/book.html",
        nav="patients",
        local=_local(patient["timezone"]),
        modalities=v.MODALITIES,
        schedules=sorted(app.schedules),
        patient=patient,
        form={**values, **kept},
        errors=errors,
        labels=SESSION_LABELS,
        preview=preview,
    ), code


@bp.post("/patients/<int:patient_id>/sessions/new")
def book_save(patient_id: int) -> Any:
    """Book the previewed session. Refused without the "book anyway" box when it overlaps another
    booked session; any refusal goes back (303) to the preview, with the reason on top."""
    app = services()
    data = _session_form(request.form, BOOK_FIELDS)
    back = _preview_url("staff.patients.book", data, patient_id=patient_id)
    if request.form.get("action") == "preview":  # a page from before the preview was a GET
        return redirect(back, code=303)
    force = _forced(request.form)
    kept = {"force": "on"} if force else {}
    try:
        booked = sessions.book_session(
            app, {**data, "patient_id": patient_id, "force": force}, common.actor()
        )
    except InvalidInput as exc:
        return common.back_with_errors(f"book:{patient_id}", kept, _readable(exc.errors), back)
    except sessions.Overlap as exc:
        patient = patient_pages.session_owner(app, patient_id)
        return common.back_with_errors(f"book:{patient_id}", kept, _overlap_error(exc, patient), back)
    planned = booked["messages"]["created"]
    flash(f"Session {booked['number']} booked: {planned} messages planned.")
    return redirect(url_for("staff.patients.show", patient_id=patient_id) + "#messages")


def _forced(form: MultiDict[str, str]) -> bool:
    """The "book anyway" box: a deliberate double booking."""
    return form.get("force", "") == "on"


def _overlap_error(exc: sessions.Overlap, patient: Mapping[str, Any]) -> dict[str, str]:
    """The refusal of a double booking, on the box that allows it."""
    other = exc.other
    when = _local(patient["timezone"])(other.start_at)
    return {
        "force": (
            f"this time overlaps another booked session of this patient ({when}, "
            f"{other.duration_minutes} min): choose another time, or tick the box to keep both"
        )
    }


# --- change a session --------------------------------------------------------------------------


def _conflict(exc: Conflict, patient_id: int) -> Any:
    back = url_for("staff.patients.show", patient_id=patient_id)
    return render_template("staff/patients/conflict.html", nav="patients", message=str(exc), back=back), 409


@bp.get("/sessions/<int:session_id>/reschedule")
def reschedule(session_id: int) -> Any:
    """The new time, and with ?action=preview what moving the session does to its messages and
    any overlap; the reason and the "move anyway" box are in the saving form."""
    app = services()
    summary = patient_pages.session_summary(app, session_id)
    patient = summary["patient"]
    start = summary["session"]["start_at"].astimezone(ZoneInfo(patient["timezone"]))
    values = _session_form(request.args, RESCHEDULE_FIELDS)
    kept, errors = common.kept_form(f"reschedule:{session_id}")
    try:
        preview, errors, code = _previewed(
            lambda: patient_pages.preview_reschedule(app, session_id, values), errors
        )
    except Conflict as exc:
        return _conflict(exc, patient["id"])
    return render_template(
        "staff/patients/reschedule.html",
        nav="patients",
        local=_local(patient["timezone"]),
        form={"start": start.strftime(v.FORM_TIME), **values, **kept},
        errors=errors,
        labels=SESSION_LABELS,
        preview=preview,
        **summary,
    ), code


@bp.post("/sessions/<int:session_id>/reschedule")
def reschedule_save(session_id: int) -> Any:
    app = services()
    patient = patient_pages.session_summary(app, session_id)["patient"]
    data = _session_form(request.form, RESCHEDULE_FIELDS)
    back = _preview_url("staff.patients.reschedule", data, session_id=session_id)
    if request.form.get("action") == "preview":  # a page from before the preview was a GET
        return redirect(back, code=303)
    reason = request.form.get("reason", "").strip()
    force = _forced(request.form)
    kept = {"reason": reason, **({"force": "on"} if force else {})}
    change = {**data, "force": force, **({"reason": reason} if reason else {})}
    key = f"reschedule:{session_id}"
    try:
        moved = sessions.reschedule_session(app, session_id, change, common.actor())
    except InvalidInput as exc:
        return common.back_with_errors(key, kept, _readable(exc.errors), back)
    except sessions.Overlap as exc:
        return common.back_with_errors(key, kept, _overlap_error(exc, patient), back)
    except Conflict as exc:
        return _conflict(exc, patient["id"])
    when = _local(patient["timezone"])(datetime.fromisoformat(moved["start"]))
    flash(f"Session {moved['number']} moved to {when}.")
    return redirect(url_for("staff.patients.show", patient_id=patient["id"]) + "#messages")


@bp.get("/sessions/<int:session_id>/cancel")
def cancel(session_id: int) -> Any:
    """What cancelling would cancel, and the form (with the reason typed and its error, once,
    after a failed submit)."""
    summary = patient_pages.session_summary(services(), session_id)
    kept, errors = common.kept_form(f"cancel:{session_id}")
    return render_template(
        "staff/patients/cancel.html",
        nav="patients",
        local=_local(summary["patient"]["timezone"]),
        reason=kept.get("reason", ""),
        errors=errors,
        labels=SESSION_LABELS,
        **summary,
    )


@bp.post("/sessions/<int:session_id>/cancel")
def cancel_save(session_id: int) -> Any:
    app = services()
    patient = patient_pages.session_summary(app, session_id)["patient"]
    reason = request.form.get("reason", "").strip()
    try:
        done = sessions.cancel_session(app, session_id, {"reason": reason or None}, common.actor())
    except InvalidInput as exc:
        back = url_for("staff.patients.cancel", session_id=session_id)
        return common.back_with_errors(
            f"cancel:{session_id}", {"reason": reason}, _readable(exc.errors), back
        )
    except Conflict as exc:
        return _conflict(exc, patient["id"])
    cancelled = done["messages"]["cancelled"]
    flash(f"Session {done['number']} cancelled; {cancelled} pending messages cancelled.")
    return redirect(url_for("staff.patients.show", patient_id=patient["id"]) + "#messages")


def _status_change(session_id: int, change: Any, done_text: str) -> Any:
    app = services()
    patient_id = patient_pages.session_summary(app, session_id)["patient"]["id"]
    try:
        done = change(app, session_id, {}, common.actor())
    except Conflict as exc:
        return _conflict(exc, patient_id)
    flash(f"Session {done['number']} {done_text}.")
    return redirect(url_for("staff.patients.show", patient_id=patient_id))


@bp.post("/sessions/<int:session_id>/complete")
def complete(session_id: int) -> Any:
    return _status_change(session_id, sessions.complete_session, "marked completed")


@bp.post("/sessions/<int:session_id>/no-show")
def no_show(session_id: int) -> Any:
    return _status_change(session_id, sessions.no_show_session, "marked as a no-show")
