"""What GET /metrics reads from the database: counts and ages only, never a name, number or text.

Read at scrape time, so every web process reports the same figures. Each figure is one aggregate
query on an indexed column, except the recent sends, which read the window's final messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from ...db.tables import escalations, outbox
from ...domain import delivery
from ...domain.schedule import CATEGORIES
from ...runtime import Interlude

# The outcomes counted in interlude_sends_recent: the outbox's final states, and "unknown" (the
# send may have happened; nobody resends it blindly).
SEND_OUTCOMES = (delivery.SENT, delivery.FAILED, delivery.UNKNOWN, delivery.SKIPPED, delivery.CANCELLED)
CHANNELS = ("sms", "email")


@dataclass(frozen=True)
class Figures:
    due: dict[str, int] = field(default_factory=dict)  # category -> pending and due now
    overdue: dict[str, int] = field(default_factory=dict)  # category -> due more than overdue_after ago
    lag_seconds: float = 0.0  # age of the oldest due pending message
    sends: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, outcome) -> count
    escalations_open: int = 0  # open: not acknowledged yet
    oldest_unacknowledged_seconds: float = 0.0


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def read_figures(app: Interlude) -> Figures:
    """The figures at the app's clock now. Raises SQLAlchemyError when the database fails."""
    now = app.clock()
    cfg = app.config.metrics
    pending_due = (outbox.c.status == delivery.PENDING, outbox.c.next_attempt_at <= now)
    with app.reader.connect() as conn:
        due = dict.fromkeys(CATEGORIES, 0)
        overdue = dict.fromkeys(CATEGORIES, 0)
        query = select(outbox.c.category, func.count()).where(*pending_due).group_by(outbox.c.category)
        due.update({r[0]: int(r[1]) for r in conn.execute(query)})
        late = query.where(outbox.c.next_attempt_at <= now - cfg.overdue_after)
        overdue.update({r[0]: int(r[1]) for r in conn.execute(late)})
        oldest_due = conn.execute(select(func.min(outbox.c.next_attempt_at)).where(*pending_due)).scalar()

        sends = {(c, o): 0 for c in CHANNELS for o in SEND_OUTCOMES}
        finished = (
            select(outbox.c.channel, outbox.c.status, func.count())
            .where(outbox.c.status.in_(SEND_OUTCOMES), outbox.c.updated_at >= now - cfg.sends_window)
            .group_by(outbox.c.channel, outbox.c.status)
        )
        sends.update({(r[0], r[1]): int(r[2]) for r in conn.execute(finished)})

        is_open = escalations.c.state == "open"
        open_count, oldest_open = conn.execute(
            select(func.count(), func.min(escalations.c.created_at)).where(is_open)
        ).one()
    return Figures(
        due=due,
        overdue=overdue,
        lag_seconds=_age(now, oldest_due),
        sends=sends,
        escalations_open=int(open_count),
        oldest_unacknowledged_seconds=_age(now, oldest_open),
    )
