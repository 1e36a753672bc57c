"""Reconciling a session's stored messages with a new plan: one rule for re-plans and previews.

The table: the state of the stored row (or none) x what the new plan asks for the same step and
channel (a message to send, one skipped, or nothing) x whether the step repeats on reschedule ->
the change. Every case is a reschedule: the row was stored for occurrence 0, the plan is for
occurrence 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain import delivery
from service.domain.durations import Offset
from service.domain.origin import Origin, planner_key, priority
from service.domain.planner import PlannedMessage
from service.domain.reconcile import Action, reconcile
from service.domain.schedule import Step

PATIENT, SESSION = 3, 7
BEFORE = datetime(2027, 3, 11, 23, 0, tzinfo=UTC)
AFTER = BEFORE + timedelta(days=7)
TRIED = (delivery.SENT, delivery.SENDING, delivery.UNKNOWN, delivery.FAILED)
NEVER_SENT = (delivery.CANCELLED, delivery.SKIPPED)


def step(repeats: bool) -> Step:
    return Step(
        "prep_evening_before",
        "start",
        Offset(days=-1),
        "prep_evening_before",
        "prep",
        ("sms",),
        repeat_on_reschedule=repeats,
    )


def stored(status: str, *, origin: Origin = Origin.PLANNER, row_id: int = 1, **extra: Any) -> dict[str, Any]:
    """A row of the step as booking stored it (occurrence 0), due BEFORE."""
    key = planner_key(
        session_id=SESSION,
        patient_id=PATIENT,
        schedule="default",
        step_id="prep_evening_before",
        channel="sms",
        occurrence=0,
    )
    return {
        "id": row_id,
        "origin": origin,
        "dedupe_key": key if origin is Origin.PLANNER else f"fallback:{row_id + 100}",
        "step_id": "prep_evening_before",
        "channel": "sms",
        "status": status,
        "occurrence": 0,
        "due_at": BEFORE,
        "send_by": BEFORE + timedelta(days=1),
        "template": "prep_evening_before",
        "category": "prep",
        "priority": priority(Origin.PLANNER, "prep"),
        **extra,
    }


def planned(status: str, repeats: bool, due: datetime = AFTER) -> PlannedMessage:
    reason = None if status == delivery.PENDING else "too-late"
    return PlannedMessage(step(repeats), "sms", due, due + timedelta(days=1), status, reason)


def changes(rows: list[dict[str, Any]], plan: list[PlannedMessage]) -> list[tuple[str, str | None]]:
    """(action, what is written) for each change: "update" the pending row, "revive" a row of
    the same key, "insert" a new row, or None."""
    found = reconcile(rows, plan, patient_id=PATIENT, session_id=SESSION, schedule="default", occurrence=1)
    out = []
    for c in found:
        if c.action in (Action.ALREADY_SENT, Action.UNCHANGED, Action.CANCELLED):
            write = None
        elif c.pending is not None:
            write = "update"
        else:
            write = "revive" if c.revive is not None else "insert"
        out.append((c.action.value, write))
    return out


CASES = [
    # a pending row moves with the session, is skipped when it can no longer go, or is cancelled
    *[(delivery.PENDING, delivery.PENDING, r, [("moves", "update")]) for r in (False, True)],
    *[(delivery.PENDING, delivery.SKIPPED, r, [("skipped", "update")]) for r in (False, True)],
    *[(delivery.PENDING, None, r, [("cancelled", None)]) for r in (False, True)],
    # tried once: never again for the same occurrence; a step that repeats has a new one
    *[(s, delivery.PENDING, False, [("already-sent", None)]) for s in TRIED],
    *[(s, delivery.SKIPPED, False, [("already-sent", None)]) for s in TRIED],
    *[(s, delivery.PENDING, True, [("new", "insert")]) for s in TRIED],
    *[(s, delivery.SKIPPED, True, [("skipped", "insert")]) for s in TRIED],
    *[(s, None, r, []) for s in TRIED for r in (False, True)],
    # cancelled or skipped before: wanted again under the same key, the row is written again
    *[(s, delivery.PENDING, False, [("new", "revive")]) for s in NEVER_SENT],
    *[(s, delivery.SKIPPED, False, [("skipped", "revive")]) for s in NEVER_SENT],
    *[(s, delivery.PENDING, True, [("new", "insert")]) for s in NEVER_SENT],
    *[(s, delivery.SKIPPED, True, [("skipped", "insert")]) for s in NEVER_SENT],
    *[(s, None, r, []) for s in NEVER_SENT for r in (False, True)],
    # nothing stored yet
    *[(None, delivery.PENDING, r, [("new", "insert")]) for r in (False, True)],
    *[(None, delivery.SKIPPED, r, [("skipped", "insert")]) for r in (False, True)],
]


@pytest.mark.parametrize(
    ("state", "plan", "repeats", "expected"),
    CASES,
    ids=[f"{s or 'none'}-plan:{p or 'absent'}-{'repeats' if r else 'once'}" for s, p, r, _ in CASES],
)
def test_each_stored_state_meets_the_new_plan_as_the_table_says(state, plan, repeats, expected):
    rows = [stored(state)] if state else []
    plan_ = [planned(plan, repeats)] if plan else []
    assert changes(rows, plan_) == expected


@pytest.mark.parametrize("state", TRIED)
@pytest.mark.parametrize("plan", [delivery.PENDING, delivery.SKIPPED])
def test_a_message_already_sent_is_never_sent_again(state, plan):
    [change] = reconcile(
        [stored(state)],
        [planned(plan, repeats=False)],
        patient_id=PATIENT,
        session_id=SESSION,
        schedule="default",
        occurrence=1,
    )
    assert change.action is Action.ALREADY_SENT
    assert change.pending is None and change.revive is None  # nothing to write


def test_a_pending_row_already_as_planned_is_unchanged():
    rows = [stored(delivery.PENDING)]
    same = PlannedMessage(step(False), "sms", BEFORE, BEFORE + timedelta(days=1), delivery.PENDING)
    assert changes(rows, [same]) == [("unchanged", None)]


def test_a_pending_row_whose_step_changed_template_moves_even_at_the_same_time():
    rows = [stored(delivery.PENDING, template="prep_old_words")]
    same = PlannedMessage(step(False), "sms", BEFORE, BEFORE + timedelta(days=1), delivery.PENDING)
    assert changes(rows, [same]) == [("moves", "update")]


def test_only_the_planners_rows_are_reconciled():
    fallback = stored(delivery.PENDING, origin=Origin.FALLBACK, row_id=2)
    reminder = stored(delivery.PENDING, origin=Origin.REMINDER, row_id=3)
    assert changes([fallback, reminder], []) == []
    assert changes([fallback], [planned(delivery.PENDING, False)]) == [("new", "insert")]


def test_a_sent_row_of_an_earlier_occurrence_does_not_stop_a_repeating_step():
    sent_before = stored(delivery.SENT, occurrence=0)
    sent_now = stored(delivery.SENT, row_id=2, occurrence=1, dedupe_key="s7:prep_evening_before:sms:1")
    assert changes([sent_before], [planned(delivery.PENDING, True)]) == [("new", "insert")]
    assert changes([sent_before, sent_now], [planned(delivery.PENDING, True)]) == [("already-sent", None)]


def test_an_enrolment_step_is_keyed_by_patient_and_schedule():
    key = planner_key(
        session_id=None,
        patient_id=PATIENT,
        schedule="default",
        step_id="welcome",
        channel="sms",
        occurrence=0,
    )
    assert key == "p3:default:welcome:sms"
    cancelled = stored(delivery.CANCELLED, dedupe_key=key, step_id="welcome")
    welcome = PlannedMessage(
        Step("welcome", "enrolment", Offset(), "welcome", "admin", ("sms",)), "sms", AFTER, None, "pending"
    )
    [change] = reconcile(
        [cancelled], [welcome], patient_id=PATIENT, session_id=None, schedule="default", occurrence=0
    )
    assert change.action is Action.NEW and change.revive is cancelled
