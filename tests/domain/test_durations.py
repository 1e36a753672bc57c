"""Durations and offsets as written in schedules and config ("6h", "-1d", "+2h30m")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain.durations import Offset, format_duration, parse_duration, parse_offset
from service.domain.errors import DomainError


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("6h", 0, 6 * 3600),
        ("-1d", -1, 0),
        ("+2h30m", 0, 2 * 3600 + 30 * 60),
        ("90m", 0, 90 * 60),
        ("0m", 0, 0),
        ("45s", 0, 45),
        ("1d2h", 1, 2 * 3600),
        ("-1d2h", -1, -2 * 3600),
        ("-3h", 0, -3 * 3600),
        (" -3h ", 0, -3 * 3600),
        ("- 2h 30m", 0, -(2 * 3600 + 30 * 60)),
        ("3d", 3, 0),
    ],
)
def test_parse_offset_keeps_days_apart_from_seconds(text: str, days: int, seconds: int) -> None:
    """Days stay days (applied on the wall clock later); hours, minutes and seconds become seconds."""
    assert parse_offset(text) == Offset(days=days, seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "   ", "6", "h", "6x", "1.5h", "--1h", "+-1h", "6h-", "soon", "1h1h", "2d3d", "h6"]
)
def test_parse_offset_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        parse_offset(text)
    assert repr(text) in str(excinfo.value)


def test_offset_days_count_as_24_hours_only_when_asked() -> None:
    offset = parse_offset("-1d2h")
    assert offset.as_timedelta() == timedelta(days=-1, hours=-2)
    assert parse_offset("0m").is_zero
    assert not parse_offset("1s").is_zero
    assert not parse_offset("-1d").is_zero


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6h", timedelta(hours=6)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("+20h", timedelta(hours=20)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["-6h", "-1d", "-1m", "six hours", ""])
def test_parse_duration_refuses_negative_or_malformed(text: str) -> None:
    with pytest.raises(DomainError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=2), "2h"),
        (timedelta(minutes=30), "30m"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=3), "3d"),
        (timedelta(days=1, hours=2, minutes=5), "1d2h5m"),
        (timedelta(0), "0m"),
        (timedelta(seconds=59), "0m"),
        (timedelta(hours=-3), "-3h"),
        (timedelta(days=-1, hours=-2), "-1d2h"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize("text", ["2h", "30m", "1h30m", "3d", "1d2h5m"])
def test_format_duration_reads_back(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
