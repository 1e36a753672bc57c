"""A questionnaire response as a FHIR R4 QuestionnaireResponse (JSON), for export.

`questionnaire` is the instrument's canonical URL: LOINC's panel for it (PHQ-9 44249-1, GAD-7
69737-5, PCL-5 101697-1 "Post traumatic stress disorder checklist - civilian version DSM-5
[PCL-5]", https://loinc.org/101697-1), in the form LOINC's own FHIR Questionnaires use
(http://loinc.org/q/<code>). Each item's linkId is its number and its text the item's words; each
answer is a valueCoding whose code is the option's score (0..3 or 0..4; no code system is named:
the score is the instrument's own) and whose display is the option's words, in the language the
patient answered in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .instruments import Instrument

LOINC_PANELS = {"phq9": "44249-1", "gad7": "69737-5", "pcl5": "101697-1"}
LOINC_Q = "http://loinc.org/q/"


def canonical(instrument: Instrument) -> str:
    return LOINC_Q + LOINC_PANELS[instrument.key]


def questionnaire_response(
    instrument: Instrument,
    *,
    response_id: int,
    patient_id: int,
    external_ref: str | None,
    language: str,
    answers: Mapping[int, int],
    completed_at: datetime | None,
    updated_at: datetime,
) -> dict[str, Any]:
    """The QuestionnaireResponse of one response: completed when scored, else in progress
    (`authored` is then the time of the last answer saved). The subject is the patient by their
    external reference when they have one, else by this service's id."""
    lang = instrument.language_for(language)
    subject: dict[str, Any] = {"reference": f"Patient/{patient_id}"}
    if external_ref:
        subject = {"identifier": {"value": external_ref}, "display": f"Patient {external_ref}"}
    items = []
    for n, text in enumerate(instrument.items[lang], start=1):
        item: dict[str, Any] = {"linkId": str(n), "text": text}
        if n in answers:
            value = answers[n]
            item["answer"] = [
                {
                    "valueCoding": {
                        "code": str(value),
                        "display": instrument.options[lang][value],
                    }
                }
            ]
        items.append(item)
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"measure-{response_id}",
        "language": lang,
        "questionnaire": canonical(instrument),
        "status": "completed" if completed_at is not None else "in-progress",
        "subject": subject,
        "authored": (completed_at or updated_at).isoformat(),
        "item": items,
    }
