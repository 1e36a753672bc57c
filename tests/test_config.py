"""Configuration: the documented example, refusals that name the key, secrets from the environment."""

from __future__ import annotations

import dataclasses
from datetime import time, timedelta
from pathlib import Path

import pytest

from service.config import Config, ConfigError, FastingConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"


def test_example_config_equals_the_built_in_defaults() -> None:
    """config.example.toml documents the defaults: loading it changes nothing."""
    example = parse_config(EXAMPLE.read_text(encoding="utf-8"), "example", {})
    defaults = parse_config("", "example", {})
    assert example == defaults
    assert defaults == Config(source="example")


def test_defaults_are_typed() -> None:
    config = parse_config("", "built-in defaults", {})
    assert config.clinic.quiet_hours_start == time(8, 0)
    assert config.clinic.quiet_hours_end == time(20, 0)
    assert config.clinic.arrival_before == timedelta(minutes=15)
    assert config.clinic.fasting["iv"] == FastingConfig(timedelta(hours=6), timedelta(hours=2))
    assert config.worker.retry_base_seconds == 30.0
    assert isinstance(config.worker.retry_base_seconds, float)
    assert config.messages.languages == ("en", "es")
    assert config.source == "built-in defaults"


def test_values_from_the_file_are_converted() -> None:
    config = parse_config(
        """
[clinic]
timezone = "Europe/London"
quiet_hours_start = "09:30"
quiet_hours_end = "18:00"
arrival_before = "1h30m"
[clinic.fasting.intranasal]
solids = "3h"
clear_liquids = "45m"
[worker]
retry_base_seconds = 10
[messages]
languages = ["en"]
""",
        "clinic.toml",
        {},
    )
    assert config.clinic.timezone == "Europe/London"
    assert config.clinic.quiet_hours_start == time(9, 30)
    assert config.clinic.arrival_before == timedelta(minutes=90)
    assert config.clinic.fasting["intranasal"] == FastingConfig(timedelta(hours=3), timedelta(minutes=45))
    # modalities the file does not mention keep their defaults
    assert config.clinic.fasting["iv"] == FastingConfig(timedelta(hours=6), timedelta(hours=2))
    assert config.worker.retry_base_seconds == 10.0
    assert config.messages.languages == ("en",)
    assert config.source == "clinic.toml"


