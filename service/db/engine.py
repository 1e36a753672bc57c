"""Build the SQLAlchemy engine for SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


class DatabaseError(RuntimeError):
    """The database could not be opened or is not at the expected schema."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process read while the worker writes; the busy timeout makes writers
    # queue for the lock instead of failing; NORMAL sync is durable across process crashes in WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READ_ONLY = "interlude_read_only"


def _sqlite_begin(conn: Any) -> None:
    # A writing transaction takes the write lock up front (BEGIN IMMEDIATE): in WAL mode a read
    # transaction that later tries to write fails at once, without waiting, if another writer
    # committed meanwhile. Reads use a plain BEGIN and run beside the writer.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The same engine (and pool) for read-only work: on SQLite it does not take the write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def _private(path: Path) -> None:
    """Make the database file readable by this user only, whatever the umask: it holds PHI.

    SQLite creates the -wal and -shm files with the mode of the database file, so a 0600 file
    keeps them 0600 too. The folder is made 0700; the project's own `instance` folder is set to
    0700 even when it exists (a folder someone else chose is theirs to set).
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        folder.chmod(0o700)
    elif folder.name == "instance":
        folder.chmod(0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        part = path.with_name(name)
        if part.exists() and part.stat().st_mode & 0o077:
            part.chmod(0o600)


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file. Raises DatabaseError if unusable."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseError(f"database.url: not a database URL ({type(exc).__name__})") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            _private(Path(database))
        # hide_parameters: a failed statement must not carry phone numbers or message bodies into
        # the exception text, which the logs print.
        engine = create_engine(
            url, connect_args={"timeout": 10, "check_same_thread": False}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is turned off so that BEGIN IMMEDIATE is ours.
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True
        )
    raise DatabaseError(f"database.url: unsupported database {parsed.get_backend_name()!r}")


def describe(url: str) -> str:
    """The database of `url` for a message: backend, host and name, never the password."""
    parsed = make_url(url)
    where = f"{parsed.host}:{parsed.port or 'default port'}/" if parsed.host else ""
    return f"{parsed.get_backend_name()} {where}{parsed.database or ''}"
