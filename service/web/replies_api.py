"""API for replies: inbox, escalations (and acknowledging them), staff tasks, consent ledger."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from ..services import tasks
from ..services.consent import ledger
from ..services.errors import InvalidInput
from ..services.replies import escalations
from ..services.replies import inbound as replies
from ..services.validation import Fields, storable, text
from .access import parse_id, services
from .api import json_body
from .auth import require_api_token

bp = Blueprint("replies_api", __name__, url_prefix="/api/v1")
bp.before_request(require_api_token)


def _body() -> dict[str, Any]:
    data = json_body()
    if not isinstance(data, dict):
        raise InvalidInput({"body": "expected a JSON object"})
    return data


@bp.get("/inbox")
def inbox() -> Any:
    return jsonify(replies.inbox(services()))


@bp.post("/inbox/<mid>/handled")
def handled(mid: str) -> Any:
    f = Fields(_body())
    f.refuse_unknown({"by"})
    by = f.get("by", text(120), default="api")
    f.done()
    replies.mark_handled(services(), parse_id(mid), by)
    return jsonify(status="handled")


@bp.get("/escalations")
def list_escalations() -> Any:
    state = request.args.get("state", "open")
    if state not in ("open", "acknowledged", "all"):
        raise InvalidInput({"state": "expected open, acknowledged or all"})
    return jsonify(escalations.list_escalations(services(), None if state == "all" else state))


@bp.post("/escalations/<eid>/ack")
def ack(eid: str) -> Any:
    body = _body()
    unknown = sorted(set(body) - {"by", "outcome"})
    if unknown:
        raise InvalidInput({k: "unknown field" for k in unknown})
    unstorable = [k for k in ("by", "outcome") if isinstance(body.get(k), str) and not storable(body[k])]
    if unstorable:
        raise InvalidInput({k: "control characters are not allowed" for k in unstorable})
    return jsonify(
        escalations.acknowledge(services(), parse_id(eid), body.get("by") or "", body.get("outcome"))
    )


@bp.get("/tasks")
def list_tasks() -> Any:
    state = request.args.get("state", "open")
    if state not in ("open", "done"):
        raise InvalidInput({"state": "expected open or done"})
    return jsonify(tasks.list_tasks(services(), state))


@bp.get("/patients/<pid>/consent")
def consent(pid: str) -> Any:
    return jsonify(ledger(services(), parse_id(pid)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
