"""The OpenAPI 3.0 document of /api/v1, served at GET /api/v1/openapi.json.

Built from the same constants the validation uses (modalities, channels, indications, statuses,
the canonical time zones) and from this deployment's languages and schedules, so the published
enums cannot drift from what the API accepts.
"""

from __future__ import annotations

from typing import Any

from ..domain.channels import PREFERENCES
from ..domain.delivery import OUTBOX_STATES
from ..domain.instruments import MEASURES
from ..domain.session_state import SessionState
from ..runtime import Interlude
from ..services import idempotency
from ..services import validation as v
from ..services.sessions import MAX_REASON
from .fhir import FHIR_JSON

JSON = "application/json"
MAX_ID = 10**18 - 1  # ids longer than 18 digits are answered 404 without a look-up
LOCAL_OR_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"


def document(app: Interlude) -> dict[str, Any]:
    """The whole document for `app`'s configuration (languages and schedules are per deployment)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Interlude API",
            "version": "1",
            "description": (
                "Enrol patients and book, move, cancel, complete or mark no-show their sessions; "
                "the planned messages follow at once. Every error is JSON with an `error` code; "
                "invalid input is a 400 naming each bad field in `fields`. Every POST takes an "
                "optional `Idempotency-Key` header: a request sent again with the same key and the "
                "same body gets the first answer again (with `Idempotent-Replayed: true`) and creates "
                "nothing twice."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _with_idempotency_keys(_paths()),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The value of INTERLUDE_API_TOKEN.",
                }
            },
            "parameters": {
                "pid": _id_parameter("pid", "patient"),
                "sid": _id_parameter("sid", "session"),
                "rid": _id_parameter("rid", "questionnaire response"),
                "idempotencyKey": {
                    "name": idempotency.HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "Any unique value per request, e.g. a UUID, kept for 24 hours. A request sent "
                        "again with the same key and the same body is answered with the first "
                        f"successful answer (header `{idempotency.REPLAYED}: true`) and runs no more; the same key "
                        "with another body, or on another path, is refused (422); while the first is "
                        "still running, 409. After an error nothing is kept: the key may be sent again."
                    ),
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": idempotency.MAX_KEY,
                        "pattern": "^[ -~]+$",
                    },
                },
                "ref": {
                    "name": "ref",
                    "in": "path",
                    "required": True,
                    "description": "The patient's external reference (the EHR's id); a slash cannot be used.",
                    "schema": _text(100, pattern=r"^[^/]*\S[^/]*$"),
                },
            },
            "schemas": _schemas(app),
            "responses": _responses(),
        },
    }


def _id_parameter(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id (ASCII digits; anything else is 404).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _ok(schema: str, code: str = "200", description: str = "OK") -> dict[str, Any]:
    return {code: {"description": description, "content": {JSON: {"schema": _ref("schemas", schema)}}}}


def _list_of(schema: str) -> dict[str, Any]:
    return {
        "200": {
            "description": "OK",
            "content": {JSON: {"schema": {"type": "array", "items": _ref("schemas", schema)}}},
        }
    }


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _ref("responses", code) for code in ("401", *codes)}


def _body(schema: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": _ref("schemas", schema)}}}


def _limit(default: int) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": default},
    }


def _paths() -> dict[str, Any]:
    pid, sid = [_ref("parameters", "pid")], [_ref("parameters", "sid")]
    status_change = {
        "parameters": sid,
        "requestBody": _body("Reason", required=False),
        "responses": {**_ok("SessionChanged"), **_errors("400", "404", "409")},
    }
    return {
        "/patients": {
            "post": {
                "operationId": "enrolPatient",
                "summary": "Enrol a patient; the enrolment messages are planned at once.",
                "requestBody": _body("PatientNew"),
                "responses": {**_ok("Patient", "201", "Enrolled"), **_errors("400")},
            }
        },
        "/patients/by-ref/{ref}": {
            "parameters": [_ref("parameters", "ref")],
            "put": {
                "operationId": "upsertPatientByRef",
                "summary": (
                    "Enrol the patient with this external reference (201, as POST /patients would), or "
                    "change the fields sent of the patient who has it (200, as PATCH would; nothing "
                    "changes, not even the audit trail, when they hold those values). `external_ref` "
                    "in the body, if sent, must be the reference in the path."
                ),
                "requestBody": _body("PatientUpsert"),
                "responses": {
                    **_ok("Patient", "201", "Enrolled"),
                    **_ok("Patient", "200", "Updated (or unchanged)"),
                    **_errors("400", "404"),
                },
            },
        },
        "/patients/{pid}": {
            "parameters": pid,
            "get": {
                "operationId": "getPatient",
                "summary": "A patient with their sessions.",
                "responses": {**_ok("PatientDetail"), **_errors("404")},
            },
            "patch": {
                "operationId": "updatePatient",
                "summary": "Change some of a patient's details (only the fields sent).",
                "requestBody": _body("PatientChange"),
                "responses": {**_ok("Patient"), **_errors("400", "404")},
            },
        },
        "/patients/{pid}/measures": {
            "parameters": pid,
            "get": {
                "operationId": "patientMeasures",
                "summary": (
                    "The patient's scored questionnaires (PHQ-9, GAD-7, PCL-5), oldest first: total, "
                    "severity band, and whether PHQ-9 item 9 (thoughts of self-harm) was above 0."
                ),
                "responses": {**_list_of("Measure"), **_errors("404")},
            },
        },
        "/patients/{pid}/measures/{rid}/fhir": {
            "parameters": [*pid, _ref("parameters", "rid")],
            "get": {
                "operationId": "measureAsFhir",
                "summary": (
                    "One questionnaire response of the patient (its `id` in the list above, completed "
                    "or still in progress) as a FHIR R4 QuestionnaireResponse: `questionnaire` is the "
                    "LOINC panel (http://loinc.org/q/44249-1 PHQ-9, 69737-5 GAD-7, 101697-1 PCL-5), "
                    "each item's linkId its number, each answer a valueCoding whose code is the score "
                    "and display the option's words as the patient read them."
                ),
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {FHIR_JSON: {"schema": _ref("schemas", "QuestionnaireResponse")}},
                    },
                    **_errors("404"),
                },
            },
        },
        "/sessions": {
            "post": {
                "operationId": "bookSession",
                "summary": (
                    "Book a session; its messages are planned at once. A session overlapping another "
                    "booked session of the same patient is refused (409, naming it) unless `force`."
                ),
                "requestBody": _body("Booking"),
                "responses": {
                    **_ok("SessionChanged", "201", "Booked"),
                    **_errors("400", "404"),
                    "409": _ref("responses", "Overlap"),
                },
            }
        },
        "/sessions/{sid}": {
            "parameters": sid,
            "get": {
                "operationId": "getSession",
                "summary": "A session with its audit trail.",
                "responses": {**_ok("SessionDetail"), **_errors("404")},
            },
            "patch": {
                "operationId": "rescheduleSession",
                "summary": (
                    "Move a booked session; every pending message moves with it. A move into another "
                    "booked session of the same patient is refused (409, naming it) unless `force`."
                ),
                "requestBody": _body("Reschedule"),
                "responses": {
                    **_ok("SessionChanged"),
                    **_errors("400", "404"),
                    "409": _ref("responses", "OverlapOrState"),
                },
            },
        },
        "/sessions/{sid}/cancel": {
            "post": {
                "operationId": "cancelSession",
                "summary": "Cancel a booked session and every message still pending for it.",
                **status_change,
            }
        },
        "/sessions/{sid}/complete": {
            "post": {
                "operationId": "completeSession",
                "summary": "Mark a started session done: pending preparation is dropped.",
                **status_change,
            }
        },
        "/sessions/{sid}/no-show": {
            "post": {
                "operationId": "noShowSession",
                "summary": "Mark a started session a no-show: nothing more is sent for it.",
                **status_change,
            }
        },
        "/sessions/{sid}/messages": {
            "get": {
                "operationId": "sessionMessages",
                "summary": "The planned and sent messages of a session, in due order.",
                "parameters": sid,
                "responses": {**_list_of("Message"), **_errors("404")},
            }
        },
        "/sandbox/messages": {
            "get": {
                "operationId": "sandboxMessages",
                "summary": "The newest messages the sandbox transports recorded, newest first.",
                "parameters": [_limit(50)],
                "responses": {**_list_of("SandboxMessage"), **_errors("400")},
            }
        },
        "/deliveries": {
            "get": {
                "operationId": "deliveries",
                "summary": "Messages that were tried, newest first; `status=failed` for those needing a person.",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["failed"]},
                    },
                    _limit(100),
                ],
                "responses": {**_list_of("Delivery"), **_errors("400")},
            }
        },
        **_replies_paths(),
    }


def _with_idempotency_keys(paths: dict[str, Any]) -> dict[str, Any]:
    """Every POST takes the Idempotency-Key header: its refusals (422; 409 while the first
    request runs, alongside any 409 the operation already had) and the replay header."""
    replayed = {
        idempotency.REPLAYED: {
            "description": "`true` when this is the stored answer to an earlier request with the key.",
            "schema": {"type": "string", "enum": ["true"]},
        }
    }
    for item in paths.values():
        if "post" not in item:
            continue
        post = item["post"] = dict(item["post"])
        post["parameters"] = [*post.get("parameters", []), _ref("parameters", "idempotencyKey")]
        responses = dict(post["responses"])
        for code, response in responses.items():
            if code.startswith("2"):
                responses[code] = {**response, "headers": replayed}
        responses["422"] = _ref("responses", "IdempotencyKeyReused")
        earlier = responses.get("409")
        if earlier is None:
            responses["409"] = _ref("responses", "IdempotencyKeyInProgress")
        elif earlier != _ref("responses", "409"):  # the generic 409 is an Error already
            name = earlier["$ref"].rsplit("/", 1)[1]
            schemas = [_ref("schemas", name), _ref("schemas", "IdempotencyKeyError")]
            responses["409"] = {
                "description": f"As {name}; or a request with this {idempotency.HEADER} is still running.",
                "content": {JSON: {"schema": {"anyOf": schemas}}},
            }
        post["responses"] = responses
    return paths


def _replies_paths() -> dict[str, Any]:
    """The Inbox, escalations, staff tasks and the consent ledger (service/web/replies_api.py)."""
    item = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    items = {"200": {"description": "OK", "content": {JSON: {"schema": {"type": "array", "items": item}}}}}

    def state(options: list[str]) -> list[dict[str, Any]]:
        schema = {"type": "string", "enum": options, "default": "open"}
        return [{"name": "state", "in": "query", "required": False, "schema": schema}]

    def path_id(name: str, what: str) -> list[dict[str, Any]]:
        return [_id_parameter(name, what)]

    return {
        "/inbox": {
            "get": {
                "operationId": "inbox",
                "summary": "Messages that need a person: the pinned ones first.",
                "responses": {**items, **_errors()},
            }
        },
        "/inbox/{mid}/handled": {
            "post": {
                "operationId": "markHandled",
                "summary": "Take a message out of the Inbox (409 while its escalation is not closed).",
                "parameters": path_id("mid", "Inbox message"),
                "requestBody": _body("Handled", required=False),
                "responses": {**_ok("HandledAnswer"), **_errors("400", "404", "409")},
            }
        },
        "/escalations": {
            "get": {
                "operationId": "escalations",
                "summary": "Escalations, open ones by default.",
                "parameters": state(["open", "acknowledged", "all"]),
                "responses": {**items, **_errors("400")},
            }
        },
        "/escalations/{eid}/ack": {
            "post": {
                "operationId": "acknowledgeEscalation",
                "summary": "Acknowledge an escalation: its pages stop; with an outcome the episode closes.",
                "parameters": path_id("eid", "escalation"),
                "requestBody": _body("Acknowledgement"),
                "responses": {**_ok("Escalation"), **_errors("400", "404", "409")},
            }
        },
        "/tasks": {
            "get": {
                "operationId": "tasks",
                "summary": "Staff tasks, open ones by default.",
                "parameters": state(["open", "done"]),
                "responses": {**items, **_errors("400")},
            }
        },
        "/patients/{pid}/consent": {
            "get": {
                "operationId": "consent",
                "summary": "The patient's consent per channel and purpose, with every event behind it.",
                "parameters": [_ref("parameters", "pid")],
                "responses": {**_ok("Consent"), **_errors("404")},
            }
        },
    }


def _text(max_len: int, **extra: Any) -> dict[str, Any]:
    # Not only spaces; inner runs of white space are stored as one space.
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": r"\S", **extra}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # OpenAPI 3.0.3: `nullable` does not widen an enum, so null joins the enum too.
    if "enum" in schema:
        return {**schema, "nullable": True, "enum": [*schema["enum"], None]}
    return {**schema, "nullable": True}


def _strings(options: tuple[str, ...], *, min_items: int = 0) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(options)},
        "minItems": min_items,
        "uniqueItems": False,
    }


def _patient_fields(app: Interlude) -> dict[str, dict[str, Any]]:
    zones = sorted(v.canonical_zones())
    return {
        "first_name": _text(100),
        "last_name": _text(100),
        "phone": _nullable(
            {
                "type": "string",
                "maxLength": 64,
                "description": "A valid phone number; stored in E.164. A US number may omit +1.",
                "example": "+12025550143",
            }
        ),
        "email": _nullable({"type": "string", "maxLength": 254, "example": "maria@example.org"}),
        "timezone": {
            "type": "string",
            "enum": zones,
            "description": "A canonical IANA zone; an old alias is refused with its current name.",
        },
        "language": {"type": "string", "enum": list(app.config.messages.languages)},
        "channels": _strings(v.CHANNELS, min_items=1),
        "indications": _strings(v.INDICATIONS),
        "detailed_messages": {"type": "boolean"},
        "external_ref": _nullable(_text(100, description="The EHR's id; unique per clinic.")),
        "schedule": {"type": "string", "enum": sorted(app.schedules)},
        "preferred_channel": _nullable(
            {
                "type": "string",
                "enum": list(PREFERENCES),
                "description": (
                    "How education messages go: sms (needs a phone), email (needs an email) or both; "
                    "preparation and safety messages go by every channel. Null: email when the patient "
                    "has an email address, else sms."
                ),
            }
        ),
    }


def _schemas(app: Interlude) -> dict[str, Any]:
    fields = _patient_fields(app)
    session_statuses = [s.value for s in SessionState]
    timestamp = {"type": "string", "format": "date-time"}
    moments = _nullable(timestamp)
    reason = _nullable({"type": "string", "maxLength": MAX_REASON})
    start = {
        "type": "string",
        "pattern": LOCAL_OR_OFFSET,
        "description": (
            "ISO 8601; without an offset it is the patient's wall time. In the future, at most "
            "two years ahead; a wall time skipped or repeated by a clock change needs an offset."
        ),
        "example": "2027-03-13T09:00",
    }
    duration = {"type": "integer", "minimum": 1, "maximum": 24 * 60}
    force = _nullable(
        {
            "type": "boolean",
            "default": False,
            "description": "Book even when the session overlaps another booked session of the patient.",
        }
    )
    outcome_counts = ("created", "moved", "unchanged", "skipped", "cancelled", "in_flight")
    session_props: dict[str, Any] = {
        "id": {"type": "integer"},
        "patient_id": {"type": "integer"},
        "start": timestamp,
        "end": timestamp,
        "duration_minutes": {"type": "integer"},
        "modality": {"type": "string", "enum": list(v.MODALITIES)},
        "number": {"type": "integer"},
        "status": {"type": "string", "enum": session_statuses},
        "schedule": {"type": "string"},
        "external_ref": {"type": "string", "nullable": True},
    }
    patient_props: dict[str, Any] = {
        "id": {"type": "integer"},
        "external_ref": {"type": "string", "nullable": True},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "phone": {"type": "string", "nullable": True},
        "email": {"type": "string", "nullable": True},
        "timezone": {"type": "string"},
        "language": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string", "enum": list(v.CHANNELS)}},
        "indications": {"type": "array", "items": {"type": "string", "enum": list(v.INDICATIONS)}},
        "detailed_messages": {"type": "boolean"},
        "schedule": {"type": "string"},
        "preferred_channel": {"type": "string", "enum": [*PREFERENCES, None], "nullable": True},
        "enrolled_at": timestamp,
    }
    return {
        "PatientNew": _input(
            fields,
            required=["first_name", "last_name"],
            description=(
                "phone or email is needed (and each channel's contact); channels default to those "
                "with a contact, timezone, language and schedule to the clinic's."
            ),
        ),
        "PatientChange": _input(
            fields,
            description=(
                "Only the fields sent change; null clears phone, email, external_ref or "
                "preferred_channel only. A change of the channels education goes by re-plans the "
                "patient's booked sessions (sent messages are never sent again)."
            ),
        ),
        "PatientUpsert": _input(
            fields,
            description=(
                "As PatientNew to enrol (first_name and last_name needed); to update, only the "
                "fields sent change, as PatientChange."
            ),
        ),
        "Patient": _object(patient_props, required=list(patient_props)),
        "PatientDetail": _object(
            {**patient_props, "sessions": {"type": "array", "items": _ref("schemas", "Session")}},
            required=[*patient_props, "sessions"],
        ),
        "Booking": _input(
            {
                "patient_id": {"type": "integer", "minimum": 1, "maximum": 2**62},
                "start": start,
                "modality": {"type": "string", "enum": list(v.MODALITIES)},
                "duration_minutes": _nullable(duration),
                "number": _nullable({"type": "integer", "minimum": 1, "maximum": 1000}),
                "schedule": _nullable(fields["schedule"]),
                "external_ref": fields["external_ref"],
                "force": force,
            },
            required=["patient_id", "start", "modality"],
        ),
        "Reschedule": _input(
            {"start": start, "duration_minutes": _nullable(duration), "reason": reason, "force": force},
            required=["start"],
        ),
        "Reason": _input({"reason": reason}),
        "Session": _object(session_props, required=list(session_props)),
        "SessionChanged": _object(
            {
                **session_props,
                "messages": _object(
                    {name: {"type": "integer", "minimum": 0} for name in outcome_counts},
                    required=list(outcome_counts),
                ),
            },
            required=[*session_props, "messages"],
        ),
        "SessionDetail": _object(
            {
                **session_props,
                "audit": {
                    "type": "array",
                    "items": _object(
                        {
                            "at": timestamp,
                            "actor": {"type": "string"},
                            "action": {"type": "string"},
                            "reason": {"type": "string", "nullable": True},
                            "details": {"type": "object", "nullable": True},
                        },
                        required=["at", "actor", "action", "reason", "details"],
                    ),
                },
            },
            required=[*session_props, "audit"],
        ),
        "Message": _object(
            {
                "id": {"type": "integer"},
                "session_id": {"type": "integer", "nullable": True},
                "step": {"type": "string"},
                "template": {"type": "string"},
                "channel": {"type": "string", "enum": list(v.CHANNELS)},
                "category": {"type": "string"},
                "due_at": moments,
                "original_due_at": moments,
                "send_by": moments,
                "next_attempt_at": moments,
                "status": {"type": "string", "enum": list(OUTBOX_STATES)},
                "reason": {"type": "string", "nullable": True},
                "attempts": {"type": "integer"},
                "sent_at": moments,
                "delivery": _object(
                    {"status": {"type": "string"}, "error_code": {"type": "string", "nullable": True}}
                ),
            },
            required=["id", "step", "channel", "status", "due_at"],
        ),
        "SandboxMessage": _object(
            {
                "id": {"type": "integer"},
                "attempt_id": {"type": "integer", "nullable": True},
                "channel": {"type": "string"},
                "to": {"type": "string"},
                "subject": {"type": "string", "nullable": True},
                "body": {"type": "string"},
                "created_at": moments,
            },
            required=["id", "channel", "to", "body"],
        ),
        "Delivery": _object(
            {
                "id": {"type": "integer"},
                "patient_id": {"type": "integer", "nullable": True},
                "session_id": {"type": "integer", "nullable": True},
                "step": {"type": "string"},
                "category": {"type": "string"},
                "channel": {"type": "string"},
                "to": {"type": "string", "nullable": True, "description": "Masked."},
                "status": {"type": "string", "enum": list(OUTBOX_STATES)},
                "delivery": {"type": "string", "nullable": True},
                "reason": {"type": "string", "nullable": True},
                "code": {"type": "string", "nullable": True},
                "why": {"type": "string", "nullable": True},
                "attempts": {"type": "integer"},
                "updated_at": timestamp,
                "fallback": _nullable(
                    _object(
                        {
                            "id": {"type": "integer"},
                            "channel": {"type": "string"},
                            "status": {"type": "string"},
                        }
                    )
                ),
            },
            required=["id", "channel", "status", "attempts"],
        ),
        "Handled": _input({"by": _text(120, description="Who handled it (default: api).")}),
        "Acknowledgement": _input(
            {
                "by": {"type": "string", "minLength": 1, "maxLength": 120},
                "outcome": {"type": "string", "maxLength": 2000, "nullable": True},
            },
            required=["by"],
        ),
        "HandledAnswer": _object({"status": {"type": "string", "enum": ["handled"]}}, required=["status"]),
        "Escalation": _object({"id": {"type": "integer"}}, required=["id"]),
        "Consent": _object(
            {"patient_id": {"type": "integer"}, "state": {"type": "object"}},
            required=["patient_id", "state"],
        ),
        "InvalidInput": _object(
            {
                "error": {"type": "string", "enum": ["invalid-input"]},
                "fields": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "string"},
                    "description": "Each bad field (or `body`) and what is wrong with it.",
                },
            },
            required=["error", "fields"],
        ),
        "IdempotencyKeyError": _object(
            {
                "error": {
                    "type": "string",
                    "enum": ["idempotency-key-reused", "idempotency-key-in-progress"],
                },
                "message": {"type": "string"},
            },
            required=["error", "message"],
        ),
        "Measure": _object(
            {
                "id": {"type": "integer", "description": "The response's id (for its FHIR export)."},
                "instrument": {"type": "string", "enum": list(MEASURES)},
                "name": {"type": "string", "example": "PHQ-9"},
                "completed_at": timestamp,
                "total": {"type": "integer", "minimum": 0},
                "band": {"type": "string", "example": "moderate"},
                "item9": {
                    "type": "boolean",
                    "description": "PHQ-9 item 9 (thoughts of self-harm) above 0; false for the others.",
                },
                "session_id": {"type": "integer", "nullable": True},
            },
            required=["id", "instrument", "completed_at", "total", "band", "item9"],
        ),
        "QuestionnaireResponse": _object(
            {
                "resourceType": {"type": "string", "enum": ["QuestionnaireResponse"]},
                "status": {"type": "string", "enum": ["completed", "in-progress"]},
                "questionnaire": {"type": "string"},
                "authored": {"type": "string"},
                "subject": {"type": "object"},
                "item": {"type": "array", "items": {"type": "object"}},
            },
            required=["resourceType", "status", "questionnaire", "item"],
            description="A FHIR R4 QuestionnaireResponse (https://hl7.org/fhir/R4/questionnaireresponse.html).",
        ),
        "Error": _object(
            {"error": {"type": "string", "minLength": 1}, "message": {"type": "string"}},
            required=["error", "message"],
        ),
        "Overlap": _object(
            {
                "error": {"type": "string", "enum": ["overlap"]},
                "message": {"type": "string"},
                "session": _object(
                    {"id": {"type": "integer"}, "start": timestamp},
                    required=["id", "start"],
                    description="The patient's booked session the new time overlaps.",
                ),
            },
            required=["error", "message", "session"],
        ),
        "OverlapOrState": _object(
            {
                "error": {"type": "string", "enum": ["overlap", "conflict"]},
                "message": {"type": "string"},
                "session": _object(
                    {"id": {"type": "integer"}, "start": timestamp},
                    required=["id", "start"],
                    description="With `overlap`: the patient's booked session the new time overlaps.",
                ),
            },
            required=["error", "message"],
        ),
    }


def _object(
    properties: dict[str, Any], *, required: list[str] | None = None, description: str | None = None
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


def _input(
    properties: dict[str, Any], *, required: list[str] | None = None, description: str | None = None
) -> dict[str, Any]:
    """A request body: a field the API does not know is refused by name."""
    return {**_object(properties, required=required, description=description), "additionalProperties": False}


def _responses() -> dict[str, Any]:
    def error(description: str, schema: str = "Error") -> dict[str, Any]:
        return {"description": description, "content": {JSON: {"schema": _ref("schemas", schema)}}}

    return {
        "400": error("Invalid input: every bad field is named in `fields`.", "InvalidInput"),
        "401": error("Missing or wrong bearer token, or the API is disabled (no token set)."),
        "404": error("No such patient, session or questionnaire response (of that patient)."),
        "409": error("Valid, but not in the session's current state (e.g. moving a cancelled session)."),
        "IdempotencyKeyReused": error(
            f"The {idempotency.HEADER} was used for another request (another body, or another path): "
            "send a new key.",
            "IdempotencyKeyError",
        ),
        "IdempotencyKeyInProgress": error(
            f"A request with this {idempotency.HEADER} is still running: retry in a moment.",
            "IdempotencyKeyError",
        ),
        "Overlap": error(
            "The session would overlap another booked session of the same patient, named in `session`; "
            "send `force: true` to book it anyway.",
            "Overlap",
        ),
        "OverlapOrState": error(
            "`overlap`: the new time overlaps another booked session of the same patient, named in "
            "`session` (send `force: true` to move it anyway); `conflict`: the session's state does "
            "not allow the move (e.g. it is cancelled).",
            "OverlapOrState",
        ),
    }
