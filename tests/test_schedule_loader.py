"""Schedule files: what ships loads, and every error names the file, the [[step]] line, step and key."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from service.domain.durations import Offset
from service.domain.schedule import Conditions, ReplyOption
from service.schedules import ScheduleError, load_schedules, parse_schedule

ROOT = Path(__file__).resolve().parents[1]
FILE = "schedules/test.toml"

FIRST = """description = "A test schedule."

[[step]]
id = "first"
anchor = "start"
offset = "-1d"
category = "prep"
channels = ["sms"]
template = "first"

"""
SECOND_LINE = 12  # the line of the second [[step]] header, below FIRST

SECOND = {
    "id": '"second"',
    "anchor": '"end"',
    "offset": '"+2h"',
    "category": '"safety"',
    "channels": '["sms"]',
    "template": '"second"',
}


def second_step(tail: str = "", **changes: str | None) -> str:
    """FIRST, then a second [[step]] with some keys changed (None removes a key) and sub-tables."""
    fields = {**SECOND, **changes}
    body = "".join(f"{key} = {value}\n" for key, value in fields.items() if value is not None)
    return f"{FIRST}# the step under test\n[[step]]\n{body}{tail}"


def test_the_second_step_header_is_on_the_expected_line() -> None:
    assert second_step().splitlines()[SECOND_LINE - 1] == "[[step]]"
    schedule = parse_schedule(second_step(), FILE, "test")
    assert [(s.id, s.line) for s in schedule.steps] == [("first", 3), ("second", SECOND_LINE)]


CHECKIN_SCALE = '[step.expects]\nkind = "checkin"\nwindow = "4h"\nscale = [0, 10]\n'


@pytest.mark.parametrize(
    ("changes", "tail", "key", "problem"),
    [
        pytest.param({"colour": '"red"'}, "", "colour", "unknown key", id="unknown-key"),
        pytest.param({"anchor": '"lunch"'}, "", "anchor", "expected one of", id="bad-anchor"),
        pytest.param({"anchor": None}, "", "anchor", "expected a non-empty string", id="missing-anchor"),
        pytest.param({"offset": '"soon"'}, "", "offset", "'soon'", id="bad-offset"),
        pytest.param({"offset": "3"}, "", "offset", "expected a duration", id="offset-not-a-string"),
        pytest.param({"channels": "[]"}, "", "channels", "at least one channel", id="empty-channels"),
        pytest.param({"channels": '["fax"]'}, "", "channels", "unknown value 'fax'", id="unknown-channel"),
        pytest.param({"channels": '["sms", "sms"]'}, "", "channels", "repeated", id="repeated-channel"),
        pytest.param(
            {"channels": '"sms"'}, "", "channels", "expected a list of strings", id="channels-not-list"
        ),
        pytest.param({"category": '"marketing"'}, "", "category", "expected one of", id="bad-category"),
        pytest.param({"template": '"Second-Step"'}, "", "template", "lower-case", id="bad-template"),
        pytest.param({"at": '"25:00"'}, "", "at", "'HH:MM'", id="bad-at-hour"),
        pytest.param({"at": '"9:00"'}, "", "at", "'HH:MM'", id="bad-at-format"),
        pytest.param({"at": "09:00:00"}, "", "at", "'HH:MM'", id="at-toml-time"),
        pytest.param({"quiet_hours": '"never"'}, "", "quiet_hours", "expected one of", id="bad-quiet-hours"),
        pytest.param({"if_late": '"maybe"'}, "", "if_late", "expected one of", id="bad-if-late"),
        pytest.param({"deadline": '"tomorrow"'}, "", "deadline", "'tomorrow'", id="bad-deadline"),
        pytest.param({"expires_after": '"-1h"'}, "", "expires_after", "positive", id="negative-expiry"),
        pytest.param(
            {"repeat_on_reschedule": '"yes"'}, "", "repeat_on_reschedule", "true or false", id="bad-bool"
        ),
        pytest.param({"id": '"first"'}, "", "id", "used twice", id="duplicate-id"),
        pytest.param(
            {},
            '[step.expects]\nkind = "checkin"\nwindow = "4h"\n',
            "expects",
            "needs options or a scale",
            id="expects-without-options-or-scale",
        ),
        pytest.param(
            {},
            CHECKIN_SCALE + 'reminder_after = "4h"\n',
            "expects.reminder_after",
            "shorter than expects.window",
            id="reminder-equal-to-window",
        ),
        pytest.param(
            {},
            CHECKIN_SCALE + 'reminder_after = "5h"\n',
            "expects.reminder_after",
            "shorter than expects.window",
            id="reminder-after-window",
        ),
        pytest.param(
            {}, CHECKIN_SCALE + "colour = 1\n", "expects.colour", "unknown key", id="expects-unknown-key"
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "survey"\nwindow = "4h"\n',
            "expects.kind",
            "expected one of",
            id="bad-kind",
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "checkin"\nwindow = "4h"\nscale = [10, 0]\n',
            "expects.scale",
            "[low, high]",
            id="scale-backwards",
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "checkin"\nscale = [0, 10]\n',
            "expects.window",
            "expected a duration",
            id="no-window",
        ),
        pytest.param(
            {},
            CHECKIN_SCALE + 'reminder_after = "later"\n',
            "expects.reminder_after",
            "'later'",
            id="bad-reminder",
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "checkin"\nwindow = "4h"\n[[step.expects.options]]\nlabel = "fine"\n',
            "expects.options[0].code",
            "expected a non-empty string",
            id="option-without-code",
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "confirmation"\nwindow = "4h"\nconcerning_at_or_below = 3\n',
            "expects.concerning_at_or_below",
            "needs a scale",
            id="threshold-without-scale",
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "checkin"\nwindow = "4h"\n'
            '[[step.expects.options]]\ncode = "1"\nlabel = "fine"\n'
            '[[step.expects.options]]\ncode = "1"\nlabel = "not fine"\n',
            "expects.options",
            "repeated",
            id="option-code-repeated",
        ),
        pytest.param(
            {},
            '[step.expects]\nkind = "checkin"\nwindow = "4h"\n[[step.expects.options]]\ncode = "1"\nlabel = "x"\ncolour = 1\n',
            "expects.options[0].colour",
            "unknown key",
            id="option-unknown-key",
        ),
        pytest.param(
            {"category": '"education"'},
            CHECKIN_SCALE,
            "expects",
            "education steps do not ask for replies",
            id="education-expects",
        ),
        pytest.param(
            {"anchor": '"enrolment"', "category": '"education"'},
            "[step.conditions]\nsessions = [1]\n",
            "conditions",
            "enrolment steps cannot depend on a session",
            id="enrolment-with-sessions",
        ),
        pytest.param(
            {"anchor": '"enrolment"', "category": '"education"'},
            '[step.conditions]\nmodalities = ["iv"]\n',
            "conditions",
            "enrolment steps cannot depend on a session",
            id="enrolment-with-modalities",
        ),
        pytest.param(
            {"anchor": '"enrolment"', "category": '"education"'},
            "[step.conditions]\nfirst_session_only = true\n",
            "conditions",
            "enrolment steps cannot depend on a session",
            id="enrolment-first-session-only",
        ),
        pytest.param(
            {"anchor": '"enrolment"', "category": '"education"', "deadline": '"-1h"'},
            "",
            "deadline",
            "no session",
            id="enrolment-with-deadline",
        ),
        pytest.param(
            {}, "[step.conditions]\ncolour = 1\n", "conditions.colour", "unknown key", id="conditions-unknown"
        ),
        pytest.param(
            {},
            "[step.conditions]\nsessions = [0]\n",
            "conditions.sessions",
            "session numbers",
            id="session-zero",
        ),
        pytest.param(
            {},
            "[step.conditions]\nsessions = [2]\nfirst_session_only = true\n",
            "conditions.first_session_only",
            "conflicts",
            id="first-session-conflict",
        ),
        pytest.param(
            {},
            "[step.conditions]\nfrom_session = 0\n",
            "conditions.from_session",
            "session number",
            id="from-zero",
        ),
        pytest.param(
            {},
            '[step.conditions]\nmodalities = ["pill"]\n',
            "conditions.modalities",
            "'pill'",
            id="bad-modality",
        ),
        pytest.param(
            {},
            '[step.conditions]\nindications = ["flu"]\n',
            "conditions.indications",
            "'flu'",
            id="bad-indication",
        ),
    ],
)
def test_step_errors_name_file_line_step_and_key(
    changes: dict[str, str | None], tail: str, key: str, problem: str
) -> None:
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(second_step(tail, **changes), FILE, "test")
    message = str(excinfo.value)
    step_id = "first" if changes.get("id") == '"first"' else "second"
    assert message.startswith(f"{FILE}:{SECOND_LINE}: step '{step_id}': {key}: "), message
    assert problem in message


@pytest.mark.parametrize(
    ("step_id", "problem"),
    [
        pytest.param('"Second Step"', "lower-case letters", id="bad-id"),
        pytest.param(None, "expected a non-empty string", id="missing-id"),
        pytest.param('""', "expected a non-empty string", id="empty-id"),
    ],
)
def test_a_bad_id_is_named_by_line(step_id: str | None, problem: str) -> None:
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(second_step(id=step_id), FILE, "test")
    message = str(excinfo.value)
    assert message.startswith(f"{FILE}:{SECOND_LINE}: id: "), message
    assert problem in message


@pytest.mark.parametrize(
    "header",
    ["[[step]]  # the evening before", "  [[step]]", "[[ step ]]", "[[step]]\t# tab then comment"],
)
def test_line_numbers_survive_header_spacing_and_comments(header: str) -> None:
    """A commented header must not shift every later step's line onto its neighbour."""
    text = (
        f'{header}\nid = "a"\nanchor = "start"\ncategory = "prep"\nchannels = ["sms"]\ntemplate = "a"\n'
        'colour = "red"\n\n'
        '[[step]]\nid = "b"\nanchor = "start"\ncategory = "prep"\nchannels = ["sms"]\ntemplate = "b"\n'
    )
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(text, FILE, "test")
    assert str(excinfo.value).startswith(f"{FILE}:1: step 'a': colour: unknown key")
    fixed = text.replace('colour = "red"\n', "")
    assert [s.line for s in parse_schedule(fixed, FILE, "test").steps] == [1, 8]


