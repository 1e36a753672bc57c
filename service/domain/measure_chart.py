"""A questionnaire's scores over time as a chart the server draws (an SVG in the staff patient
page), computed here as plain coordinates: no colour carries meaning. Each point is labelled with
its score, each severity band is a labelled zone with a line at its lower edge, and each session
is a tick on the time axis labelled S1, S2, ...; `aria_label` says all of it in words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .instruments import Instrument

WIDTH = 640
HEIGHT = 300
LEFT = 56  # the score axis
RIGHT = 180  # the band labels
TOP = 24
BOTTOM = 64  # session ticks and dates
PAD = timedelta(days=1)


@dataclass(frozen=True)
class Result:
    at: datetime
    total: int
    band: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int
    band: str
    day: str


@dataclass(frozen=True)
class Zone:
    label: str
    top: float  # the zone's upper edge
    bottom: float  # its lower edge, where its line is drawn
    text_y: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    day: str


@dataclass(frozen=True)
class Chart:
    name: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: tuple[Point, ...]
    zones: tuple[Zone, ...]
    ticks: tuple[Tick, ...]
    max_total: int
    aria_label: str

    @property
    def dated(self) -> tuple[Point, ...]:
        """The points whose date is written under the axis: the first, and the last when there is
        room between them (every date is in the label and the table)."""
        if len(self.points) > 1 and self.points[-1].x - self.points[0].x >= 120:
            return (self.points[0], self.points[-1])
        return self.points[:1]

    @property
    def line(self) -> str:
        """The polyline through the points, oldest first."""
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def chart(
    instrument: Instrument,
    results: Sequence[Result],
    sessions: Sequence[tuple[int, datetime]],
    day: Callable[[datetime], str],
) -> Chart:
    """The chart of `results` (oldest first) with `sessions` ((number, start), any order) marked on
    the time axis; `day` writes a date as the page does. The time axis spans the results and the
    sessions; one day either side."""
    times = [r.at for r in results] + [s for _, s in sessions]
    start = min(times) - PAD if times else datetime.min
    span = (max(times) + PAD - start).total_seconds() if times else 1.0
    left, right, top, bottom = float(LEFT), float(WIDTH - RIGHT), float(TOP), float(HEIGHT - BOTTOM)

    def x(at: datetime) -> float:
        return round(left + (right - left) * (at - start).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * value / instrument.max_total, 1)

    points = tuple(Point(x(r.at), y(r.total), r.total, r.band, day(r.at)) for r in results)
    zones = []
    for low, high, band in instrument.bands:
        upper = y(min(high + 1, instrument.max_total))
        lower = y(low)
        zones.append(Zone(f"{band} {low}–{high}", upper, lower, round((upper + lower) / 2 + 4, 1)))
    ticks = tuple(
        Tick(x(at), f"S{number}", day(at)) for number, at in sorted(sessions, key=lambda s: (s[1], s[0]))
    )
    scores = "; ".join(f"{p.total} ({p.band}) on {p.day}" for p in points) or "none yet"
    marked = "; ".join(f"{t.label} on {t.day}" for t in ticks) or "none"
    aria = f"{instrument.name} scores over time, 0 to {instrument.max_total}: {scores}. Sessions: {marked}."
    return Chart(
        name=instrument.name,
        width=WIDTH,
        height=HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=points,
        zones=tuple(zones),
        ticks=ticks,
        max_total=instrument.max_total,
        aria_label=aria,
    )