def test_config_is_frozen() -> None:
    config = parse_config("", "x", {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.clinic.timezone = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        pytest.param("colour = 'blue'", "cfg.toml: colour: unknown key", id="unknown-top-level"),
        pytest.param("[clinic]\nfax = '1'", "cfg.toml: clinic.fax: unknown key", id="unknown-in-section"),
        pytest.param(
            "[clinic.fasting.iv]\nsolids='6h'\nclear_liquids='2h'\nwater='1h'",
            "cfg.toml: clinic.fasting.iv.water: unknown key",
            id="unknown-in-fasting",
        ),
        pytest.param(
            "[secrets]\napi_token = 'abc'", "cfg.toml: secrets: unknown key", id="secrets-not-from-the-file"
        ),
        pytest.param("source = 'x'", "cfg.toml: source: unknown key", id="source-not-from-the-file"),
        pytest.param("[web]\nport = '5000'", "cfg.toml: web.port: expected int", id="string-for-int"),
        pytest.param("[web]\nport = true", "cfg.toml: web.port: expected an integer", id="bool-for-int"),
        pytest.param("[web]\nport = 50.5", "cfg.toml: web.port: expected int", id="float-for-int"),
        pytest.param(
            "[worker]\ntick_seconds = '1'",
            "cfg.toml: worker.tick_seconds: expected float",
            id="str-for-float",
        ),
        pytest.param("[clinic]\nname = 7", "cfg.toml: clinic.name: expected str", id="int-for-str"),
        pytest.param("clinic = 3", "cfg.toml: clinic: expected a table", id="value-for-section"),
        pytest.param(
            "[messages]\nlanguages = 'en'",
            "cfg.toml: messages.languages: expected a list of strings",
            id="str-for-list",
        ),
        pytest.param(
            "[messages]\nlanguages = ['en', 1]",
            "cfg.toml: messages.languages: expected a list of strings",
            id="mixed-list",
        ),
        pytest.param(
            "[clinic]\ntimezone = 'America/Springfield'",
            "cfg.toml: clinic.timezone: unknown IANA time zone",
            id="bad-time-zone",
        ),
        pytest.param(
            "[clinic]\ntimezone = ''", "cfg.toml: clinic.timezone: unknown IANA time zone", id="empty-zone"
        ),
        pytest.param(
            "[clinic]\ntimezone = 'EST+5'",
            "cfg.toml: clinic.timezone: unknown IANA time zone",
            id="posix-zone",
        ),
        pytest.param(
            "[clinic]\nquiet_hours_start = '8:00'",
            "cfg.toml: clinic.quiet_hours_start: expected a time",
            id="h:mm",
        ),
        pytest.param(
            "[clinic]\nquiet_hours_end = '24:00'",
            "cfg.toml: clinic.quiet_hours_end: expected a time",
            id="24:00",
        ),
        pytest.param(
            "[clinic]\nquiet_hours_end = '20:60'",
            "cfg.toml: clinic.quiet_hours_end: expected a time",
            id="minute-60",
        ),
        pytest.param(
            "[clinic]\nquiet_hours_start = 08:00:00",
            "cfg.toml: clinic.quiet_hours_start: expected a time",
            id="toml-time-not-string",
        ),
        pytest.param(
            "[clinic]\nquiet_hours_start = '21:00'",
            "cfg.toml: clinic.quiet_hours_start: must be before clinic.quiet_hours_end",
            id="window-backwards",
        ),
        pytest.param(
            "[clinic]\narrival_before = 'soon'",
            "cfg.toml: clinic.arrival_before: expected a duration",
            id="bad-duration",
        ),
        pytest.param(
            "[clinic]\narrival_before = 15",
            "cfg.toml: clinic.arrival_before: expected a duration",
            id="int-duration",
        ),
        pytest.param(
            "[clinic]\narrival_before = '-15m'",
            "cfg.toml: clinic.arrival_before: expected a positive duration",
            id="negative-duration",
        ),
        pytest.param(
            "[clinic.fasting.iv]\nsolids = '6h'",
            "cfg.toml: clinic.fasting.iv.clear_liquids: missing (required)",
            id="missing-fasting-key",
        ),
        pytest.param(
            "[clinic.fasting.iv]\nclear_liquids = '2h'",
            "cfg.toml: clinic.fasting.iv.solids: missing (required)",
            id="missing-solids",
        ),
        pytest.param(
            "[clinic.fasting.iv]\nsolids = '6 hours'\nclear_liquids = '2h'",
            "cfg.toml: clinic.fasting.iv.solids: expected a duration",
            id="bad-fasting-duration",
        ),
        pytest.param(
            "[clinic.fasting.pill]\nsolids = '6h'\nclear_liquids = '2h'",
            "cfg.toml: clinic.fasting.pill: unknown modality",
            id="unknown-modality",
        ),
        pytest.param(
            "[sms]\ntransport = 'carrier-pigeon'",
            "cfg.toml: sms.transport: expected one of",
            id="sms-transport",
        ),
        pytest.param(
            "[worker]\nbatch_size = 0", "cfg.toml: worker.batch_size: must be positive", id="zero-batch"
        ),
        pytest.param(
            "[messages]\ndefault_language = 'fr'",
            "cfg.toml: messages.default_language: must be one of messages.languages",
            id="default-language",
        ),
        pytest.param(
            "[web]\npublic_base_url = 'example.org'",
            "cfg.toml: web.public_base_url: must start with",
            id="base-url",
        ),
        pytest.param("[clinic\nname = 'x'", "cfg.toml: invalid TOML", id="invalid-toml"),
        pytest.param(
            "[retention]\nkeep_forever = true",
            "cfg.toml: retention.keep_forever: unknown key",
            id="retention-unknown-key",
        ),
        pytest.param(
            "[retention]\noutbox_days = '400'",
            "cfg.toml: retention.outbox_days: expected int",
            id="retention-str-for-days",
        ),
        pytest.param(
            "[retention]\nsandbox_days = 30.5",
            "cfg.toml: retention.sandbox_days: expected int",
            id="retention-float-for-days",
        ),
        pytest.param(
            "[retention]\ninbound_days = true",
            "cfg.toml: retention.inbound_days: expected an integer",
            id="retention-bool-for-days",
        ),
        pytest.param(
            "[retention]\noutbox_days = -1",
            "cfg.toml: retention.outbox_days: must be 0 (keep forever) or more",
            id="retention-negative-days",
        ),
        pytest.param(
            "[retention]\nrun_every_minutes = 0",
            "cfg.toml: retention.run_every_minutes: must be positive",
            id="retention-zero-interval",
        ),
        pytest.param(
            "[retention]\nbatch_size = 0",
            "cfg.toml: retention.batch_size: must be 1 to",
            id="retention-zero-batch",
        ),
        pytest.param(
            "[retention]\nbatch_size = 50000",
            "cfg.toml: retention.batch_size: must be 1 to",
            id="retention-huge-batch",
        ),
        pytest.param(
            "[retention]\nattempts_days = 500",
            "cfg.toml: retention.attempts_days: must not exceed retention.outbox_days",
            id="attempts-outlive-their-message",
        ),
        pytest.param(
            "[retention]\nattempts_days = 0",
            "cfg.toml: retention.attempts_days: must not exceed retention.outbox_days",
            id="attempts-forever-messages-not",
        ),
    ],
)
def test_bad_config_is_refused_naming_the_key(text: str, prefix: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "cfg.toml", {})
    assert str(excinfo.value).startswith(prefix), str(excinfo.value)


