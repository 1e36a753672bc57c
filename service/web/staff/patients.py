"""Patients: search, enrol, a patient's whole record, and booking or changing their sessions.

Booking and rescheduling show the messages they would plan before anything is saved: the form
posts with action "preview" (a dry run, nothing written), then "save" with the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

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
    "timezone",
    "language",
    "external_ref",
    "preferred_channel",
)
# "Education messages by": the choices of the new-patient form ("": the default rule).
PREFERENCE_CHOICES = (
    ("", "Default: email when there is an address, else text message"),
    ("sms", "Text message"),
    ("email", "Email"),
    ("both", "Both"),
)
_CHANNEL_WORDS = {"sms": "text message", "email": "email"}


def _local(zone: str) -> Callable[[datetime | None], str]:
    """Times in the patient's own zone (booking is done in it), with the zone's abbreviation."""
    return lambda instant: names.fmt(instant, "when", zone)


@cache
def _zones() -> list[str]:
    # Offered as suggestions; any IANA name is accepted and checked by the use case.
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV")))


def _readable(errors: dict[str, str]) -> dict[str, str]:
    # A form has no place for a UTC offset: ask for another time instead.
    return {k: e.replace("; give an offset", "; choose another time") for k, e in errors.items()}


# --- search and enrol --------------------------------------------------------------------------


def _index(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, code: int = 200) -> Any:
    query = request.args.get("q", "")[:100]
    app = services()
    page = render_template(
        "staff/patients/index.html",
        nav="patients",
        q=query,
        results=patient_pages.search(app, query),
        form=form
        or {"timezone": app.config.clinic.timezone, "language": app.config.messages.default_language},
        errors=errors or {},
        languages=app.config.messages.languages,
        indications=v.INDICATIONS,
        zones=_zones(),
        preference_choices=PREFERENCE_CHOICES,
    )
    return page, code


@bp.get("/patients")
def index() -> Any:
    return _index()


def _patient_form(form: MultiDict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: form.get(k, "").strip() for k in PATIENT_TEXT}
    data = {k: val for k, val in data.items() if val}
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
        return _index(data, exc.errors, 400)
    flash(f"Enrolled {patient['first_name']} {patient['last_name']}.")
    return redirect(url_for("staff.patients.show", patient_id=patient["id"]))


# --- one patient -------------------------------------------------------------------------------


def education_by(patient: Mapping[str, Any]) -> str:
    """How education messages reach the patient, in plain words: the channels they go by, and
    whether that is the default or a choice the patient cannot receive."""
    going = patient_facts(patient).preferred
    words = " and ".join(_CHANNEL_WORDS[c] for c in v.CHANNELS if c in going) or "no channel"
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
    view = patient_pages.patient_page(services(), patient_id)
    zone = view["patient"]["timezone"]
    return render_template(
        "staff/patients/show.html",
        nav="patients",
        local=_local(zone),
        education_by=education_by(view["patient"]),
        **view,
    )


# --- book --------------------------------------------------------------------------------------


def _session_form(form: MultiDict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The form's values as the use case takes them: blanks left out, whole numbers as ints."""
    data: dict[str, Any] = {}
    for key in fields:
        raw = form.get(key, "").strip()
        if raw:
            data[key] = int(raw) if key in ("duration_minutes", "number") and raw.isdigit() else raw
    return data


