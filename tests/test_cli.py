"""The `interlude` command: init, check, preview, patients and sessions, outbox."""

from __future__ import annotations

import json
import shutil

import pytest

from service.web import create_app
from tests.helpers import ROOT, cli_config, cli_runner, make_services, run_cli


@pytest.fixture
def runner(sqlite_url, clock):
    app = create_app(services=make_services(sqlite_url, clock))
    return cli_runner(app)


def test_init_is_idempotent_and_check_passes_on_what_ships(tmp_path):
    config = cli_config(tmp_path)
    for _ in range(2):
        r = run_cli("--config", str(config), "init", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    r = run_cli("--config", str(config), "check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_config_comes_from_the_env_variable_too(tmp_path):
    config = cli_config(tmp_path, "[worker]\nbatch_size = 0\n")
    r = run_cli("check", cwd=tmp_path, env={"INTERLUDE_CONFIG": str(config)})
    assert r.returncode == 2 and "worker.batch_size" in r.stderr and str(config) in r.stderr


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[clinic]\ntimezone = "Atlantis/Capital"\n', "clinic.timezone"),
        ('[worker]\ntick_seconds = "fast"\n', "worker.tick_seconds"),
        ('[sms]\ntransport = "pigeon"\n', "sms.transport"),
        ("[surprise]\nx = 1\n", "surprise"),
    ],
)
def test_a_bad_config_key_is_named(tmp_path, extra, key):
    r = run_cli("--config", str(cli_config(tmp_path, extra)), "check", cwd=tmp_path)
    assert r.returncode == 2 and key in r.stderr and "Traceback" not in r.stderr


def test_check_names_the_file_and_line_of_a_broken_template(tmp_path):
    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    broken = messages / "prep_evening_before" / "en" / "body.txt"
    lines = broken.read_text().splitlines()
    lines.insert(3, "Bring {{ session.nonexistent_thing }} with you.")
    broken.write_text("\n".join(lines) + "\n")
    syntax = messages / "booking_confirmation" / "en" / "subject.txt"
    syntax.write_text("Your appointment {% if session %}\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n[schedules]\ndir = "{ROOT / "schedules"}"\n'
        f'[messages]\ndir = "{messages}"\n'
    )
    r = run_cli("--config", str(config), "check", cwd=tmp_path)
    assert r.returncode == 1
    assert f"{broken}:4:" in r.stderr and "nonexistent_thing" in r.stderr
    assert f"{syntax}:1:" in r.stderr


def test_check_names_the_file_and_line_of_a_broken_schedule(tmp_path):
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    text = (
        (ROOT / "schedules" / "default.toml")
        .read_text()
        .replace('offset = "-1d"', 'offset = "-1 fortnight"', 1)
    )
    (schedules / "default.toml").write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "fortnight" in row)
    step_line = max(i for i, row in enumerate(text.splitlines(), 1) if row.strip() == "[[step]]" and i < line)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n[schedules]\ndir = "{schedules}"\n'
        f'[messages]\ndir = "{ROOT / "messages"}"\n'
    )
    r = run_cli("--config", str(config), "check", cwd=tmp_path)
    assert r.returncode == 2
    assert f"{schedules / 'default.toml'}:{step_line}: step 'prep_evening_before': offset:" in r.stderr


def test_preview_shows_local_times_segments_and_why_times_moved(runner):
    r = runner.invoke(
        args=["preview", "--modality", "iv", "--start", "2027-03-15T08:00", "--tz", "America/New_York"]
    )
    assert r.exit_code == 0, r.output
    assert "prep_morning_of · sms" in r.output
    # 05:00 is in quiet hours and 08:00 is too late: 19:45 the evening before, where the
    # evening-before message goes already
    assert "prep_morning_of · sms · prep · skipped (superseded)" in r.output
    assert "[GSM-7, " in r.output
    assert "EDT" in r.output and "EST" not in r.output.split("prep_morning_of")[1].split("\n")[0]


