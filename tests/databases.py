"""Test databases, migrated once per test session.

Running every migration takes about 0.1 s, and nearly every test needs a database at the latest
schema. So the first test that needs one migrates a template for real (`service.db.migrate.upgrade`,
what `interlude init` runs), and each later test starts from that template:

- SQLite: an empty database file becomes a byte copy of the migrated template file.
- PostgreSQL: each test has a schema of its own (`new_schema`). An empty one is replaced by a
  migrated schema renamed to its name. When the test ends (`release_schema`) its schema is emptied
  (its rows deleted, its sequences started again) and kept for a later test, unless its structure
  is no longer the template's (a migration test moved it) or it cannot be emptied: then it is
  dropped, as every schema was before.

A database that already holds anything is migrated for real, and tests of the migrations call
`upgrade` themselves, so they run every migration as before.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from service.db.engine import make_engine
from service.db.migrate import MIGRATIONS, current_revision, upgrade

POSTGRES_URL = os.environ.get(
    "INTERLUDE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

_lock = threading.RLock()
_pg_state: dict[str, Any] = {}


def postgres_available() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = create_engine(POSTGRES_URL)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:  # any failure to connect means: no peer here
            _pg_state["ok"] = False
            _pg_state["why"] = f"{type(exc).__name__}"
    return bool(_pg_state["ok"])


def postgres_unavailable_reason() -> str:
    return str(_pg_state.get("why"))


def migrated_engine(url: str) -> Engine:
    """An engine on `url` at the latest schema: the session's template when the database is empty."""
    engine = make_engine(url)
    if not _start_from_template(engine, url):
        upgrade(engine)
    return engine


def _start_from_template(engine: Engine, url: str) -> bool:
    if engine.dialect.name == "sqlite":
        return _copy_sqlite_template(url)
    schema = _fresh_schema(url)
    return schema is not None and _hand_over_schema(schema)


# --- SQLite --------------------------------------------------------------------------------------


_sqlite: list[Path] = []  # the migrated template file, once made