def test_retention_defaults_are_conservative_and_zero_keeps_forever() -> None:
    r = parse_config("", "x", {}).retention
    assert (r.outbox_days, r.attempts_days, r.sandbox_days, r.inbound_days) == (400, 400, 30, 400)
    assert (r.run_every_minutes, r.batch_size) == (60, 5000)
    forever = "[retention]\noutbox_days = 0\nattempts_days = 0\nsandbox_days = 0\ninbound_days = 0"
    assert parse_config(forever, "x", {}).retention.outbox_days == 0
    # attempts may go sooner than their messages, and may be kept forever when messages are
    shorter = parse_config("[retention]\nattempts_days = 90", "x", {}).retention
    assert shorter.attempts_days == 90
    assert (
        parse_config("[retention]\noutbox_days = 0\nattempts_days = 90", "x", {}).retention.attempts_days
        == 90
    )


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known: .*quiet_hours_end"):
        parse_config("[clinic]\nquiet_hours_stop = '20:00'", "cfg.toml", {})


# --- environment --------------------------------------------------------------------------------


def test_database_url_from_the_environment_overrides_the_file() -> None:
    text = "[database]\nurl = 'sqlite:///file.db'\n"
    assert parse_config(text, "cfg.toml", {}).database.url == "sqlite:///file.db"
    env = {"INTERLUDE_DATABASE_URL": "postgresql+psycopg://app@db:5432/interlude"}
    assert parse_config(text, "cfg.toml", env).database.url == "postgresql+psycopg://app@db:5432/interlude"


def test_empty_database_url_in_the_environment_is_ignored() -> None:
    assert (
        parse_config("", "x", {"INTERLUDE_DATABASE_URL": ""}).database.url
        == "sqlite:///instance/interlude.db"
    )


TOKEN_A = "api-token-4f1c9e2a7b3d8e6f0a5c1b9d2e"
TOKEN_B = "signing-key-8a2f6c0e4b9d1f7a3c5e2b8d6f"


@pytest.mark.parametrize("variable", ["INTERLUDE_API_TOKEN", "INTERLUDE_SECRET_KEY"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("CHANGE-ME", "example value"),
        ("change_me_please_0123456789abcdefghij", "example value"),
        ("your-secret-key-goes-here-0123456789", "example value"),
        ("short-but-random-9f2c", "at least 32 characters"),
        ("k" * 40, "too few different characters"),
    ],
)
def test_weak_secrets_are_refused_by_the_variable_name(variable, value, says) -> None:
    with pytest.raises(ConfigError, match=f"{variable}: .*{says}.*interlude secret"):
        parse_config("", "x", {variable: value})


