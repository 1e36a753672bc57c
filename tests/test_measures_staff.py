"""Questionnaires where staff and other systems read them, on SQLite and PostgreSQL: the patient
page's chart (scores, severity bands, sessions S1..S4), its table and the last answers as the
patient read them, in a bounded number of queries; Today's new concerning results; the API's
series and the FHIR R4 QuestionnaireResponse export (parsed with fhir.resources); and the
request a measure step sends when no secret key can sign a link (call the clinic)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import event, select

from service.db.tables import measure_responses
from service.domain.instruments import PHQ9
from service.web import create_app
from tests.helpers import API_TOKEN, book, enrol, make_config, make_services
from tests.reply_helpers import EXTRA
from tests.test_measures import LINK, form_for, measure_link, send_step

from .staff_helpers import ADMIN, signed_in
from .staff_helpers import staff_services as build_staff

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def clinic(db_url, clock):
    app = build_staff(db_url, clock, extra=EXTRA)
    flask_app = create_app(app.config, services=app)
    # Signed in afresh at each look: the clock moves days between the questionnaires.
    yield app, flask_app, lambda: signed_in(flask_app, ADMIN)
    app.engine.dispose()


@contextmanager
def counting(app: Any) -> Iterator[list[str]]:
    """The SQL statements run while inside (on the writer's and the reader's engines)."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    engines = {id(e): e for e in (app.engine, app.reader)}.values()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)


def two_phq9(app: Any, flask_app: Any, clock: Any, patient: dict[str, Any]) -> Any:
    """Four sessions booked; PHQ-9 answered before session 1 (total 4) and before session 4
    (total 18, item 9 at 2): through the links the messages carried, as a patient would."""
    for day in (9, 12, 16, 19):
        book(app, patient["id"], f"2027-03-{day:02d}T11:00")
    client = flask_app.test_client()
    first = measure_link(app, clock, patient, "measure_phq9_pre1")
    assert client.post(first, data=form_for(9, 0, item1=3, item2=1)).status_code == 200
    yield "first"
    second = measure_link(app, clock, patient, "measure_phq9_pre4")
    assert client.post(second, data=form_for(9, 2)).status_code == 200


def complete_both(app: Any, flask_app: Any, clock: Any, patient: dict[str, Any]) -> None:
    for _ in two_phq9(app, flask_app, clock, patient):
        pass


def section(html: str, id_: str) -> str:
    start = html.index(f'<section aria-labelledby="{id_}"')
    return html[start : html.index("</section>", start)]


def test_the_patient_page_charts_each_score_with_its_band_and_the_sessions_and_shows_the_last_answers(
    clinic, clock
):
    app, flask_app, staff = clinic
    patient = enrol(app, language="es")
    steps = two_phq9(app, flask_app, clock, patient)
    next(steps)
    reader = staff()
    reader.get("/staff/today")  # the CSRF token and session cookie settled before counting
    with counting(app) as once:
        assert reader.get(f"/staff/patients/{patient['id']}").status_code == 200
    next(steps, None)
    reader = staff()
    reader.get("/staff/today")
    with counting(app) as twice:
        r = reader.get(f"/staff/patients/{patient['id']}")
    assert r.status_code == 200
    assert len(twice) == len(once)  # one more questionnaire, no more queries

    part = section(r.text, "measures-title")
    svg = re.search(r'<svg id="chart-phq9" role="img" aria-label="([^"]+)".*?</svg>', part, re.S)
    assert svg, part
    label = svg.group(1)
    assert re.search(r"4 \(minimal\) on .+; 18 \(moderately severe\) on ", label), label
    assert all(f"S{n} on " in label for n in (1, 2, 3, 4)), label
    drawn = re.findall(r"<text[^>]*>([^<]+)</text>", svg.group(0))
    assert {"4", "18", "S1", "S2", "S3", "S4"} <= set(drawn), drawn
    for band in ("minimal 0–4", "mild 5–9", "moderate 10–14", "moderately severe 15–19", "severe 20–27"):
        assert band in drawn
    assert svg.group(0).count("<circle") == 2

    rows = re.findall(r"<tr>\s*(<td.*?)</tr>", part, re.S)
    assert len(rows) == 2
    cells = re.findall(r"<td[^>]*>", part)
    assert cells and all("data-label=" in c for c in cells)
    assert "18 of 27" in part and "moderately severe" in part and "above 0" in part

    details = part[part.index("<details") : part.index("</details>")]
    assert 'lang="es"' in details
    assert "Poco interés o placer en hacer cosas" in details
    assert details.count("Más de la mitad de los días") == 9  # each item answered 2 the last time
    assert "Pensamientos de que estaría mejor muerto(a)" in details


def test_today_lists_a_new_concerning_result_and_not_a_reassuring_one(clinic, clock):
    app, flask_app, staff = clinic
    patient = enrol(app, first_name="Ana", last_name="Ruiz")
    steps = two_phq9(app, flask_app, clock, patient)
    next(steps)
    quiet = section(staff().get("/staff/today").text, "measures-heading")
    assert "Ana Ruiz" not in quiet and "No concerning questionnaire result" in quiet  # 4, minimal
    next(steps, None)
    part = section(staff().get("/staff/today").text, "measures-heading")
    assert f'href="/staff/patients/{patient["id"]}#questionnaires">Ana Ruiz</a>' in part
    assert "PHQ-9" in part and "18 of 27, moderately severe" in part
    assert "thoughts of self-harm (item 9 above 0)" in part and "worse than last time (task open)" in part
    clock.advance(timedelta(days=8))  # older than a week: gone
    assert "Ana Ruiz" not in section(staff().get("/staff/today").text, "measures-heading")


