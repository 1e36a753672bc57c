"""FHIR R4 push endpoint under /fhir/r4: a transaction Bundle (POST), or one Patient or
Appointment (PUT), behind the API's bearer token. Bodies are application/fhir+json; every error
is an OperationOutcome whose issues name the bad element (issue.expression)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..domain.fhir_map import ID, Issue
from ..services import fhir_feed
from ..services.fhir_feed import Refused, Stored
from .access import route, services
from .auth import require_api_token

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")
PREFIX = "/fhir/"
FHIR_JSON = "application/fhir+json"
# The largest body taken (a Bundle of MAX_ENTRIES entries fits well within it).
MAX_BODY = 1024 * 1024

log = logging.getLogger("interlude.web")

_STATUS_TEXT = {200: "200 OK", 201: "201 Created"}


def outcome(status: int, issues: Sequence[Issue], headers: dict[str, str] | None = None) -> Response:
    """An OperationOutcome answer: each issue with its severity, type, text and FHIRPath."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": i.code,
                "diagnostics": i.message,
                **({"expression": [i.expression]} if i.expression else {}),
            }
            for i in issues
        ],
    }
    return _answer(body, status, headers)


def _answer(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype=FHIR_JSON)
    response.headers["Cache-Control"] = "no-store"  # patient data
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.before_request
def _authenticate() -> Any:
    refused = require_api_token()
    if refused is None:
        return None
    message = "missing or invalid bearer token"
    if not services().config.secrets.api_token:
        message = "FHIR push disabled: set INTERLUDE_API_TOKEN"
    return outcome(401, [Issue("", message, "login")], {"WWW-Authenticate": "Bearer"})


def _body() -> Any:
    """The request's FHIR JSON; Refused (415, 413, 400) otherwise."""
    if request.mimetype != FHIR_JSON:
        raise Refused(415, [Issue("", f"send the body as {FHIR_JSON}", "not-supported")])
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(413, [Issue("", f"the body is larger than {MAX_BODY // 1024} KiB", "too-costly")])
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise Refused(413, [Issue("", f"the body is larger than {MAX_BODY // 1024} KiB", "too-costly")])
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, [Issue("", "the body is not valid JSON", "structure")]) from None


def _stored(stored: Stored) -> Response:
    headers = {"Location": f"{request.url_root.rstrip('/')}{bp.url_prefix}/{stored.location}"}
    if stored.etag:
        headers["ETag"] = stored.etag
    if stored.last_updated is not None:
        headers["Last-Modified"] = stored.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return _answer(stored.resource, 201 if stored.created else 200, headers)


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> Response:
    log.info("fhir push refused", extra={"status": exc.status, "path": route()})
    return outcome(exc.status, exc.issues)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return http_outcome(exc)


def http_outcome(exc: HTTPException) -> Response:
    """An HTTP error (404, 405, 413...) under /fhir as an OperationOutcome."""
    code = exc.code or 500
    kind = {404: "not-found", 405: "not-supported", 413: "too-costly"}.get(code, "processing")
    return outcome(code, [Issue("", exc.description or exc.name, kind)])


def _checked_id(rid: str, kind: str) -> str:
    if not ID.match(rid):
        raise Refused(400, [Issue(f"{kind}.id", "an id is 1-64 of A-Z a-z 0-9 - .", "value")])
    return rid


@bp.post("")
@bp.post("/")
def transaction() -> Any:
    """A transaction Bundle: answered with a transaction-response Bundle."""
    done = fhir_feed.transaction(services(), _body())
    entries = []
    for stored in done:
        response: dict[str, Any] = {"status": _STATUS_TEXT[201 if stored.created else 200]}
        response["location"] = stored.location
        if stored.etag:
            response["etag"] = stored.etag
        if stored.last_updated is not None:
            response["lastModified"] = stored.last_updated.isoformat()
        entries.append({"response": response})
    return _answer({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}, 200)


@bp.put("/Appointment/<rid>")
def put_appointment(rid: str) -> Any:
    body = _body()
    rid = _checked_id(rid, "Appointment")
    return _stored(fhir_feed.put_appointment(services(), rid, body, request.headers.get("If-Match")))


@bp.put("/Patient/<rid>")
def put_patient(rid: str) -> Any:
    body = _body()
    rid = _checked_id(rid, "Patient")
    return _stored(fhir_feed.put_patient(services(), rid, body, request.headers.get("If-Match")))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