@bp.route("/patients/<int:patient_id>/sessions/new", methods=["GET", "POST"])
def book(patient_id: int) -> Any:
    app = services()
    patient = patient_pages.session_owner(app, patient_id)
    page: dict[str, Any] = {"patient": patient, "form": {}, "errors": {}, "preview": None}
    code = 200
    if request.method == "POST":
        data = _session_form(request.form, ("start", "modality", "duration_minutes", "number", "schedule"))
        force = _forced(request.form)
        page["form"] = {**data, **({"force": "on"} if force else {})}
        try:
            if request.form.get("action") == "save":
                booked = sessions.book_session(
                    app, {**data, "patient_id": patient_id, "force": force}, common.actor()
                )
                planned = booked["messages"]["created"]
                flash(f"Session {booked['number']} booked: {planned} messages planned.")
                return redirect(url_for("staff.patients.show", patient_id=patient_id) + "#messages")
            page["preview"] = patient_pages.preview_booking(app, patient_id, data)
        except InvalidInput as exc:
            page["errors"], code = _readable(exc.errors), 400
        except sessions.Overlap as exc:
            page["errors"], code = {"start": _overlap_text(exc, patient)}, 409
    return render_template(
        "staff/patients/book.html",
        nav="patients",
        local=_local(patient["timezone"]),
        modalities=v.MODALITIES,
        schedules=sorted(app.schedules),
        **page,
    ), code


def _forced(form: MultiDict[str, str]) -> bool:
    """The "book anyway" box: a deliberate double booking."""
    return form.get("force", "") == "on"


def _overlap_text(exc: sessions.Overlap, patient: Any) -> str:
    other = exc.other
    when = _local(patient["timezone"])(other.start_at)
    return (
        f"This time overlaps another booked session of this patient (session id {other.id}, {when}, "
        f"{other.duration_minutes} min). Choose another time, or tick the box to book both anyway."
    )


# --- change a session --------------------------------------------------------------------------


def _conflict(exc: Conflict, patient_id: int) -> Any:
    back = url_for("staff.patients.show", patient_id=patient_id)
    return render_template("staff/patients/conflict.html", nav="patients", message=str(exc), back=back), 409


@bp.route("/sessions/<int:session_id>/reschedule", methods=["GET", "POST"])
def reschedule(session_id: int) -> Any:
    app = services()
    summary = patient_pages.session_summary(app, session_id)
    patient = summary["patient"]
    local = _local(patient["timezone"])
    start = summary["session"]["start_at"].astimezone(ZoneInfo(patient["timezone"]))
    page: dict[str, Any] = {
        "form": {"start": start.strftime("%Y-%m-%dT%H:%M")},
        "errors": {},
        "preview": None,
    }
    code = 200
    if request.method == "POST":
        data = _session_form(request.form, ("start", "duration_minutes", "reason"))
        force = _forced(request.form)
        page["form"] = {**data, **({"force": "on"} if force else {})}
        try:
            if request.form.get("action") == "save":
                moved = sessions.reschedule_session(app, session_id, {**data, "force": force}, common.actor())
                flash(f"Session {moved['number']} moved to {local(datetime.fromisoformat(moved['start']))}.")
                return redirect(url_for("staff.patients.show", patient_id=patient["id"]) + "#messages")
            page["preview"] = patient_pages.preview_reschedule(app, session_id, data)
        except InvalidInput as exc:
            page["errors"], code = _readable(exc.errors), 400
        except sessions.Overlap as exc:
            page["errors"], code = {"start": _overlap_text(exc, patient)}, 409
        except Conflict as exc:
            return _conflict(exc, patient["id"])
    return render_template(
        "staff/patients/reschedule.html", nav="patients", local=local, **summary, **page
    ), code


@bp.route("/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
def cancel(session_id: int) -> Any:
    app = services()
    summary = patient_pages.session_summary(app, session_id)
    patient = summary["patient"]
    errors: dict[str, str] = {}
    reason = request.form.get("reason", "").strip()
    if request.method == "POST":
        try:
            done = sessions.cancel_session(app, session_id, {"reason": reason or None}, common.actor())
        except InvalidInput as exc:
            errors = exc.errors
        except Conflict as exc:
            return _conflict(exc, patient["id"])
        else:
            cancelled = done["messages"]["cancelled"]
            flash(f"Session {done['number']} cancelled; {cancelled} pending messages cancelled.")
            return redirect(url_for("staff.patients.show", patient_id=patient["id"]) + "#messages")
    return render_template(
        "staff/patients/cancel.html",
        nav="patients",
        local=_local(patient["timezone"]),
        reason=reason,
        errors=errors,
        **summary,
    ), (400 if errors else 200)


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
