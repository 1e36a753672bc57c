"""Rebuild twilio_api_v2010.errors.json from Twilio's published spec of the 2010-04-01 REST API.

Upstream, Create Message documents only its 201 answer, so a mock serving the spec can never
answer with the errors the transport must handle. This adds them, in the shape Twilio's REST
errors have (`code`, `message`, `more_info`, `status`; the upstream spec already uses that shape
for its single 408 answer), to Create Message and Fetch Message; nothing else changes.

    python tests/peers/twilio/make_error_spec.py                 # upstream fetched at the pinned commit
    python tests/peers/twilio/make_error_spec.py UPSTREAM.json   # or read from a local copy
    python tests/peers/twilio/make_error_spec.py UPSTREAM.json OUT.json

The upstream file is checked against its SHA-256 so the result is the committed file byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

COMMIT = "d50069b44ea8cd23141385bdb6db48f16ff75bb5"  # twilio/twilio-oai, tag 2.6.7
UPSTREAM_URL = f"https://raw.githubusercontent.com/twilio/twilio-oai/{COMMIT}/spec/json/twilio_api_v2010.json"
UPSTREAM_SHA256 = "99cae87a6bb1725f71363364cbd30282a13140374b2d5f9bdd5bdfa5d4c8a6d7"
OUT = Path(__file__).with_name("twilio_api_v2010.errors.json")

CREATE = ("/2010-04-01/Accounts/{AccountSid}/Messages.json", "post")
FETCH = ("/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json", "get")
FETCH_STATUSES = ("401", "404", "429", "500")

TWILIO_ERROR = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer", "description": "Twilio-specific error code"},
        "message": {"type": "string"},
        "more_info": {"type": "string"},
        "status": {"type": "integer"},
    },
}


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    """One named example: an error body as Twilio sends it, with its documentation link."""
    return {
        "value": {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    }


def answer(description: str, examples: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI response whose JSON body is a twilio_error, with named examples."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/twilio_error"},
                "examples": examples,
            }
        },
    }


# Prism answers a status with its first example unless `Prefer: example=NAME` picks another.
# It also answers every request that fails validation with the first 400 example, so that one
# is deliberately not a Twilio code (Twilio's are five digits): code 400 means "the mock refused
# the request", and the reasons are in its sl-violations header.
ERRORS: dict[str, Any] = {
    "400": answer(
        "Bad Request",
        {
            "requestValidation": {
                "value": {
                    "code": 400,
                    "status": 400,
                    "more_info": "https://docs.stoplight.io/docs/prism",
                    "message": "Request rejected by the mock's OpenAPI validation; "
                    "see the sl-violations response header",
                }
            },
            "invalidTo": twilio_error(400, 21211, "Invalid 'To' Phone Number: +1555000000"),
            "unsubscribed": twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"),
            "missingTo": twilio_error(400, 21604, "A 'To' phone number is required."),
            "notSmsCapable": twilio_error(
                400,
                21606,
                "The From phone number +15005550007 is not a valid, SMS-capable inbound phone number "
                "or short code for your account.",
            ),
        },
    ),
    "401": answer("Unauthorized", {"authenticate": twilio_error(401, 20003, "Authenticate")}),
    "404": answer(
        "Not Found",
        {
            "notFound": twilio_error(
                404, 20404, "The requested resource /2010-04-01/Accounts/ACxxx/Messages.json was not found"
            )
        },
    ),
    "429": answer("Too Many Requests", {"tooManyRequests": twilio_error(429, 20429, "Too Many Requests")}),
    "500": answer(
        "Internal Server Error",
        {"internal": twilio_error(500, 20500, "An internal server error has occurred")},
    ),
    "503": answer("Service Unavailable", {"unavailable": twilio_error(503, 20503, "Service Unavailable")}),
}


def upstream(source: str | None) -> bytes:
    """The upstream spec's bytes, from a local file or the pinned commit; refused if they differ."""
    if source is None:
        try:
            with urllib.request.urlopen(UPSTREAM_URL, timeout=60) as response:
                raw: bytes = response.read()
        except OSError as error:
            sys.exit(f"cannot fetch {UPSTREAM_URL} ({error}): give a local copy of it instead")
    else:
        raw = Path(source).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != UPSTREAM_SHA256:
        sys.exit(f"not the upstream spec of commit {COMMIT}: sha256 {digest}")
    return raw


def with_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with the error schema and the error answers added (changed in place, returned)."""
    spec["components"]["schemas"]["twilio_error"] = TWILIO_ERROR
    path, method = CREATE
    spec["paths"][path][method]["responses"].update(ERRORS)
    path, method = FETCH
    spec["paths"][path][method]["responses"].update({status: ERRORS[status] for status in FETCH_STATUSES})
    return spec


def main(argv: list[str]) -> None:
    source = argv[0] if argv else None
    out = Path(argv[1]) if len(argv) > 1 else OUT
    spec = with_errors(json.loads(upstream(source)))
    out.write_text(json.dumps(spec))  # compact: a third smaller than upstream's indented file
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