def _sqlite_template() -> Path:
    with _lock:
        if not _sqlite:
            path = Path(tempfile.mkdtemp(prefix="interlude-template-")) / "template.db"
            engine = make_engine(f"sqlite:///{path}")
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            # Everything into the main file, so that a copy of that one file is the whole database.
            with closing(sqlite3.connect(path)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _sqlite.append(path)
        return _sqlite[0]


def _copy_sqlite_template(url: str) -> bool:
    database = make_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    path = Path(database)
    # make_engine has created the file (empty, private); a database that holds anything is not ours.
    if not path.exists() or path.stat().st_size or path.with_name(f"{path.name}-wal").exists():
        return False
    shutil.copyfile(_sqlite_template(), path)  # into the same file: its mode stays
    return True


# --- PostgreSQL ----------------------------------------------------------------------------------


@dataclass
class _PgTemplate:
    head: str | None
    shape: str  # the catalog's account of a migrated schema, to compare a used one with
    children_first: list[str]  # its tables in an order that deletes rows before those they reference
    reusable: bool  # false when the migrations leave rows, which emptying would lose
    ready: list[str] = field(default_factory=list)  # migrated, empty schemas waiting for a test


_pg: list[_PgTemplate] = []
_fresh: set[str] = set()  # schemas made by new_schema and not yet given a migrated one
_admin: list[Engine] = []


def _admin_engine() -> Engine:
    with _lock:
        if not _admin:
            _admin.append(create_engine(POSTGRES_URL))
        return _admin[0]


def schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


def new_schema() -> str:
    """An empty schema of a test's own; give it back with `release_schema`."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _admin_engine().begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    with _lock:
        _fresh.add(schema)
    return schema


def release_schema(schema: str) -> None:
    """After the test: its schema emptied and kept for a later test when it can be, else dropped."""
    with _lock:
        _fresh.discard(schema)
    if _keep(schema):
        return
    with _admin_engine().begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def remove_templates() -> None:
    """At the end of the session: the SQLite template file and the waiting PostgreSQL schemas."""
    for path in _sqlite:
        shutil.rmtree(path.parent, ignore_errors=True)
    _sqlite.clear()
    if _admin:
        with _admin[0].begin() as conn:
            for template in _pg:
                for schema in template.ready:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        _admin[0].dispose()
        _admin.clear()
    _pg.clear()


def _fresh_schema(url: str) -> str | None:
    """The schema a URL of `schema_url` names, if new_schema made it and it has not been filled."""
    options = make_url(url).query.get("options")
    if not isinstance(options, str) or not options.startswith("-csearch_path="):
        return None
    schema = options.removeprefix("-csearch_path=")
    with _lock:
        if schema not in _fresh:
            return None
        _fresh.discard(schema)
        return schema


def _hand_over_schema(schema: str) -> bool:
    """Put a migrated schema in the place of `schema`, if that one is still empty."""
    ready = _migrated_schema()
    try:
        with _admin_engine().begin() as conn:
            # Without CASCADE: refused, and nothing changed, if the test has put anything there.
            conn.execute(text(f"DROP SCHEMA {schema}"))
            conn.execute(text(f"ALTER SCHEMA {ready} RENAME TO {schema}"))
    except SQLAlchemyError:
        with _lock:
            _pg[0].ready.append(ready)
        return False
    return True


def _migrated_schema() -> str:
    """A migrated, empty schema: one a test gave back, or a new one migrated for real."""
    with _lock:
        if _pg and _pg[0].ready:
            return _pg[0].ready.pop()
    schema = f"tpl_{uuid.uuid4().hex[:12]}"
    with _admin_engine().begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(schema_url(schema))
    try:
        upgrade(engine)
        head = current_revision(engine)
    finally:
        engine.dispose()
    if not _pg:
        template = _describe(schema, head)
        with _lock:
            if not _pg:
                _pg.append(template)
    return schema


def _describe(schema: str, head: str | None) -> _PgTemplate:
    with _admin_engine().begin() as conn:
        conn.execute(text(f"SET LOCAL search_path TO {schema}"))
        tables = list(conn.execute(text(_TABLES), {"ns": schema}).scalars())
        references: dict[str, set[str]] = {t: set() for t in tables}
        for child, parent in conn.execute(text(_REFERENCES), {"ns": schema}).all():
            if child != parent and child in references:
                references[child].add(parent)
        try:
            children_first = list(reversed(list(TopologicalSorter(references).static_order())))
        except CycleError:
            children_first = []
        empty = all(
            conn.execute(text(f'SELECT NOT EXISTS (SELECT 1 FROM "{t}")')).scalar_one() for t in tables
        )
        shape = _shape(conn, schema)
    return _PgTemplate(head, shape, children_first, reusable=bool(children_first) and empty)


def _keep(schema: str) -> bool:
    """Empty a used schema and put it back among the ready ones, if it still has the template's shape."""
    template = _pg[0] if _pg else None
    if template is None or not template.reusable:
        return False
    spare = f"tpl_{uuid.uuid4().hex[:12]}"
    try:
        with _admin_engine().begin() as conn:
            conn.execute(text(f"SET LOCAL search_path TO {schema}"))
            # A connection the test left in a transaction must not hold the run up: drop instead.
            conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            if _shape(conn, schema) != template.shape:
                return False
            if conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() != template.head:
                return False
            for table in template.children_first:
                conn.execute(text(f'DELETE FROM "{table}"'))
            conn.execute(text(_RESTART_SEQUENCES), {"ns": schema})
            conn.execute(text(f"ALTER SCHEMA {schema} RENAME TO {spare}"))
    except SQLAlchemyError:
        return False
    with _lock:
        template.ready.append(spare)
    return True


def _shape(conn: Connection, schema: str) -> str:
    lines = conn.execute(text(_SHAPE), {"ns": schema}).scalars()
    # Index definitions name their schema; the rest is printed relative to the search path.
    return "\n".join(line.replace(f"{schema}.", "") for line in lines)


_TABLES = """
SELECT relname FROM pg_class
WHERE relnamespace = CAST(:ns AS regnamespace) AND relkind IN ('r', 'p') AND relname <> 'alembic_version'
ORDER BY relname
"""

_REFERENCES = """
SELECT child.relname, parent.relname
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
WHERE k.contype = 'f' AND k.connamespace = CAST(:ns AS regnamespace)
"""

# Relations and their columns, indexes, constraints, types, triggers and functions: any change a
# test could make to the structure shows here.
_SHAPE = """
SELECT line FROM (
    SELECT concat_ws(' ', 'column', c.relname, c.relkind, a.attnum, a.attname,
                     format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS line
    FROM pg_class c
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = CAST(:ns AS regnamespace)
    UNION ALL
    SELECT concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = CAST(:ns AS regnamespace)
    UNION ALL
    SELECT concat_ws(' ', 'constraint', conrelid::regclass, contypid, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = CAST(:ns AS regnamespace)
    UNION ALL
    SELECT concat_ws(' ', 'type', t.typname, t.typtype, e.enumsortorder, e.enumlabel)
    FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE t.typnamespace = CAST(:ns AS regnamespace)
    UNION ALL
    SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(g.oid))
    FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
    WHERE c.relnamespace = CAST(:ns AS regnamespace) AND NOT g.tgisinternal
    UNION ALL
    SELECT concat_ws(' ', 'function', p.oid::regprocedure, md5(p.prosrc))
    FROM pg_proc p WHERE p.pronamespace = CAST(:ns AS regnamespace)
) shape
ORDER BY line
"""

# Each sequence back where CREATE SEQUENCE left it: the next id is its start again.
_RESTART_SEQUENCES = """
SELECT setval(s.seqrelid, s.seqstart, false)
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
WHERE c.relnamespace = CAST(:ns AS regnamespace)
"""


def downgrade(engine: Engine, revision: str) -> None:
    """Run the migrations down to `revision` (a migration test's way back)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
