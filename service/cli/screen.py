"""CLI for the crisis screen: `interlude screen-eval [--corpus PATH]` measures it on a labelled corpus.

The corpus (tests/data/screen_corpus.tsv) holds invented phrasings, never patient messages, so the
misses and false alarms are printed in full.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from ..domain.crisis import CATEGORIES, screen

NONE = "none"
MAX_FALSE_ALARM_RATE = 0.05


def default_corpus() -> Path:
    """tests/data/screen_corpus.tsv in the repository this package was loaded from."""
    import service

    return Path(service.__file__).resolve().parent.parent / "tests" / "data" / "screen_corpus.tsv"


@dataclass(frozen=True)
class Line:
    number: int
    category: str
    lang: str
    text: str


@dataclass
class Report:
    """What the screen made of each corpus line."""

    lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    recalled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    misses: list[Line] = field(default_factory=list)
    differs: list[tuple[Line, str]] = field(default_factory=list)
    near_misses: int = 0
    false_alarms: list[tuple[Line, str]] = field(default_factory=list)

    @property
    def must_fire(self) -> int:
        return sum(self.lines.values())

    @property
    def false_alarm_rate(self) -> float:
        return len(self.false_alarms) / self.near_misses if self.near_misses else 0.0

    def passes(self) -> bool:
        """100 % recall in every category and false alarms on at most 5 % of the near-misses."""
        complete = all(self.recalled[c] == self.lines[c] for c in CATEGORIES)
        return complete and self.false_alarm_rate <= MAX_FALSE_ALARM_RATE


def read_corpus(path: Path) -> list[Line]:
    """The labelled lines of a corpus file (`category<TAB>lang<TAB>text`, `#` comments, blank lines)."""
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = raw.split("\t", 2)
        if len(fields) != 3 or fields[0] not in (*CATEGORIES, NONE) or not fields[2].strip():
            raise click.ClickException(
                f"{path}:{number}: expected category<TAB>lang<TAB>text with a category among "
                f"{', '.join((*CATEGORIES, NONE))}"
            )
        out.append(Line(number, fields[0], fields[1], fields[2]))
    return out


def evaluate(lines: list[Line]) -> Report:
    """Screen every line and tally recall per category and false alarms on the near-misses."""
    report = Report()
    for line in lines:
        hit = screen(line.text)
        if line.category == NONE:
            report.near_misses += 1
            if hit is not None:
                report.false_alarms.append((line, hit.category))
            continue
        report.lines[line.category] += 1
        if hit is None:
            report.misses.append(line)
            continue
        report.recalled[line.category] += 1
        if hit.category != line.category:
            report.differs.append((line, hit.category))
    return report


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    - "


def print_report(report: Report) -> None:
    click.echo(f"{'category':<20} {'lines':>6} {'recalled':>9} {'recall':>8} {'category differs':>17}")
    for category in CATEGORIES:
        n, ok = report.lines[category], report.recalled[category]
        differs = sum(1 for line, _ in report.differs if line.category == category)
        click.echo(f"{category:<20} {n:>6} {ok:>9} {_percent(ok, n):>8} {differs:>17}")
    total_ok = sum(report.recalled.values())
    click.echo(
        f"{'all must-fire':<20} {report.must_fire:>6} {total_ok:>9} "
        f"{_percent(total_ok, report.must_fire):>8} {len(report.differs):>17}"
    )
    alarms = len(report.false_alarms)
    click.echo(
        f"{'near-misses (none)':<20} {report.near_misses:>6}   false alarms {alarms} "
        f"({_percent(alarms, report.near_misses).strip()}, at most {MAX_FALSE_ALARM_RATE:.0%})"
    )
    for line in report.misses:
        click.echo(f"miss: line {line.number} [{line.category}, {line.lang}] {line.text}")
    for line, fired in report.false_alarms:
        click.echo(f"false alarm: line {line.number} [{line.lang}] {line.text} -> {fired}")
    for line, fired in report.differs:
        click.echo(
            f"category differs: line {line.number} [{line.category}, {line.lang}] {line.text} -> {fired}"
        )


@click.command("screen-eval")
@click.option(
    "--corpus",
    "corpus",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Labelled corpus (default: tests/data/screen_corpus.tsv in the repository).",
)
def screen_eval(corpus: Path | None) -> None:
    """Measure the crisis screen: recall per category and false alarms on near-misses (exit 1 if short)."""
    path = corpus or default_corpus()
    if not path.is_file():
        click.echo(f"error: corpus not found: {path} (give one with --corpus PATH)", err=True)
        sys.exit(2)
    report = evaluate(read_corpus(path))
    print_report(report)
    if not report.passes():
        click.echo("FAIL: every category needs 100 % recall and false alarms at most 5 %", err=True)
        sys.exit(1)
    click.echo("ok: the crisis screen meets the bar on this corpus")


def register(group: click.Group) -> None:
    group.add_command(screen_eval)
