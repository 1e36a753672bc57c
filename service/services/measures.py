"""Questionnaires sent by a measure step: the signed link, the answers it records, the score.

A measure step's SMS and email carry one short link (`measure_link`), signed with
INTERLUDE_SECRET_KEY under its own salt; it names the message that carried it and when it stops
working ([measures] link_days after sending). Opening it (GET) shows the form and records
nothing: link scanners open every link. Each submit (POST) saves the items answered so far, so
a patient can stop and come back; the last one scores the questionnaire. PHQ-9 item 9 above 0
raises an escalation at once (paging the on-call clinician), and a PHQ-9 total
[measures] worsening_points above the previous one opens a staff task.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, select, update

from ..db.tables import measure_responses, outbox, patients
from ..db.upsert import insert_if_absent
from ..domain.instruments import (
    INSTRUMENTS,
    SAFETY_FLAG,
    Instrument,
    MeasureError,
    check_answer,
    flags_of,
    score,
    worsened,
)
from ..domain.measure_fhir import questionnaire_response
from ..runtime import Interlude
from .errors import NotFound
from .patients import get_patient
from .replies.checkins import step_of
from .replies.escalations import raise_escalation
from .tasks import open_task

log = logging.getLogger("interlude.measures")

_SALT = "interlude.measure-link.v1"
PATH = "/q/"
TOKEN_MAX = 120  # longer is not one of ours: never parsed
ESCALATION_KIND = "questionnaire"
ESCALATION_CATEGORY = "questionnaire-item9"
WORSENING_TASK = "measure-worsening"
# The instrument whose worsening opens a staff task ([measures] worsening_points).
WORSENING_INSTRUMENT = "phq9"


def _signer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def make_token(secret_key: str, outbox_id: int, expires_at: datetime) -> str:
    # A list, not a dict: the token goes in an SMS and every character counts.
    return str(_signer(secret_key).dumps([outbox_id, int(expires_at.timestamp())]))


def read_token(secret_key: str | None, token: str) -> tuple[int, datetime] | None:
    """(outbox id, expiry) of a token of ours; None when forged, damaged or another kind."""
    if not secret_key or len(token) > TOKEN_MAX:
        return None
    try:
        value = _signer(secret_key).loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        return None
    return value[0], datetime.fromtimestamp(value[1], UTC)


def link_for(app: Interlude, row: Mapping[Any, Any], now: datetime) -> str | None:
    """The `measure_link` of a message of a measure step to a patient, sent now; None for any
    other message, or when no secret key signs links."""
    secret_key = app.config.secrets.secret_key
    if not secret_key or row["audience"] != "patient":
        return None
    step = step_of(app, row["schedule"], row["step_id"])
    if step is None or step.measure is None:
        return None
    expires_at = now + timedelta(days=app.config.measures.link_days)
    base = app.config.web.public_base_url.rstrip("/")
    return f"{base}{PATH}{make_token(secret_key, int(row['id']), expires_at)}"


# --- using a link --------------------------------------------------------------------------------


@dataclass
class Page:
    """What a link shows. status: "open" (the form, with the answers saved so far), "saved"
    (some answers saved, more to go), "completed" (scored now or before), "expired", "invalid"
    (not ours, damaged, or for a message that is no questionnaire). `errors` name bad fields."""

    status: str
    language: str = "en"
    instrument: Instrument | None = None
    answers: dict[int, int] = field(default_factory=dict)
    total: int | None = None
    band: str | None = None
    flags: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)


@dataclass
class _Found:
    outbox_row: Mapping[Any, Any]
    patient: Mapping[Any, Any]
    instrument: Instrument
    link_key: str
    expires_at: datetime


def _resolve(app: Interlude, conn: Connection, token: str) -> _Found | Page:
    default = app.config.messages.default_language
    claim = read_token(app.config.secrets.secret_key, token)
    if claim is None:
        return Page("invalid", default)
    outbox_id, expires_at = claim
    row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).mappings().first()
    if row is None or row["patient_id"] is None:
        return Page("invalid", default)
    patient = conn.execute(select(patients).where(patients.c.id == row["patient_id"])).mappings().first()
    step = step_of(app, row["schedule"], row["step_id"])
    if patient is None or step is None or step.measure not in INSTRUMENTS:
        return Page("invalid", default)
    instrument = INSTRUMENTS[step.measure]
    key = f"{patient['id']}:{row['schedule']}:{row['step_id']}:{row['session_id'] or 0}:{row['occurrence']}"
    return _Found(row, patient, instrument, key, expires_at)


def _saved(conn: Connection, key: str) -> Mapping[Any, Any] | None:
    query = select(measure_responses).where(measure_responses.c.link_key == key)
    return conn.execute(query).mappings().first()


def _answers(saved: Mapping[Any, Any] | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in (saved["answers"] if saved else {}).items()}


def _page_of(found: _Found, saved: Mapping[Any, Any] | None, status: str) -> Page:
    # The page speaks the patient's language; the items are in it when the instrument has it.
    language = found.patient["language"] if found.patient["language"] in ("en", "es") else "en"
    page = Page(status, language, found.instrument, _answers(saved))
    if saved is not None:
        page.total, page.band = saved["score"], saved["band"]
        page.flags = tuple(saved["flags"] or ())
    return page


def look(app: Interlude, token: str, now: datetime | None = None) -> Page:
    """The questionnaire a link opens, with the answers saved so far; changes nothing."""
    now = now or app.clock()
    with app.reader.connect() as conn:
        found = _resolve(app, conn, token)
        if isinstance(found, Page):
            return found
        saved = _saved(conn, found.link_key)
    return _closed(found, saved, now) or _page_of(found, saved, "open")


def _closed(found: _Found, saved: Mapping[Any, Any] | None, now: datetime) -> Page | None:
    """The page of a questionnaire that takes no more answers (completed, or its link expired);
    None while it is open."""
    if saved is not None and saved["completed_at"] is not None:
        return _page_of(found, saved, "completed")
    if found.expires_at <= now:
        return _page_of(found, None, "expired")
    return None


def parse_form(instrument: Instrument, form: Mapping[str, str]) -> tuple[dict[int, int], list[str]]:
    """The answers in a submitted form ("item1" = "0".."3"), and the fields that are not valid."""
    answers: dict[int, int] = {}
    errors = []
    for n in range(1, len(instrument.items["en"]) + 1):
        raw = form.get(f"item{n}")
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
            check_answer(instrument, n, value)
        except (ValueError, MeasureError):
            errors.append(f"item{n}")
            continue
        answers[n] = value
    return answers, errors


def submit(app: Interlude, token: str, form: Mapping[str, str], now: datetime | None = None) -> Page:
    """Save the answers in `form` (added to those saved before); score when all are in."""
    now = now or app.clock()
    with app.engine.begin() as conn:
        found = _resolve(app, conn, token)
        if isinstance(found, Page):
            return found
        saved = _saved(conn, found.link_key)
        closed = _closed(found, saved, now)
        if closed is not None:
            return closed
        given, errors = parse_form(found.instrument, form)
        saved = _save(conn, found, saved, given, now)
        answers = _answers(saved)
        flags = flags_of(found.instrument, answers)
        values: dict[str, Any] = {"flags": list(flags)}
        if flags and saved["escalation_id"] is None:
            values["escalation_id"] = _escalate(app, conn, found, now)
        complete = len(answers) == len(found.instrument.items["en"])
        if complete and not errors:
            result = score(found.instrument, answers)
            values.update(completed_at=now, score=result.total, band=result.band)
        this = measure_responses.c.id == saved["id"]
        conn.execute(update(measure_responses).where(this).values(**values))
        if "score" in values:
            _check_worsening(app, conn, found, saved["id"], values["score"], now)
        saved = conn.execute(select(measure_responses).where(this)).mappings().one()
    status = "completed" if saved["completed_at"] is not None else "saved"
    page = _page_of(found, saved, status)
    page.errors = errors
    log.info(
        "questionnaire answers saved",
        extra={"response_id": saved["id"], "patient_id": found.patient["id"], "status": status},
    )
    return page


def _save(
    conn: Connection, found: _Found, saved: Mapping[Any, Any] | None, given: dict[int, int], now: datetime
) -> Mapping[Any, Any]:
    if saved is None:
        insert_if_absent(
            conn,
            measure_responses,
            {
                "patient_id": found.patient["id"],
                "session_id": found.outbox_row["session_id"],
                "outbox_id": found.outbox_row["id"],
                "instrument": found.instrument.key,
                "link_key": found.link_key,
                "language": found.instrument.language_for(found.patient["language"]),
                "answers": {},
                "started_at": now,
                "updated_at": now,
            },
            "link_key",
        )
        saved = _saved(conn, found.link_key)
        assert saved is not None
    answers = {**_answers(saved), **given}
    conn.execute(
        update(measure_responses)
        .where(measure_responses.c.id == saved["id"])
        .values(answers={str(k): v for k, v in sorted(answers.items())}, updated_at=now)
    )
    fresh = _saved(conn, found.link_key)
    assert fresh is not None
    return fresh


def _escalate(app: Interlude, conn: Connection, found: _Found, now: datetime) -> int:
    raised = raise_escalation(
        app,
        conn,
        patient=found.patient,
        kind=ESCALATION_KIND,
        now=now,
        session_id=found.outbox_row["session_id"],
        category=ESCALATION_CATEGORY,
    )
    log.warning(
        "questionnaire safety item answered above 0",
        extra={"patient_id": found.patient["id"], "escalation_id": raised["id"]},
    )
    return int(raised["id"])


def _check_worsening(
    app: Interlude, conn: Connection, found: _Found, response_id: int, total: int, now: datetime
) -> None:
    if found.instrument.key != WORSENING_INSTRUMENT:
        return
    previous = conn.execute(
        select(measure_responses.c.score)
        .where(
            measure_responses.c.patient_id == found.patient["id"],
            measure_responses.c.instrument == found.instrument.key,
            measure_responses.c.completed_at.is_not(None),
            measure_responses.c.id != response_id,
        )
        .order_by(measure_responses.c.completed_at.desc(), measure_responses.c.id.desc())
        .limit(1)
    ).scalar()
    points = app.config.measures.worsening_points
    if worsened(found.instrument, previous, total, points):
        open_task(
            conn,
            key=f"{WORSENING_TASK}:{response_id}",
            kind=WORSENING_TASK,
            now=now,
            detail=f"{found.instrument.name} rose from {previous} to {total}",
            patient_id=found.patient["id"],
            session_id=found.outbox_row["session_id"],
        )


# --- reading -------------------------------------------------------------------------------------


def completed(conn: Connection, patient_id: int) -> list[Mapping[Any, Any]]:
    """A patient's scored responses, oldest first (one query)."""
    query = (
        select(measure_responses)
        .where(measure_responses.c.patient_id == patient_id, measure_responses.c.completed_at.is_not(None))
        .order_by(measure_responses.c.completed_at, measure_responses.c.id)
    )
    return list(conn.execute(query).mappings())


