"""Staff accounts: create, sign in (with a lockout after repeated failures), change password.

Passwords are hashed with werkzeug's `generate_password_hash` (scrypt). An unknown address costs
the same hash check as a wrong password, and the answer to both is the same, so the sign-in page
does not tell which addresses have accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..db.tables import staff_users
from ..runtime import Interlude
from . import audit
from .errors import Conflict, InvalidInput, NotFound
from .validation import email as valid_email

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
# Checked against when the address is unknown, so that both answers take the same time.
_DUMMY_HASH = generate_password_hash("interlude-no-such-account")


@dataclass(frozen=True)
class StaffUser:
    id: int
    email: str
    is_admin: bool
    session_epoch: int


class SignInRefused(Exception):
    """Wrong address or password, or the account is locked or disabled (one answer for all)."""


def _user(row: Mapping[Any, Any]) -> StaffUser:
    return StaffUser(row["id"], row["email"], bool(row["is_admin"]), row["session_epoch"])


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": f"at least {MIN_PASSWORD} characters"})
    if len(password) > 200:
        raise InvalidInput({"password": "at most 200 characters"})
    return password


def normalise_email(value: Any) -> str:
    try:
        return valid_email(value).lower()
    except ValueError as exc:
        raise InvalidInput({"email": str(exc)}) from exc


def add_staff(app: Interlude, email: str, password: str, *, admin: bool, actor: str) -> StaffUser:
    """Create an account. Raises InvalidInput (bad address or short password), Conflict (exists)."""
    errors: dict[str, str] = {}
    for check, value in ((normalise_email, email), (check_password, password)):
        try:
            check(value)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    address = normalise_email(email)
    now = app.clock()
    with app.engine.begin() as conn:
        if conn.execute(select(staff_users.c.id).where(staff_users.c.email == address)).first():
            raise Conflict(f"a staff account for {address} exists already")
        new_id = conn.execute(
            insert(staff_users)
            .values(
                email=address,
                password_hash=generate_password_hash(password),
                is_admin=admin,
                active=True,
                failed_logins=0,
                session_epoch=0,
                created_at=now,
                updated_at=now,
            )
            .returning(staff_users.c.id)
        ).scalar_one()
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="staff.added",
            entity="staff",
            entity_id=new_id,
            details={"admin": admin},
        )
        row = conn.execute(select(staff_users).where(staff_users.c.id == new_id)).mappings().one()
    return _user(row)


def set_password(app: Interlude, email: str, password: str, *, actor: str) -> None:
    """A new password; it also unlocks the account and ends its other sign-ins."""
    address = normalise_email(email)
    check_password(password)
    now = app.clock()
    with app.engine.begin() as conn:
        row = conn.execute(select(staff_users).where(staff_users.c.email == address)).mappings().first()
        if row is None:
            raise NotFound("staff account", address)
        conn.execute(
            update(staff_users)
            .where(staff_users.c.id == row["id"])
            .values(
                password_hash=generate_password_hash(password),
                failed_logins=0,
                locked_until=None,
                session_epoch=row["session_epoch"] + 1,
                updated_at=now,
            )
        )
        audit.record(
            conn, at=now, actor=actor, action="staff.password_set", entity="staff", entity_id=row["id"]
        )


def set_active(app: Interlude, email: str, active: bool, *, actor: str) -> None:
    address = normalise_email(email)
    now = app.clock()
    with app.engine.begin() as conn:
        row = conn.execute(select(staff_users).where(staff_users.c.email == address)).mappings().first()
        if row is None:
            raise NotFound("staff account", address)
        conn.execute(
            update(staff_users)
            .where(staff_users.c.id == row["id"])
            .values(active=active, session_epoch=row["session_epoch"] + 1, updated_at=now)
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="staff.enabled" if active else "staff.disabled",
            entity="staff",
            entity_id=row["id"],
        )


def sign_in(app: Interlude, email: str, password: str) -> StaffUser:
    """The account, if the password is right and it is neither locked nor disabled.

    Each failure counts; the `MAX_FAILURES`th locks the account for `LOCK_MINUTES` minutes. A
    right password during the lock is refused too (otherwise the lock would not slow guessing).
    The hash is checked outside any transaction (it takes about 100 ms, and on SQLite a write
    transaction would hold the lock the dispatcher and webhooks need meanwhile); the count is
    one conditional UPDATE, so concurrent guesses count exactly, and none lands once locked.
    """
    now = app.clock()
    address = str(email or "").strip().lower()
    with app.reader.connect() as conn:
        row = conn.execute(select(staff_users).where(staff_users.c.email == address)).mappings().first()
    if row is None:
        check_password_hash(_DUMMY_HASH, str(password or ""))
        raise SignInRefused()
    good = check_password_hash(row["password_hash"], str(password or ""))
    unlocked = or_(staff_users.c.locked_until.is_(None), staff_users.c.locked_until <= now)
    with app.engine.begin() as conn:
        mine = (staff_users.c.id == row["id"]) & unlocked
        if good and row["active"]:
            done = conn.execute(
                update(staff_users).where(mine).values(failed_logins=0, locked_until=None, last_login_at=now)
            )
            if done.rowcount == 1:
                return _user(row)
            raise SignInRefused()
        failures = conn.execute(
            update(staff_users)
            .where(mine)
            .values(failed_logins=staff_users.c.failed_logins + 1)
            .returning(staff_users.c.failed_logins)
        ).scalar()
        if failures is not None and failures >= MAX_FAILURES:
            conn.execute(
                update(staff_users)
                .where(staff_users.c.id == row["id"])
                .values(failed_logins=0, locked_until=now + timedelta(minutes=LOCK_MINUTES))
            )
            audit.record(
                conn, at=now, actor="system", action="staff.locked", entity="staff", entity_id=row["id"]
            )
    raise SignInRefused()


def sign_out_everywhere(app: Interlude, user_id: int) -> None:
    """End every sign-in of this account (each cookie carries the epoch it was made in)."""
    with app.engine.begin() as conn:
        conn.execute(
            update(staff_users)
            .where(staff_users.c.id == user_id)
            .values(session_epoch=staff_users.c.session_epoch + 1)
        )


def active_user(app: Interlude, user_id: int, epoch: int) -> StaffUser | None:
    """The signed-in account for a cookie, or None when it was signed out, disabled or removed."""
    with app.reader.connect() as conn:
        row = conn.execute(select(staff_users).where(staff_users.c.id == user_id)).mappings().first()
    if row is None or not row["active"] or row["session_epoch"] != epoch:
        return None
    return _user(row)


def list_staff(app: Interlude) -> list[dict[str, Any]]:
    with app.reader.connect() as conn:
        rows = conn.execute(select(staff_users).order_by(staff_users.c.email)).mappings().all()
    now = app.clock()
    return [
        {
            "id": r["id"],
            "email": r["email"],
            "admin": bool(r["is_admin"]),
            "active": bool(r["active"]),
            "locked": r["locked_until"] is not None and r["locked_until"] > now,
            "last_login_at": r["last_login_at"],
        }
        for r in rows
    ]


def ensure_demo_admin(app: Interlude, email: str, password: str) -> None:
    """The demo clinic's admin, with a fresh password each time the demo is loaded."""
    try:
        add_staff(app, email, password, admin=True, actor="demo")
    except Conflict:
        set_password(app, email, password, actor="demo")