def test_invalid_toml_names_the_file_and_line() -> None:
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(FIRST + "[[step]\nid = 'x'\n", FILE, "test")
    message = str(excinfo.value)
    assert message.startswith(f"{FILE}: invalid TOML")
    assert "line 11" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("colour = 1\n" + FIRST, "colour: unknown key", id="unknown-top-level"),
        pytest.param(
            'description = "nothing"\n', "step: a schedule needs at least one [[step]]", id="no-steps"
        ),
        pytest.param("step = 3\n", "step: a schedule needs at least one [[step]]", id="step-not-a-list"),
        pytest.param(
            FIRST.replace('"A test schedule."', "3"), "description: expected a string", id="description"
        ),
    ],
)
def test_file_level_errors_name_the_file(text: str, expected: str) -> None:
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(text, FILE, "test")
    assert str(excinfo.value).startswith(f"{FILE}: {expected}"), str(excinfo.value)


# --- what a valid step becomes ------------------------------------------------------------------


def test_defaults_of_a_minimal_step() -> None:
    schedule = parse_schedule(second_step(), FILE, "test")
    first, second = schedule.steps
    assert (first.offset, first.at, first.quiet_hours, first.if_late) == (
        Offset(days=-1),
        None,
        "defer",
        "send",
    )
    assert first.repeat_on_reschedule is True  # preparation follows the session when it moves
    assert (second.if_late, second.repeat_on_reschedule) == ("skip", False)
    assert second.conditions == Conditions()
    assert second.expects is None
    assert schedule.description == "A test schedule."