def test_the_api_returns_the_series_and_404_for_an_unknown_patient(clinic, clock):
    app, flask_app, _ = clinic
    patient = enrol(app)
    complete_both(app, flask_app, clock, patient)
    api = flask_app.test_client()
    r = api.get(f"/api/v1/patients/{patient['id']}/measures", headers=AUTH)
    assert r.status_code == 200
    got = [(m["instrument"], m["total"], m["band"], m["item9"]) for m in r.json]
    assert got == [("phq9", 4, "minimal", False), ("phq9", 18, "moderately severe", True)]
    assert r.json[0]["completed_at"] < r.json[1]["completed_at"]
    assert api.get(f"/api/v1/patients/{patient['id']}/measures").status_code == 401
    missing = api.get("/api/v1/patients/999999/measures", headers=AUTH)
    assert missing.status_code == 404 and missing.json["error"] == "not-found"


def test_the_fhir_export_parses_and_carries_every_item_and_answer(clinic, clock):
    app, flask_app, _ = clinic
    patient = enrol(app, language="es", external_ref="MRN-1042")
    other = enrol(app, first_name="Otra", phone="+1 (202) 555-0199", email="otra@example.org")
    complete_both(app, flask_app, clock, patient)
    api = flask_app.test_client()
    series = api.get(f"/api/v1/patients/{patient['id']}/measures", headers=AUTH).json
    last = series[-1]["id"]
    r = api.get(f"/api/v1/patients/{patient['id']}/measures/{last}/fhir", headers=AUTH)
    assert r.status_code == 200 and r.mimetype == "application/fhir+json"
    resource = QuestionnaireResponse.model_validate(r.json)
    assert resource.status == "completed"
    assert resource.questionnaire == "http://loinc.org/q/44249-1"
    assert resource.subject.identifier.value == "MRN-1042"
    with app.reader.connect() as conn:
        row = conn.execute(select(measure_responses).where(measure_responses.c.id == last)).mappings().one()
    assert resource.authored.isoformat().replace("+00:00", "") == row["completed_at"].isoformat().replace(
        "+00:00", ""
    )
    assert [i.linkId for i in resource.item] == [str(n) for n in range(1, 10)]
    assert [i.text for i in resource.item] == list(PHQ9.items["es"])
    codings = [i.answer[0].valueCoding for i in resource.item]
    assert [(c.code, c.display) for c in codings] == [("2", "Más de la mitad de los días")] * 9
    # another patient's response, or none, is not found
    assert api.get(f"/api/v1/patients/{other['id']}/measures/{last}/fhir", headers=AUTH).status_code == 404
    assert api.get(f"/api/v1/patients/{patient['id']}/measures/999999/fhir", headers=AUTH).status_code == 404


def test_an_unfinished_questionnaire_exports_as_in_progress(clinic, clock):
    app, flask_app, _ = clinic
    patient = enrol(app)
    book(app, patient["id"], "2027-03-09T11:00")
    path = measure_link(app, clock, patient)
    api = flask_app.test_client()
    api.post(path, data={"item1": "1", "item2": "3"})
    with app.reader.connect() as conn:
        rid = conn.execute(select(measure_responses.c.id)).scalar_one()
    r = api.get(f"/api/v1/patients/{patient['id']}/measures/{rid}/fhir", headers=AUTH)
    resource = QuestionnaireResponse.model_validate(r.json)
    assert resource.status == "in-progress"
    assert resource.subject.reference == f"Patient/{patient['id']}"
    answered = {i.linkId: i.answer[0].valueCoding.display for i in resource.item if i.answer}
    assert answered == {"1": "Several days", "2": "Nearly every day"}
    assert len(resource.item) == 9
    assert api.get(f"/api/v1/patients/{patient['id']}/measures", headers=AUTH).json == []


def test_without_a_secret_key_the_measure_messages_ask_the_patient_to_call(db_url, clock):
    config = make_config(db_url, extra=EXTRA)
    assert not config.secrets.secret_key
    app = make_services(db_url, clock, config=config)
    try:
        patient = enrol(app)
        book(app, patient["id"], "2027-03-09T11:00")
        sent = send_step(app, clock, "measure_phq9_pre1", patient["id"])
    finally:
        app.engine.dispose()
    phone = app.config.clinic.phone
    by_channel = {m["channel"]: m for m in sent}
    assert sorted(by_channel) == ["email", "sms"]
    assert "Please call" in by_channel["sms"]["body"]
    assert "Please call us" in by_channel["email"]["body"] and "Please call us" in by_channel["email"]["html"]
    for m in sent:
        assert not LINK.findall(m["body"] + (m["html"] or "")) and "/q/" not in m["body"]
    assert phone and all(_digits(phone)[-10:] in _digits(m["body"]) for m in sent)  # written as dialled


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)
