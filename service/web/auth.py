"""Request authentication: the API's bearer token and Twilio's webhook signature."""

from __future__ import annotations

import hmac
from typing import Any

from flask import jsonify, request
from twilio.request_validator import RequestValidator

from .access import services


def require_api_token() -> Any:
    """A before_request hook: 401 unless `Authorization: Bearer <INTERLUDE_API_TOKEN>`."""
    expected = services().config.secrets.api_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected:
        return jsonify(error="unauthorized", message="API disabled: set INTERLUDE_API_TOKEN"), 401
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return jsonify(error="unauthorized", message="missing or invalid bearer token"), 401
    return None


def public_url() -> str:
    """The URL Twilio requested, rebuilt on `[web] public_base_url`.

    Behind an https-terminating proxy the app sees http and an inner host; Twilio signed the
    public https URL, so the signature is checked against that (Twilio's webhook security guide,
    https://www.twilio.com/docs/usage/webhooks/webhooks-security).
    """
    base = services().config.web.public_base_url.rstrip("/")
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def twilio_signature_ok() -> bool:
    """True when X-Twilio-Signature matches the request, checked with Twilio's own validator."""
    token = services().config.secrets.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(public_url(), request.form, signature))
