"""JSON API under /api/v1, behind `Authorization: Bearer <INTERLUDE_API_TOKEN>`."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request

from ..services import idempotency, measures, sessions
from ..services.errors import InvalidInput
from ..services.outbox.deliveries import list_deliveries
from ..services.patients import create_patient, update_patient, upsert_patient_by_ref
from ..services.views import queries
from . import openapi
from .access import parse_id, route, services
from .auth import require_api_token
from .fhir import FHIR_JSON

bp = Blueprint("api", __name__, url_prefix="/api/v1")
ACTOR = "api"
PREFIX = "/api/v1/"

log = logging.getLogger("interlude.web")


@bp.before_request
def _authenticate() -> Any:
    # The document describes the API, not anyone's data: a client reads it before it has a token.
    if request.endpoint == "api.openapi_document":
        return None
    return require_api_token()


# Every body here is a flat object with short lists: anything nested deeper is not ours, and a
# parser recursing through 5,000 levels would spend the stack (and the request) on it.
MAX_DEPTH = 8


def json_body() -> Any:
    """The request's JSON ({} when empty); InvalidInput naming `body` when too deep or not JSON."""
    raw = request.get_data()
    if not raw:
        return {}
    if _depth(raw) > MAX_DEPTH:
        raise InvalidInput({"body": f"JSON nested more than {MAX_DEPTH} levels deep"})
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput({"body": "not valid JSON"})
    return data


def _depth(raw: bytes) -> int:
    """How deeply brackets nest in `raw` (an upper bound: brackets inside strings count too)."""
    depth = deepest = 0
    for byte in raw:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _limit(default: str) -> int:
    """The `limit` query parameter: ASCII digits ("²".isdigit() is true too) from 1 to 500."""
    limit = request.args.get("limit", default)
    if not (limit.isascii() and limit.isdigit()) or not 0 < int(limit) <= 500:
        raise InvalidInput({"limit": "expected a whole number from 1 to 500"})
    return int(limit)


@bp.errorhandler(sessions.Overlap)
def _overlap(exc: sessions.Overlap) -> Any:
    """A clash names the other session, so that a client can show it or book with `force`."""
    return jsonify(
        error="overlap", message=f"{exc}; send force: true to book it anyway", session=exc.session()
    ), 409


@bp.after_request
def _no_store(response: Response) -> Response:
    """Answers carry patient data: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/patients")
def post_patient() -> Any:
    return jsonify(create_patient(services(), json_body(), ACTOR)), 201


@bp.put("/patients/by-ref/<ref>")
def put_patient_by_ref(ref: str) -> Any:
    """Create the patient with this external reference (201), or change the fields sent (200)."""
    patient, created = upsert_patient_by_ref(services(), ref, json_body(), ACTOR)
    return jsonify(patient), 201 if created else 200


@bp.get("/patients/<pid>")
def get_patient(pid: str) -> Any:
    return jsonify(queries.patient(services(), parse_id(pid)))


@bp.patch("/patients/<pid>")
def patch_patient(pid: str) -> Any:
    return jsonify(update_patient(services(), parse_id(pid), json_body(), ACTOR))


@bp.get("/patients/<pid>/measures")
def patient_measures(pid: str) -> Any:
    """The patient's scored questionnaires, oldest first."""
    return jsonify(measures.series(services(), parse_id(pid)))


@bp.get("/patients/<pid>/measures/<rid>/fhir")
def measure_fhir(pid: str, rid: str) -> Any:
    """One questionnaire response as a FHIR R4 QuestionnaireResponse."""
    body = measures.fhir_response(services(), parse_id(pid), parse_id(rid))
    return Response(json.dumps(body), mimetype=FHIR_JSON)


@bp.post("/sessions")
def post_session() -> Any:
    return jsonify(sessions.book_session(services(), json_body(), ACTOR)), 201


@bp.get("/sessions/<sid>")
def get_session(sid: str) -> Any:
    return jsonify(queries.session(services(), parse_id(sid)))