def test_first_session_only_means_session_one() -> None:
    schedule = parse_schedule(second_step("[step.conditions]\nfirst_session_only = true\n"), FILE, "test")
    assert schedule.step("second").conditions.sessions == (1,)


def test_missing_offset_means_at_the_anchor() -> None:
    schedule = parse_schedule(second_step(offset=None), FILE, "test")
    assert schedule.step("second").offset.is_zero


# --- the shipped schedules ------------------------------------------------------------------------


def test_shipped_schedules_load() -> None:
    schedules = load_schedules(ROOT / "schedules")
    assert "default" in schedules
    for schedule in schedules.values():
        assert schedule.steps
        assert len({s.id for s in schedule.steps}) == len(schedule.steps)


def test_shipped_default_schedule() -> None:
    default = load_schedules(ROOT / "schedules")["default"]
    core = [
        "booking_confirmation",
        "session_rescheduled",
        "prep_ahead",
        "prep_evening_before",
        "prep_morning_of",
        "checkin_same_day",
        "checkin_next_day",
        "integration_72h",
        "edu_general_1",
    ]
    # in this order (later education steps may be added around them)
    assert [s.id for s in default.steps if s.id in core] == core
    evening = default.step("prep_evening_before")
    assert (evening.offset, evening.at, evening.if_late) == (Offset(days=-1), time(18, 0), "send")
    assert evening.expects is not None
    assert evening.expects.kind == "clearance"
    assert [o.code for o in evening.expects.options] == ["yes", "no"]
    assert evening.expects.options[1] == ReplyOption("no", "not cleared", ("no", "n", "not yet"), True)
    next_day = default.step("checkin_next_day")
    assert next_day.expects is not None
    assert (next_day.expects.scale, next_day.expects.concerning_at_or_below) == ((0, 10), 3)
    assert next_day.expects.reminder_after == timedelta(hours=3)
    assert default.step("prep_morning_of").deadline == Offset(seconds=-30 * 60)
    assert default.step("edu_general_1").conditions.sessions == (1,)
    assert default.step("session_rescheduled").repeat_on_reschedule is True


