"""Idempotency keys: a POST retried with the same `Idempotency-Key` runs once.

The first request with a key claims it: a row (key, path, the hash of the method, path and body)
is inserted and committed before the request runs, with no status yet ("in progress"). The
unique constraint on (key, path) lets one request of any number sent at once claim it; the
others find the row and are answered from it:

- the same request, once the first has answered: the stored answer (status and body), and
  nothing runs again;
- the same request while the first still runs: `InProgress` (409; retry a moment later);
- another request (another body, or the key already used on another path): `KeyReused` (422).

Only a successful answer (2xx) is kept: after an error nothing was created, so the key is freed
and the same request may be sent again with it. A key is kept for `TTL` (housekeeping prunes it
after that, and an expired key may be used again). A request whose process died while it ran
keeps its key "in progress" until then: running it again could create twice what it may have
created already. The stored body is the answer the client already got; nothing else is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import idempotency_keys as keys
from ..runtime import Interlude
from .errors import ServiceError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"  # the header of an answer given again, "true"
MAX_KEY = 200
MAX_PATH = 200  # the column's width; a longer path is stored cut, and its hash keeps it whole
TTL = timedelta(hours=24)
_CLAIM_TRIES = 3


class KeyReused(ServiceError):
    """The key was used for another request (another body, method or path)."""


class InProgress(ServiceError):
    """The first request with this key has not answered yet."""


@dataclass(frozen=True)
class Stored:
    """The answer the first request with the key got."""

    status: int
    body: str


def key_problem(key: str) -> str | None:
    """What is wrong with a header value as an idempotency key, or None when it is fine."""
    if not key:
        return f"empty: send 1 to {MAX_KEY} printable ASCII characters, e.g. a UUID"
    if len(key) > MAX_KEY:
        return f"{len(key)} characters: at most {MAX_KEY}, e.g. a UUID"
    if not all(" " <= ch <= "~" for ch in key):
        return "only printable ASCII characters (space to ~) are allowed, e.g. a UUID"
    return None


def request_hash(method: str, path: str, body: bytes) -> str:
    """The SHA-256 of the request: a key sent again must come with this same request."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(app: Interlude, key: str, method: str, path: str, digest: str) -> int | Stored:
    """Claim `key` for this request: its row's id (run it, then `finish` or `release`), or the
    answer stored for the same request. Raises KeyReused or InProgress."""
    stored_path = path[:MAX_PATH]
    for _ in range(_CLAIM_TRIES):
        now = app.clock()
        with app.engine.begin() as conn:
            # An expired key is free again; a live one on another path was another request.
            conn.execute(delete(keys).where(keys.c.key == key, keys.c.created_at < expired_before(now)))
            other = conn.execute(
                select(keys.c.method, keys.c.path)
                .where(keys.c.key == key, keys.c.path != stored_path)
                .limit(1)
            ).first()
        if other is not None:
            raise KeyReused(f"{HEADER} already used for {other.method} {other.path}: send a new key")
        try:
            with app.engine.begin() as conn:
                return int(
                    conn.execute(
                        insert(keys)
                        .values(
                            key=key,
                            method=method.upper(),
                            path=stored_path,
                            request_hash=digest,
                            status=None,
                            body=None,
                            created_at=now,
                        )
                        .returning(keys.c.id)
                    ).scalar_one()
                )
        except IntegrityError:
            pass  # claimed by an earlier request: answer from its row
        with app.engine.connect() as conn:
            row = conn.execute(
                select(keys.c.request_hash, keys.c.status, keys.c.body).where(
                    keys.c.key == key, keys.c.path == stored_path
                )
            ).first()
        if row is None:
            continue  # freed meanwhile (the first request failed): claim it again
        if row.request_hash != digest:
            raise KeyReused(f"{HEADER} already used for another request to {path}: send a new key")
        if row.status is None:
            raise InProgress(f"a request with this {HEADER} is still running: retry in a moment")
        return Stored(int(row.status), row.body or "")
    raise InProgress(f"a request with this {HEADER} is still running: retry in a moment")


def finish(app: Interlude, claimed: int, status: int, body: str) -> None:
    """Keep the answer of the request that claimed the key, for its retries."""
    with app.engine.begin() as conn:
        conn.execute(update(keys).where(keys.c.id == claimed).values(status=status, body=body))


def release(app: Interlude, claimed: int) -> None:
    """Free a key whose request failed: nothing was created, the same request may come again."""
    with app.engine.begin() as conn:
        conn.execute(delete(keys).where(keys.c.id == claimed, keys.c.status.is_(None)))


def expired_before(now: datetime) -> datetime:
    """Keys created before this instant have expired (housekeeping prunes them)."""
    return now - TTL