@bp.patch("/sessions/<sid>")
def patch_session(sid: str) -> Any:
    return jsonify(sessions.reschedule_session(services(), parse_id(sid), json_body(), ACTOR))


@bp.post("/sessions/<sid>/cancel")
def cancel(sid: str) -> Any:
    return jsonify(sessions.cancel_session(services(), parse_id(sid), json_body(), ACTOR))


@bp.post("/sessions/<sid>/complete")
def complete(sid: str) -> Any:
    return jsonify(sessions.complete_session(services(), parse_id(sid), json_body(), ACTOR))


@bp.post("/sessions/<sid>/no-show")
def no_show(sid: str) -> Any:
    return jsonify(sessions.no_show_session(services(), parse_id(sid), json_body(), ACTOR))


@bp.get("/sessions/<sid>/messages")
def session_messages(sid: str) -> Any:
    return jsonify(queries.session_messages(services(), parse_id(sid)))


@bp.get("/openapi.json")
def openapi_document() -> Any:
    return jsonify(openapi.document(services()))


@bp.get("/sandbox/messages")
def sandbox_messages() -> Any:
    return jsonify(queries.sandbox_messages(services(), _limit("50")))


@bp.get("/deliveries")
def deliveries() -> Any:
    status = request.args.get("status")
    if status not in (None, "failed"):
        raise InvalidInput({"status": "expected 'failed' (or no status for every delivery)"})
    return jsonify(list_deliveries(services(), failed=status == "failed", limit=_limit("100")))


# --- Idempotency-Key on every POST under /api/v1 (service.services.idempotency) -----------------


def _claim_idempotency_key() -> Any:
    """Before a POST with an Idempotency-Key runs: claim the key, or answer from it.

    Registered on the app, so it covers every /api/v1 blueprint; it runs before their own token
    check, so the token is checked here first: a stored answer goes only to the API's client."""
    key = request.headers.get(idempotency.HEADER)
    if key is None or request.method != "POST" or not request.path.startswith(PREFIX):
        return None
    if request.url_rule is None:  # no such route: the 404 or 405 says so
        return None
    refused = require_api_token()
    if refused is not None:
        return refused
    problem = idempotency.key_problem(key)
    if problem is not None:
        raise InvalidInput({idempotency.HEADER: problem})
    path = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    digest = idempotency.request_hash(request.method, path, request.get_data())
    try:
        claimed = idempotency.claim(services(), key, request.method, request.path, digest)
    except idempotency.KeyReused as exc:
        return jsonify(error="idempotency-key-reused", message=str(exc)), 422
    except idempotency.InProgress as exc:
        return jsonify(error="idempotency-key-in-progress", message=str(exc)), 409, {"Retry-After": "1"}
    if isinstance(claimed, idempotency.Stored):
        replay = Response(claimed.body, status=claimed.status, mimetype="application/json")
        replay.headers[idempotency.REPLAYED] = "true"
        return replay
    g.idempotency_claim = claimed
    return None


def _settle_idempotency_key(response: Response) -> Response:
    """Keep a successful answer for the key's retries; free the key after any other."""
    claimed = g.pop("idempotency_claim", None)
    if claimed is not None:
        if 200 <= response.status_code < 300:
            idempotency.finish(services(), claimed, response.status_code, response.get_data(as_text=True))
        else:
            idempotency.release(services(), claimed)
    return response


def _free_unsettled_key(exc: BaseException | None) -> None:
    """A request that ended without an answer (an error past every handler) frees its key."""
    claimed = g.pop("idempotency_claim", None)
    if claimed is not None:
        try:
            idempotency.release(services(), claimed)
        except Exception:  # the request has already failed; the key expires in any case
            log.exception("could not free an idempotency key", extra={"path": route()})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_claim_idempotency_key)
    app.after_request(_settle_idempotency_key)
    app.teardown_request(_free_unsettled_key)
