"""Reconciliation: the stored messages of a session (or an enrolment) and a new plan -> changes.

One rule for the real re-plan (a reschedule, a staff edit of a step) and for its preview, so that
what staff are shown is what saving does:

- a pending message takes its new time (or is kept, or skipped when it can no longer go);
- a message tried for this occurrence (sent, sending, failed, or perhaps sent) is never sent
  again;
- a message not stored yet for this occurrence is new; one cancelled or skipped before under the
  same key is written again rather than inserted twice;
- a pending message no longer in the plan is cancelled.

Only the planner's own rows are reconciled: a reminder, a page, a staff answer or a fallback by
the other channel is never cancelled as "no longer planned".

Pure: stored rows are mappings with the outbox's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import delivery
from .course import planned_time
from .origin import Origin, planner_key, priority
from .planner import PlannedMessage

# A row in one of these states has been tried for its occurrence: it is never planned again.
TRIED = frozenset({delivery.SENT, delivery.SENDING, delivery.UNKNOWN, delivery.FAILED})
NO_LONGER_PLANNED = "no-longer-planned"


class Action(StrEnum):
    NEW = "new"
    MOVES = "moves"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    ALREADY_SENT = "already-sent"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Change:
    """What the new plan does to one message (a step by one channel).

    `pending` is the pending row moved, kept, skipped or cancelled. Without one, a new or
    skipped message is a row to write: `revive` (a row of the same key, cancelled or skipped
    before) or, when None, a row to insert.
    """

    action: Action
    step_id: str
    channel: str
    planned: PlannedMessage | None = None
    pending: Mapping[Any, Any] | None = None
    revive: Mapping[Any, Any] | None = None
    occurrence: int = 0


def reconcile(
    stored: Iterable[Mapping[Any, Any]],
    planned: Iterable[PlannedMessage],
    *,
    patient_id: int,
    session_id: int | None,
    schedule: str,
    occurrence: int,
) -> list[Change]:
    """The changes, planned messages first in plan order, then the cancelled ones.

    `stored` holds the rows of the session (or of the patient's enrolment, `session_id` None);
    `occurrence` is the session's occurrence now (a reschedule counts one more).
    """
    by_step: dict[tuple[str, str], list[Mapping[Any, Any]]] = {}
    for row in stored:
        if row["origin"] == Origin.PLANNER:
            by_step.setdefault((row["step_id"], row["channel"]), []).append(row)
    changes = []
    seen: set[tuple[str, str]] = set()
    for pm in planned:
        seen.add((pm.step.id, pm.channel))
        occ = occurrence if pm.occurrence_scoped else 0
        key = planner_key(
            session_id=session_id,
            patient_id=patient_id,
            schedule=schedule,
            step_id=pm.step.id,
            channel=pm.channel,
            occurrence=occ,
        )
        changes.append(_change(pm, by_step.get((pm.step.id, pm.channel), []), occ, key))
    for step, rows in by_step.items():
        if step not in seen:
            changes.extend(
                Change(Action.CANCELLED, r["step_id"], r["channel"], pending=r, occurrence=r["occurrence"])
                for r in rows
                if r["status"] == delivery.PENDING
            )
    return changes


def _change(pm: PlannedMessage, rows: list[Mapping[Any, Any]], occ: int, key: str) -> Change:
    step, channel = pm.step.id, pm.channel
    pending = [r for r in rows if r["status"] == delivery.PENDING]
    if pending:
        row = pending[0]
        if pm.status != delivery.PENDING:
            action = Action.SKIPPED
        else:
            action = Action.UNCHANGED if _as_planned(row, pm) else Action.MOVES
        return Change(action, step, channel, pm, pending=row, occurrence=occ)
    if any(r["status"] in TRIED and r["occurrence"] == occ for r in rows):
        return Change(Action.ALREADY_SENT, step, channel, pm, occurrence=occ)
    revive = next((r for r in rows if r["dedupe_key"] == key), None)
    action = Action.NEW if pm.status == delivery.PENDING else Action.SKIPPED
    return Change(action, step, channel, pm, revive=revive, occurrence=occ)


def _as_planned(row: Mapping[Any, Any], pm: PlannedMessage) -> bool:
    """The pending row is what the plan asks for: its time (before the course-wide rules moved
    it, domain/course.py), and the step as it is now (an edited step may have changed its
    template or category)."""
    due, send_by = planned_time(row)
    return (
        due == pm.due_at
        and send_by == pm.send_by
        and row["template"] == pm.step.template
        and row["category"] == pm.step.category
        and row["priority"] == priority(Origin.PLANNER, pm.step.category)
    )
