"""A send rate shared by every worker process: one reserved slot per message, kept in the database.

A provider's sender has a fixed throughput (Twilio: 1 segment/s for a long code, 3 toll-free, more
for a short code). Sending faster does not make messages arrive sooner: the provider queues the
excess in arrival order, where an education message already queued delays a safety message behind
it. Keeping the pace here keeps the backlog in our outbox, where the dispatcher takes the most
urgent category first.

The limiter is a virtual schedule (GCRA without burst): `send_slots.next_at` is the earliest
instant the sender may send again. Reserving a slot is one atomic UPDATE ... RETURNING that moves
`next_at` forward by the cost of the message, so any number of processes on any number of hosts
share one pace (their clocks must agree to within a few milliseconds: run NTP). The reserving
transaction commits before the wait, so nobody holds a lock while sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, case, insert, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import send_slots


class SendSlots:
    """Paces one sender at `per_second` units (messages or segments) per second, across processes."""

    def __init__(
        self,
        engine: Engine,
        key: str,
        per_second: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.engine = engine
        self.key = key[:80]
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep

    def reserve(self, units: float = 1.0) -> float:
        """Reserve the next free slot for `units`; returns its start (epoch seconds). Never waits."""
        cost = units / self.per_second
        now = self.clock()
        col = send_slots.c.next_at
        move = (
            update(send_slots)
            .where(send_slots.c.key == self.key)
            .values(next_at=case((col > now, col), else_=now) + cost)
            .returning(col)
        )
        for _ in range(2):
            with self.engine.begin() as conn:
                ends = conn.execute(move).scalar()
                if ends is not None:
                    return float(ends) - cost
                try:
                    with conn.begin_nested():
                        conn.execute(insert(send_slots).values(key=self.key, next_at=now + cost))
                    return now
                except IntegrityError:
                    pass  # another process created the row first: take a slot after theirs
        raise RuntimeError("send slot row could not be created")  # pragma: no cover

    def wait(self, units: float = 1.0) -> float:
        """Reserve a slot and sleep until it starts; returns the seconds waited."""
        start = self.reserve(units)
        delay = start - self.clock()
        if delay > 0:
            self.sleep(delay)
        return max(0.0, delay)