def test_preview_as_json_and_in_spanish(runner):
    r = runner.invoke(
        args=[
            "preview",
            "--modality",
            "intranasal",
            "--start",
            "2027-03-13T09:00",
            "--tz",
            "America/New_York",
            "--lang",
            "es",
            "--json",
        ]
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    confirmation = next(x for x in rows if x["step"] == "booking_confirmation" and x["channel"] == "sms")
    assert "sábado 13 de marzo a las 9:00" in confirmation["text"]
    assert confirmation["encoding"] == "UCS-2"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--modality", "laser", "--start", "2027-03-13T09:00", "--tz", "America/New_York"], "modality"),
        (["--modality", "iv", "--start", "soon", "--tz", "America/New_York"], "start"),
        (["--modality", "iv", "--start", "2027-03-13T09:00", "--tz", "Moon/Base"], "tz"),
        (
            [
                "--modality",
                "iv",
                "--start",
                "2027-03-13T09:00",
                "--tz",
                "America/New_York",
                "--schedule",
                "x",
            ],
            "schedule",
        ),
    ],
)
def test_preview_refuses_bad_options_by_name(runner, args, needle):
    r = runner.invoke(args=["preview", *args])
    assert r.exit_code == 2 and f"error: {needle}:" in r.output


def test_patients_and_sessions_by_cli(runner):
    r = runner.invoke(
        args=[
            "patient",
            "add",
            "--first-name",
            "Sam",
            "--last-name",
            "Lee",
            "--phone",
            "202-555-0177",
            "--tz",
            "America/Chicago",
            "--indication",
            "ptsd",
        ]
    )
    assert r.exit_code == 0, r.output
    pid = json.loads(r.output)["id"]
    r = runner.invoke(
        args=["session", "book", "--patient", str(pid), "--start", "2027-03-12T09:00", "--modality", "im"]
    )
    assert r.exit_code == 0, r.output
    sid = json.loads(r.output)["id"]
    r = runner.invoke(
        args=["session", "reschedule", str(sid), "--start", "2027-03-19T09:00", "--reason", "snow"]
    )
    assert r.exit_code == 0 and json.loads(r.output)["start"] == "2027-03-19T14:00:00+00:00"
    r = runner.invoke(args=["outbox", "--session", str(sid)])
    assert r.exit_code == 0 and "prep_evening_before" in r.output and "pending" in r.output
    r = runner.invoke(args=["session", "cancel", str(sid), "--reason", "changed mind"])
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "cancelled"
    r = runner.invoke(args=["outbox", "--session", str(sid), "--status", "pending"])
    assert "prep_" not in r.output


@pytest.mark.parametrize(
    "args",
    [
        ["patient", "add", "--first-name", "A", "--last-name", "B", "--phone", "555"],
        [
            "patient",
            "add",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--phone",
            "2025550177",
            "--tz",
            "Nowhere",
        ],
        ["session", "book", "--patient", "1", "--start", "2027-03-12T09:00", "--modality", "iv"],
        ["session", "cancel", "424242"],
        ["session", "reschedule", "424242", "--start", "2027-03-12T09:00"],
    ],
)
def test_bad_cli_input_is_one_clear_line_and_exit_2(runner, args):
    r = runner.invoke(args=args)
    assert r.exit_code == 2
    assert r.output.startswith("error: ") and "Traceback" not in r.output


def test_serve_refuses_an_unmigrated_database(tmp_path):
    r = run_cli("--config", str(cli_config(tmp_path)), "worker", cwd=tmp_path)
    assert r.returncode == 2 and "interlude init" in r.stderr


@pytest.mark.parametrize("command", [["worker"], ["web"], ["init"]])
def test_an_unreachable_database_is_one_clear_line_and_a_non_zero_exit(tmp_path, command):
    config = cli_config(tmp_path)
    env = {"INTERLUDE_DATABASE_URL": "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/interlude"}
    r = run_cli("--config", str(config), *command, cwd=tmp_path, env=env)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: cannot reach the database (postgresql 127.0.0.1:1/interlude)")
    assert "secret-pw" not in r.stderr and "Traceback" not in r.stderr