def test_shipped_step_lines_point_at_their_headers() -> None:
    path = ROOT / "schedules" / "default.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for step in load_schedules(ROOT / "schedules")["default"].steps:
        assert step.line is not None
        assert lines[step.line - 1].strip() == "[[step]]"
        assert lines[step.line] == f'id = "{step.id}"'


# --- load_schedules -------------------------------------------------------------------------------


def test_load_schedules_by_file_stem(tmp_path: Path) -> None:
    (tmp_path / "intranasal.toml").write_text(second_step(), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a schedule", encoding="utf-8")
    schedules = load_schedules(tmp_path)
    assert list(schedules) == ["intranasal"]
    assert schedules["intranasal"].name == "intranasal"
    assert schedules["intranasal"].source == str(tmp_path / "intranasal.toml")


def test_load_schedules_names_the_bad_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(second_step(), encoding="utf-8")
    (tmp_path / "b.toml").write_text(second_step(anchor='"lunch"'), encoding="utf-8")
    with pytest.raises(ScheduleError) as excinfo:
        load_schedules(tmp_path)
    assert str(excinfo.value).startswith(f"{tmp_path / 'b.toml'}:{SECOND_LINE}: step 'second': anchor:")


def test_load_schedules_refuses_a_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="schedules folder not found"):
        load_schedules(tmp_path / "nope")
    with pytest.raises(ScheduleError, match=r"no \*\.toml schedules found"):
        load_schedules(tmp_path)


def test_load_schedules_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes('description = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ScheduleError, match=r"latin\.toml: cannot read"):
        load_schedules(tmp_path)
