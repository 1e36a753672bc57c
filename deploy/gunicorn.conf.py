"""Gunicorn settings for the web half of Interlude: the one config, used in production (Procfile,
systemd) and by the inbound benchmark (bench/b4_inbound.py), so the figures are of what runs.

    gunicorn -c deploy/gunicorn.conf.py 'service.web:create_app()'

Environment: INTERLUDE_BIND (default 127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is set, as on
a Procfile platform), WEB_CONCURRENCY (worker processes, default 4), and the INTERLUDE_* settings
and secrets every Interlude process reads. Each worker process opens its own connection pool:
size [database] pool_size with the formula in README.md ("Deploying on PostgreSQL ...").
"""

from __future__ import annotations

import os
import sys
from typing import Any

_port = os.environ.get("PORT")
bind = os.environ.get("INTERLUDE_BIND") or (f"0.0.0.0:{_port}" if _port else "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Sync workers serve one request at a time, so each holds at most one pooled connection at a time.
worker_class = "sync"
# Not preloaded: every worker builds its app, engine and pool after the fork. A pool opened in the
# master and inherited by the workers would share one PostgreSQL socket between processes.
preload_app = False
timeout = 30
graceful_timeout = 30
# No access log: a request line can carry a patient's name or phone number (the staff search's
# query string). Errors still go to stderr; the app logs ids and reason codes only.
accesslog = None
errorlog = "-"
# Gunicorn 25+ opens a control socket in $HOME by default; reloads use SIGHUP here, and the
# systemd unit keeps home directories read-only.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Refuse to start on a database `interlude init` has not migrated, as `interlude web` does:
    the web processes never migrate (several would race), and without this gunicorn would start
    and answer every request with an error. (Another app under this config, the benchmark's
    minimal ceiling, has no Interlude schema to check.)"""
    if not str(getattr(server.app, "app_uri", "") or "").startswith("service.web"):
        return
    from service.config import ConfigError, load_config
    from service.db.engine import DatabaseError, make_engine
    from service.db.migrate import is_current

    try:
        config = load_config()
        engine = make_engine(config.database.url, pool_size=1)
    except (ConfigError, DatabaseError) as exc:
        sys.exit(f"error: {exc}")
    try:
        current = is_current(engine)
    except Exception as exc:  # unreachable database: say so plainly and let the supervisor retry
        sys.exit(f"error: the database cannot be reached ({type(exc).__name__})")
    finally:
        engine.dispose()
    if not current:
        sys.exit("error: the database is not at the current schema; run `interlude init` first")
