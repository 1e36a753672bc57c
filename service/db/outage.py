"""A database that stops answering: recognised, told once when it starts and once when it ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger("interlude.database")


def unreachable(exc: BaseException) -> bool:
    """A failure to reach the database (refused, dropped, cannot open), not a failing statement.

    SQLite's "database is locked" is a busy writer, not an outage: it stays an ordinary failure.
    """
    return isinstance(exc, OperationalError | InterfaceError) and "locked" not in str(exc.orig)


class Outage:
    """Whether the database answers, told once when it stops and once when it is back.

    While it is down every caller waits a growing pause (1 s doubling to 30 s) before trying again,
    instead of failing every second with a traceback each (about 110 log lines a second for a
    handful of jobs). The engines reconnect by themselves (pre-ping), so the first success ends
    the outage.
    """

    MAX_PAUSE = 30.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: float | None = None
        self.pause = 1.0
        self.retry_at = 0.0

    def waiting(self) -> bool:
        return self.since is not None and self.clock() < self.retry_at

    def failed(self, exc: BaseException) -> None:
        now = self.clock()
        if self.since is None:
            self.since, self.pause = now, 1.0
            log.error(
                "database unreachable; retrying with a growing pause", extra={"error": type(exc).__name__}
            )
        else:
            self.pause = min(self.pause * 2, self.MAX_PAUSE)
        self.retry_at = now + self.pause

    def recovered(self) -> None:
        if self.since is not None:
            log.warning(
                "database reachable again", extra={"reason": f"after {self.clock() - self.since:.0f}s"}
            )
            self.since = None
