"""Consent derived from the ledger: the latest event that covers a channel and purpose wins."""

from __future__ import annotations

import pytest

from service.domain.consent import ConsentEvent, allows, purpose_of


def ev(id_: int, channel: str, purpose: str, action: str) -> ConsentEvent:
    return ConsentEvent(id=id_, channel=channel, purpose=purpose, action=action)


@pytest.mark.parametrize(
    ("events", "channel", "purpose", "expected"),
    [
        pytest.param([], "sms", "care", True, id="no-events-care-allowed"),
        pytest.param([], "sms", "education", True, id="no-events-education-allowed"),
        pytest.param([ev(1, "sms", "care", "opt_out")], "sms", "care", False, id="opt-out"),
        pytest.param(
            [ev(1, "sms", "care", "opt_out"), ev(2, "sms", "care", "opt_in")],
            "sms",
            "care",
            True,
            id="opt-out-then-opt-in",
        ),
        pytest.param(
            [ev(1, "sms", "care", "opt_in"), ev(2, "sms", "care", "opt_out")],
            "sms",
            "care",
            False,
            id="opt-in-then-opt-out",
        ),
        pytest.param(
            [ev(2, "sms", "care", "opt_out"), ev(1, "sms", "care", "opt_in")],
            "sms",
            "care",
            False,
            id="latest-by-id-not-by-list-order",
        ),
        pytest.param([ev(1, "sms", "all", "opt_out")], "sms", "care", False, id="all-covers-care"),
        pytest.param([ev(1, "sms", "all", "opt_out")], "sms", "education", False, id="all-covers-education"),
        pytest.param(
            [ev(1, "sms", "all", "opt_out"), ev(2, "sms", "care", "opt_in")],
            "sms",
            "care",
            True,
            id="care-opt-in-after-stop-all",
        ),
        pytest.param(
            [ev(1, "sms", "all", "opt_out"), ev(2, "sms", "care", "opt_in")],
            "sms",
            "education",
            False,
            id="care-opt-in-leaves-education-out",
        ),
        pytest.param(
            [ev(1, "sms", "care", "opt_in"), ev(2, "sms", "all", "opt_out")],
            "sms",
            "care",
            False,
            id="stop-all-after-opt-in",
        ),
        pytest.param(
            [ev(1, "sms", "education", "opt_out")], "sms", "care", True, id="education-out-care-still-in"
        ),
        pytest.param([ev(1, "sms", "education", "opt_out")], "sms", "education", False, id="education-out"),
        pytest.param([ev(1, "sms", "all", "opt_out")], "email", "care", True, id="sms-stop-leaves-email"),
        pytest.param(
            [ev(1, "email", "all", "opt_out")], "sms", "education", True, id="email-stop-leaves-sms"
        ),
        pytest.param(
            [ev(1, "email", "all", "opt_out"), ev(2, "sms", "all", "opt_in")],
            "email",
            "care",
            False,
            id="sms-opt-in-does-not-restore-email",
        ),
        pytest.param(
            [
                ev(1, "sms", "all", "opt_out"),
                ev(2, "sms", "all", "opt_in"),
                ev(3, "sms", "all", "opt_out"),
                ev(4, "email", "all", "opt_in"),
            ],
            "sms",
            "care",
            False,
            id="back-and-forth-latest-wins",
        ),
    ],
)
def test_allows(events: list[ConsentEvent], channel: str, purpose: str, expected: bool) -> None:
    assert allows(events, channel, purpose) is expected


def test_allows_reads_any_iterable_once() -> None:
    events = iter([ev(1, "sms", "care", "opt_out"), ev(2, "sms", "care", "opt_in")])
    assert allows(events, "sms", "care") is True


@pytest.mark.parametrize(
    ("category", "purpose"),
    [("education", "education"), ("prep", "care"), ("safety", "care"), ("admin", "care")],
)
def test_purpose_of(category: str, purpose: str) -> None:
    """Education is a subscription; preparation, safety and admin messages are care."""
    assert purpose_of(category) == purpose
