"""A session's states, the moves between them, and whether a message about it still goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.session_state import (
    Change,
    Look,
    MessageKind,
    Move,
    SessionState,
    Stop,
    change,
    message_stop,
)

NOW = datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
AHEAD = NOW + timedelta(hours=2)  # a session still to come
BEHIND = NOW - timedelta(hours=2)  # a session that has started

BOOKED, CANCELLED, COMPLETED, NO_SHOW = (
    SessionState.BOOKED,
    SessionState.CANCELLED,
    SessionState.COMPLETED,
    SessionState.NO_SHOW,
)
PREP, PATIENT, PAGE = MessageKind.PREPARATION, MessageKind.PATIENT, MessageKind.STAFF_PAGE
GOES = None
CANCELLED_STOP = Stop("cancelled", "session-cancelled")
NO_SHOW_STOP = Stop("cancelled", "session-no-show")
COMPLETED_STOP = Stop("cancelled", "session-completed")
STARTED_STOP = Stop("skipped", "session-started")


def test_the_states_are_stored_as_the_words_already_in_the_data() -> None:
    assert [s.value for s in SessionState] == ["booked", "cancelled", "completed", "no_show"]
    assert SessionState("no_show") is NO_SHOW and NO_SHOW == "no_show" and f"{NO_SHOW}" == "no_show"


# --- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "kind", "started", "expected"),
    [
        (BOOKED, PREP, False, GOES),
        (BOOKED, PREP, True, STARTED_STOP),
        (BOOKED, PATIENT, False, GOES),
        (BOOKED, PATIENT, True, GOES),
        (BOOKED, PAGE, True, GOES),
        (CANCELLED, PREP, False, CANCELLED_STOP),
        (CANCELLED, PATIENT, True, CANCELLED_STOP),
        (CANCELLED, PAGE, True, GOES),
        (NO_SHOW, PREP, True, NO_SHOW_STOP),
        (NO_SHOW, PATIENT, True, NO_SHOW_STOP),
        (NO_SHOW, PAGE, True, GOES),
        (COMPLETED, PREP, True, COMPLETED_STOP),
        (COMPLETED, PREP, False, COMPLETED_STOP),
        (COMPLETED, PATIENT, True, GOES),
        (COMPLETED, PAGE, True, GOES),
    ],
)
def test_when_a_batch_is_decided_a_message_goes_as_its_session_allows(state, kind, started, expected) -> None:
    assert message_stop(state, kind, Look.DECIDE, started=started) == expected


@pytest.mark.parametrize(
    ("state", "kind", "expected"),
    [
        (BOOKED, PREP, GOES),
        (BOOKED, PATIENT, GOES),
        (BOOKED, PAGE, GOES),
        (CANCELLED, PREP, CANCELLED_STOP),
        (CANCELLED, PATIENT, CANCELLED_STOP),
        (CANCELLED, PAGE, GOES),
        (NO_SHOW, PREP, NO_SHOW_STOP),
        (NO_SHOW, PATIENT, NO_SHOW_STOP),
        (NO_SHOW, PAGE, GOES),
        (COMPLETED, PREP, GOES),
        (COMPLETED, PATIENT, GOES),
        (COMPLETED, PAGE, GOES),
    ],
)
def test_right_before_the_send_only_a_cancel_or_a_no_show_stops_a_patient_message(
    state, kind, expected
) -> None:
    assert message_stop(state, kind, Look.GATE) == expected
    assert message_stop(state, kind, Look.GATE, started=True) == expected  # the start is not looked at


def test_a_state_read_from_the_database_is_plain_text_and_answers_the_same() -> None:
    assert message_stop("cancelled", PATIENT, Look.DECIDE) == CANCELLED_STOP
    assert message_stop("no_show", PATIENT, Look.GATE) == NO_SHOW_STOP
    assert message_stop("no_show", PAGE, Look.GATE) is GOES  # a page about the patient always goes


@pytest.mark.parametrize(
    ("audience", "category", "kind"),
    [
        ("patient", "prep", PREP),
        ("patient", "education", PATIENT),
        ("patient", "admin", PATIENT),
        ("patient", "safety", PATIENT),
        ("staff", "safety", PAGE),
        ("staff", "prep", PAGE),
    ],
)
def test_a_message_is_preparation_a_patient_message_or_a_staff_page(audience, category, kind) -> None:
    assert MessageKind.of(audience, category) is kind


# --- moves -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "move", "start", "expected"),
    [
        (None, Move.BOOK, AHEAD, Change(BOOKED)),
        (BOOKED, Move.RESCHEDULE, AHEAD, Change(BOOKED)),
        (BOOKED, Move.RESCHEDULE, BEHIND, Change(BOOKED)),
        (BOOKED, Move.CANCEL, AHEAD, Change(CANCELLED)),
        (BOOKED, Move.CANCEL, BEHIND, Change(CANCELLED)),
        (BOOKED, Move.COMPLETE, BEHIND, Change(COMPLETED)),
        (BOOKED, Move.COMPLETE, NOW, Change(COMPLETED)),
        (BOOKED, Move.NO_SHOW, BEHIND, Change(NO_SHOW)),
    ],
)
def test_a_booked_session_may_move_on(state, move, start, expected) -> None:
    assert change(state, move, start_at=start, now=NOW) == expected


@pytest.mark.parametrize(
    ("state", "move", "start", "why"),
    [
        (BOOKED, Move.COMPLETE, AHEAD, "has not started yet"),
        (BOOKED, Move.NO_SHOW, AHEAD, "has not started yet"),
        (CANCELLED, Move.RESCHEDULE, AHEAD, "is cancelled; only a booked session can be rescheduled"),
        (COMPLETED, Move.RESCHEDULE, BEHIND, "is completed; only a booked session can be rescheduled"),
        (NO_SHOW, Move.RESCHEDULE, BEHIND, "is no_show; only a booked session can be rescheduled"),
        (COMPLETED, Move.CANCEL, BEHIND, "is completed; it cannot become cancelled"),
        (NO_SHOW, Move.CANCEL, BEHIND, "is no_show; it cannot become cancelled"),
        (CANCELLED, Move.COMPLETE, BEHIND, "is cancelled; it cannot become completed"),
        (NO_SHOW, Move.COMPLETE, BEHIND, "is no_show; it cannot become completed"),
        (CANCELLED, Move.NO_SHOW, BEHIND, "is cancelled; it cannot become no_show"),
        (COMPLETED, Move.NO_SHOW, BEHIND, "is completed; it cannot become no_show"),
    ],
)
def test_a_session_that_is_over_or_still_to_come_refuses_the_move(state, move, start, why) -> None:
    assert change(state, move, start_at=start, now=NOW).refused == why


@pytest.mark.parametrize(
    ("state", "move", "start"),
    [
        (CANCELLED, Move.CANCEL, AHEAD),
        (COMPLETED, Move.COMPLETE, BEHIND),
        (NO_SHOW, Move.NO_SHOW, BEHIND),
        (COMPLETED, Move.COMPLETE, AHEAD),  # repeated before the start check: still nothing to do
    ],
)
def test_a_repeated_request_changes_nothing(state, move, start) -> None:
    assert change(state, move, start_at=start, now=NOW) == Change(state, unchanged=True)
