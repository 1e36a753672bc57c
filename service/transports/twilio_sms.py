"""SMS through Twilio with the official SDK: send one message, classify what went wrong.

Policy (opt-out ledger, unusable numbers, fallback) is not here: the transport raises a
TransportError with a kind and Twilio's code, and services.delivery_policy acts on it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine, select
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ..config import TwilioConfig
from ..db.engine import reader
from ..db.tables import delivery_attempts
from ..domain.delivery import ATTEMPT_RANK
from ..domain.segments import segment_info
from .base import Outgoing, Pacing, SendResult, TransportError
from .rate_limit import SendSlots

# The SDK logs every request line and response header at INFO; they carry no PHI, but they are
# noise next to our own id-only events, so the SDK gets a logger of its own, set to WARNING.
_sdk_log = logging.getLogger("interlude.twilio.sdk")

# Sends in flight at once: a request takes Twilio about 100-300 ms, so one at a time caps a worker
# near 5 msgs/s whatever the sender's throughput. Each in-flight send holds a reserved slot, so
# at most IN_FLIGHT_SECONDS of the sender's pace is reserved ahead: a message waits at most that
# long between its consent gate and its request (at 1 msg/s, one send at a time, as before).
IN_FLIGHT_SECONDS = 0.25
MAX_IN_FLIGHT = 64
# Attempt states that mean Twilio accepted the request (a status callback or the create answer).
_ACCEPTED = frozenset(s for s in ATTEMPT_RANK if s not in ("created", "sending", "error", "ambiguous"))


class BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending to `base_url` instead of https://api.twilio.com.

    The SDK hard-codes Twilio's hosts; `http_client=` is its supported seam. A configurable
    base URL lets a Twilio-compatible provider, or Twilio's OpenAPI spec under Prism, stand in.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_sdk_log)
        self.base = urlsplit(base_url.rstrip("/"))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        parts = urlsplit(url)
        moved = urlunsplit(
            (self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, parts.fragment)
        )
        return super().request(method, moved, params, data, headers, auth, timeout, allow_redirects)


def sender_key(config: TwilioConfig) -> str:
    """The name of the sender whose throughput is shared: a Messaging Service or a number."""
    return f"twilio:{config.messaging_service_sid or config.from_number}"


class TwilioSmsTransport:
    """Sends SMS through Twilio's Messages API, at most `max_per_second` segments per second."""

    name = "twilio"

    def __init__(
        self,
        config: TwilioConfig,
        auth_token: str,
        public_base_url: str,
        engine: Engine,
    ) -> None:
        self.config = config
        self.engine = engine
        self.callback_base = public_base_url.rstrip("/") + "/twilio/status/"
        self.limiter = SendSlots(engine, sender_key(config), config.max_per_second)
        # Each send waits for its slot: the dispatcher gates (consent, cancellation) each message
        # right before its own send instead of once for a chunk that takes seconds to leave (with
        # concurrency above 1, a few at a time, each handed to a free sender at once).
        self.pacing = Pacing(
            chunk_size=1,
            concurrency=max(1, min(MAX_IN_FLIGHT, int(config.max_per_second * IN_FLIGHT_SECONDS))),
            max_per_second=config.max_per_second,
        )
        http: TwilioHttpClient = (
            BaseUrlHttpClient(config.api_base_url, config.timeout_seconds)
            if config.api_base_url
            else TwilioHttpClient(timeout=config.timeout_seconds, logger=_sdk_log)
        )
        _sdk_log.setLevel(logging.WARNING)
        if http.session is not None:  # one kept-alive connection per send in flight
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.pacing.concurrency)
            http.session.mount("https://", adapter)
            http.session.mount("http://", adapter)
        # environment={}: never pick up TWILIO_* variables (edge, region, credentials) by surprise.
        self.client = Client(config.account_sid, auth_token, http_client=http, environment={})
        # Resolved now, not on the first send: the SDK imports its API modules lazily, and that
        # first-use delay would land between a reserved slot and the request it paces.
        self.messages = self.client.messages

    def status_callback(self, attempt_id: int) -> str:
        """The URL Twilio posts this attempt's delivery status to (it names our attempt)."""
        return f"{self.callback_base}{attempt_id}"

    def send(self, message: Outgoing) -> SendResult:
        self.limiter.wait(segment_info(message.body).segments)
        params: dict[str, Any] = {
            "to": message.to,
            "body": message.body,
            "status_callback": self.status_callback(message.attempt_id),
        }
        if self.config.messaging_service_sid:
            params["messaging_service_sid"] = self.config.messaging_service_sid
        else:
            params["from_"] = self.config.from_number
        try:
            created = self.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise api_error(exc.status, exc.code) from exc
        except requests.RequestException as exc:
            raise network_error(exc) from exc
        status = created.status if created.status in ATTEMPT_RANK else "queued"
        return SendResult(provider_id=created.sid, status=str(status))

    def was_sent(self, attempt_id: int) -> bool | None:
        """Whether Twilio has the attempt: from a status callback already recorded, or by
        looking the message up by its sid. None when neither can tell (no sid is known)."""
        with reader(self.engine).connect() as conn:
            found = conn.execute(
                select(delivery_attempts.c.status, delivery_attempts.c.provider_id).where(
                    delivery_attempts.c.id == attempt_id
                )
            ).first()
        if found is None:
            return None
        status, sid = found
        if status in _ACCEPTED:
            return True
        if status == "error":
            return False
        if not sid:
            return None
        try:
            self.client.messages(sid).fetch()
        except (TwilioRestException, TwilioServiceException) as exc:
            return False if exc.status == 404 else None
        except requests.RequestException:
            return None
        return True


def api_error(status: int, code: int | None) -> TransportError:
    """Twilio answered with an error: 429 and 5xx were never processed (retry), the rest stand."""
    if status == 429 or status >= 500 or code == 20429:
        return TransportError(f"twilio http {status}", kind="retryable", code=str(code or status))
    return TransportError(f"twilio http {status}", kind="permanent", code=str(code or status))


def network_error(exc: requests.RequestException) -> TransportError:
    """No answer from Twilio: could the request have arrived?

    A refused connection, a failed name lookup or TLS handshake, or a connect timeout mean nothing
    left: retry. A read timeout or a connection dropped after the request was written may have
    created the message: "ambiguous", never resent blindly (the status callback settles it).
    """
    if isinstance(exc, requests.ConnectTimeout):
        return TransportError("twilio connect timeout", kind="retryable", code="connect-timeout")
    if isinstance(exc, requests.ReadTimeout):
        return TransportError("twilio read timeout", kind="ambiguous", code="timeout")
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError("twilio tls error", kind="retryable", code="tls-error")
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError):
            return TransportError("twilio unreachable", kind="retryable", code="connection-refused")
        return TransportError("twilio connection lost", kind="ambiguous", code="connection-lost")
    return TransportError(f"twilio {type(exc).__name__}", kind="ambiguous", code="network")
