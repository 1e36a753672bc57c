"""Transports declare their pace; the dispatcher chunks, spreads and claims by it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from service.config import ClinicConfig, SmtpConfig, TwilioConfig
from service.services.outbox.dispatch import CLAIM_SECONDS, claim_window
from service.transports.base import Pacing
from service.transports.sandbox import SandboxTransport
from service.transports.smtp_email import SmtpEmailTransport
from service.transports.twilio_sms import TwilioSmsTransport


def twilio(per_second: float) -> TwilioSmsTransport:
    config = TwilioConfig(account_sid="AC" + "0" * 32, from_number="+12025550100", max_per_second=per_second)
    return TwilioSmsTransport(config, "token", "https://clinic.example", create_engine("sqlite://"))


def test_the_sandbox_records_a_chunk_of_500_at_once() -> None:
    assert SandboxTransport(create_engine("sqlite://"), "sms").pacing == Pacing(chunk_size=500)


def test_email_gates_each_message_right_before_its_own_send() -> None:
    assert SmtpEmailTransport(SmtpConfig(), ClinicConfig(), None).pacing == Pacing()


@pytest.mark.parametrize(
    ("per_second", "in_flight"),
    [(1.0, 1), (3.0, 1), (10.0, 2), (20.0, 5), (100.0, 25), (1000.0, 64)],
)
def test_twilio_keeps_a_quarter_second_of_its_pace_in_flight(per_second, in_flight) -> None:
    assert twilio(per_second).pacing == Pacing(chunk_size=1, concurrency=in_flight, max_per_second=per_second)


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ((None, None), 200),  # nothing paced: the batch size
        ((1.0, None), 2),  # two seconds at the slowest rate
        ((0.2, None), 1),  # at least one message
        ((10.0, 3.0), 6),
        ((1000.0, None), 200),  # never more than the batch size
    ],
)
def test_a_claim_holds_seconds_of_sending_at_the_slowest_rate(rates, expected) -> None:
    assert CLAIM_SECONDS == 2
    assert claim_window(200, [Pacing(max_per_second=r) for r in rates]) == expected


@pytest.mark.parametrize(
    "bad",
    [{"chunk_size": 0}, {"concurrency": 0}, {"max_per_second": 0.0}, {"max_per_second": -1.0}],
)
def test_a_pace_that_could_never_send_is_refused(bad) -> None:
    with pytest.raises(ValueError):
        Pacing(**bad)