def result_of(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One scored response as the staff chart and the API read it."""
    return {
        "id": row["id"],
        "completed_at": row["completed_at"],
        "score": row["score"],
        "band": row["band"],
        "flags": list(row["flags"] or []),
        "session_id": row["session_id"],
        "language": row["language"],
        "answers": _answers(row),
    }


def measures_of(app: Interlude, patient_id: int) -> dict[str, list[dict[str, Any]]]:
    """Each instrument's completed scores of a patient, oldest first: {"phq9": [{"id",
    "completed_at", "score", "band", "flags", "session_id", "language", "answers"}, ...]} (for the
    staff chart and the API)."""
    with app.reader.connect() as conn:
        return by_instrument(completed(conn, patient_id))


def by_instrument(rows: list[Mapping[Any, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["instrument"], []).append(result_of(row))
    return found


def series(app: Interlude, patient_id: int) -> list[dict[str, Any]]:
    """The API's view: every scored response of the patient, oldest first, with its instrument,
    total, band and whether PHQ-9 item 9 was above 0. Raises NotFound for an unknown patient."""
    with app.reader.connect() as conn:
        get_patient(conn, patient_id)
        rows = completed(conn, patient_id)
    return [
        {
            "id": row["id"],
            "instrument": row["instrument"],
            "name": INSTRUMENTS[row["instrument"]].name,
            "completed_at": row["completed_at"].isoformat(),
            "total": row["score"],
            "band": row["band"],
            "item9": SAFETY_FLAG in (row["flags"] or []),
            "session_id": row["session_id"],
        }
        for row in rows
    ]


def fhir_response(app: Interlude, patient_id: int, response_id: int) -> dict[str, Any]:
    """One response of the patient (completed or in progress) as a FHIR R4 QuestionnaireResponse.
    Raises NotFound for an unknown patient, or a response that is not theirs."""
    with app.reader.connect() as conn:
        patient = get_patient(conn, patient_id)
        row = (
            conn.execute(
                select(measure_responses).where(
                    measure_responses.c.id == response_id, measure_responses.c.patient_id == patient_id
                )
            )
            .mappings()
            .first()
        )
    if row is None or row["instrument"] not in INSTRUMENTS:
        raise NotFound("questionnaire response", response_id)
    return questionnaire_response(
        INSTRUMENTS[row["instrument"]],
        response_id=row["id"],
        patient_id=patient_id,
        external_ref=patient["external_ref"],
        language=row["language"],
        answers=_answers(row),
        completed_at=row["completed_at"],
        updated_at=row["updated_at"],
    )