def test_a_weak_secret_in_a_file_is_refused_too(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("CHANGE-ME\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="INTERLUDE_SECRET_KEY: an example value"):
        parse_config("", "x", {"INTERLUDE_SECRET_KEY_FILE": str(token_file)})


def test_a_provider_secret_is_refused_only_when_it_is_an_example_value() -> None:
    env = {"INTERLUDE_TWILIO_AUTH_TOKEN": "abc123", "INTERLUDE_SMTP_PASSWORD": "hunter2hunter"}
    assert parse_config("", "x", env).secrets.twilio_auth_token == "abc123"
    with pytest.raises(ConfigError, match="INTERLUDE_SMTP_PASSWORD"):
        parse_config("", "x", {"INTERLUDE_SMTP_PASSWORD": "CHANGE-ME"})


def test_interlude_secret_prints_a_secret_the_config_accepts() -> None:
    from click.testing import CliRunner

    from service.cli import cli

    result = CliRunner().invoke(cli, ["secret"])
    value = result.output.strip()
    assert result.exit_code == 0 and len(value) >= 32
    assert parse_config("", "x", {"INTERLUDE_SECRET_KEY": value}).secrets.secret_key == value


def test_api_token_from_the_environment() -> None:
    env = {"INTERLUDE_API_TOKEN": TOKEN_A, "INTERLUDE_SECRET_KEY": TOKEN_B}
    config = parse_config("", "x", env)
    assert config.secrets.api_token == TOKEN_A
    assert config.secrets.secret_key == TOKEN_B


def test_api_token_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN_A + "\n", encoding="utf-8")
    config = parse_config("", "x", {"INTERLUDE_API_TOKEN_FILE": str(token_file)})
    assert config.secrets.api_token == TOKEN_A


def test_the_variable_wins_over_its_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN_A, encoding="utf-8")
    env = {"INTERLUDE_API_TOKEN": TOKEN_B, "INTERLUDE_API_TOKEN_FILE": str(token_file)}
    assert parse_config("", "x", env).secrets.api_token == TOKEN_B


def test_an_empty_token_file_means_no_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  \n", encoding="utf-8")
    assert parse_config("", "x", {"INTERLUDE_API_TOKEN_FILE": str(token_file)}).secrets.api_token is None


def test_an_unreadable_token_file_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match=r"^INTERLUDE_API_TOKEN_FILE: cannot read"):
        parse_config("", "x", {"INTERLUDE_API_TOKEN_FILE": str(missing)})


def test_no_environment_means_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_config reads only the env it is given, never the developer's."""
    monkeypatch.setenv("INTERLUDE_API_TOKEN", "leaked")
    monkeypatch.setenv("INTERLUDE_DATABASE_URL", "postgresql://leaked")
    config = parse_config("", "x")
    assert config.secrets.api_token is None
    assert config.database.url == "sqlite:///instance/interlude.db"


def test_secrets_never_appear_in_repr(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-key-from-file-7Qw2Zr9Lk4Xp1Vb", encoding="utf-8")
    env = {
        "INTERLUDE_API_TOKEN": "tok-Zq81x-4f8Jk2Lm9Np3Qr7St1Uv5Wx",
        "INTERLUDE_SECRET_KEY_FILE": str(key_file),
        "INTERLUDE_DATABASE_URL": "postgresql+psycopg://interlude:db-pa55word@db:5432/interlude",
    }
    config = parse_config("", "x", env)
    assert config.secrets.api_token == "tok-Zq81x-4f8Jk2Lm9Np3Qr7St1Uv5Wx"
    assert config.secrets.secret_key == "s3cret-key-from-file-7Qw2Zr9Lk4Xp1Vb"
    assert config.database.url.endswith("@db:5432/interlude")
    for text in (repr(config), str(config), repr(config.database)):
        assert "tok-Zq81x" not in text
        assert "s3cret-key-from-file" not in text
        assert "db-pa55word" not in text


# --- load_config ----------------------------------------------------------------------------------


def test_load_config_reads_the_named_file(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text("[clinic]\nname = 'Harbor Clinic'\n", encoding="utf-8")
    config = load_config(path, env={})
    assert config.clinic.name == "Harbor Clinic"
    assert config.source == str(path)


def test_load_config_follows_interlude_config(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text("[web]\nport = 8080\n", encoding="utf-8")
    assert load_config(env={"INTERLUDE_CONFIG": str(path)}).web.port == 8080


def test_load_config_without_a_file_uses_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no instance/config.toml here
    config = load_config(env={"INTERLUDE_API_TOKEN": TOKEN_A})
    assert config.source == "built-in defaults"
    assert config.secrets.api_token == TOKEN_A


def test_load_config_finds_instance_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.toml").write_text("[web]\nport = 7000\n", encoding="utf-8")
    assert load_config(env={}).web.port == 7000


def test_load_config_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match=rf"^{path}: cannot read config"):
        load_config(path, env={})


def test_load_config_errors_start_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text("[clinic]\ntimezone = 'Nowhere/Land'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, env={})
    assert str(excinfo.value).startswith(f"{path}: clinic.timezone: unknown IANA time zone 'Nowhere/Land'")


def test_invalid_toml_names_the_line() -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config("[web]\nport = 1\n[clinic\nname = 'x'\n", "cfg.toml", {})
    message = str(excinfo.value)
    assert message.startswith("cfg.toml")
    assert "invalid TOML" in message
    assert "line 3" in message
