"""Reading check-in, clearance and confirmation answers tolerantly."""

from datetime import timedelta

import pytest

from service.domain.answers import parse_answer
from service.domain.schedule import ReplyExpectation, ReplyOption

OPTIONS = ReplyExpectation(
    kind="checkin",
    window=timedelta(hours=4),
    options=(
        ReplyOption("1", "fine", ("fine", "good", "ok", "one", "uno")),
        ReplyOption("2", "side effects", ("two", "dos"), concerning=True),
        ReplyOption("3", "talk", ("three", "tres", "call me"), concerning=True),
    ),
)
SCALE = ReplyExpectation(kind="checkin", window=timedelta(hours=8), scale=(0, 10), concerning_at_or_below=3)
CLEARANCE = ReplyExpectation(
    kind="clearance",
    window=timedelta(hours=20),
    options=(
        ReplyOption("yes", "cleared", ("yes", "y", "si", "sí", "ok")),
        ReplyOption("no", "not", ("no",), True),
    ),
)


@pytest.mark.parametrize(
    ("text", "code", "concerning"),
    [
        ("1", "1", False),
        ("1.", "1", False),
        ("#1", "1", False),
        (" one ", "1", False),
        ("Uno", "1", False),
        ("2 - still dizzy", "2", True),
        ("2) nauseous", "2", True),
        ("3", "3", True),
        ("call me please", "3", True),
        ("fine thanks", "1", False),
        ("OK!", "1", False),
    ],
)
def test_options(text, code, concerning):
    answer = parse_answer(text, OPTIONS)
    assert answer is not None and (answer.code, answer.concerning) == (code, concerning)


@pytest.mark.parametrize(
    ("text", "code", "concerning"),
    [
        ("7", "7", False),
        ("7/10", "7", False),
        ("about a 6", "6", False),
        ("3", "3", True),
        ("0", "0", True),
        ("ten", "10", False),
        ("8 out of 10, tired", "8", False),
        ("dos", "2", True),
    ],
)
def test_scale(text, code, concerning):
    answer = parse_answer(text, SCALE)
    assert answer is not None and (answer.code, answer.concerning) == (code, concerning)


@pytest.mark.parametrize(
    ("text", "code"), [("YES", "yes"), ("Sí", "yes"), ("yes, my sister drives", "yes"), ("no", "no")]
)
def test_clearance(text, code):
    answer = parse_answer(text, CLEARANCE)
    assert answer is not None and answer.code == code


@pytest.mark.parametrize(
    ("text", "expects"),
    [
        ("11", SCALE),
        ("what time should I arrive?", SCALE),
        ("4", OPTIONS),
        ("", OPTIONS),
        ("maybe", CLEARANCE),
        ("I feel strange", OPTIONS),
    ],
)
def test_not_answers(text, expects):
    assert parse_answer(text, expects) is None
