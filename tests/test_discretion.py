"""Discretion: a short SMS name, sensitive words in every language, no first name in a discreet SMS.

Every SMS starts with `[clinic] sms_name`, which also names email senders given without a display
name; `interlude check` flags a sensitive word (of any language) in it or in a configured From
display name, a discreet SMS or email with a word of its own language, a discreet SMS carrying the
patient's first name, and a text the configured name pushes over its segment budget.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.checks import check_template, discretion_problems
from service.config import ClinicConfig, Config, ConfigError, SmtpConfig, parse_config
from service.domain.discretion import sensitive_in
from service.services.outbox.dispatch import Dispatcher
from service.templates import MessageTemplates
from service.transports.base import Outgoing
from service.transports.smtp_email import SmtpEmailTransport
from tests.helpers import ROOT, book, cli_config, enrol, make_config, make_services, rows, run_cli, sandbox

NOW = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
TWENTY = "Harbor Wellness Team"  # 20 characters: the longest sms_name allowed


def config(toml: str = "", messages: str = "") -> Config:
    """The shipped messages; `messages`: more [messages] keys, `toml`: other tables."""
    folder = (ROOT / "messages").as_posix()
    return parse_config(f'[messages]\ndir = "{folder}"\n{messages}\n{toml}', "test.toml")


def check(cfg: Config, name: str, overlays: dict[str, str]) -> list[str]:
    """The problems of template `name`, written as `overlays` over the shipped messages."""
    templates = MessageTemplates(ROOT / "messages", overlays=overlays)
    return [f"{p.file}:{p.line}: {p.message}" for p in check_template(cfg, templates, name, NOW)]


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words", "found"),
    [
        ("Su próxima INFUSION", ["infusión"], ["infusión"]),  # accents and case aside, both ways
        ("your infusión", ["infusion"], ["infusion"]),
        ("Centro Psiquiátrico", ["psiquiatr"], ["psiquiatr"]),  # the start of a word
        ("an esketamine visit", ["ketamine"], []),  # never the middle of one
        ("non-ketamine", ["ketamine"], ["ketamine"]),
        ("call 988 (Suicide & Crisis Lifeline)", ["suicid"], []),  # the crisis line's own name
        ("thoughts of suicide", ["suicid"], ["suicid"]),
    ],
)
def test_a_sensitive_word_is_the_start_of_a_word_whatever_the_case_and_accents(text, words, found):
    assert sensitive_in(text, words) == found


# --- configuration ------------------------------------------------------------------------------


def test_the_defaults_have_words_for_english_and_spanish_and_a_short_gsm7_sms_name():
    cfg = config()
    assert cfg.clinic.sms_name == "Interlude Demo"
    assert "suicid" in cfg.messages.sensitive_for("en") and "spravato" in cfg.messages.sensitive_for("en")
    assert {"ketamina", "depresión", "tept", "tdah", "suicid", "spravato"} <= set(
        cfg.messages.sensitive_for("es")
    )
    assert discretion_problems(cfg) == []
    assert cfg.messages.sensitive_words_by_language == Config().messages.sensitive_words_by_language


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('""', "test.toml: clinic.sms_name: must not be empty"),
        ('"  "', "test.toml: clinic.sms_name: must not be empty"),
        ('"Harbor Wellness Team!"', "test.toml: clinic.sms_name: at most 20 characters, got 21"),
        ('"Clínica Harbor"', "test.toml: clinic.sms_name: only GSM-7 characters"),
        ('" Harbor"', "test.toml: clinic.sms_name: no leading or trailing spaces or line breaks"),
        ("7", "test.toml: clinic.sms_name: expected str"),
    ],
)
def test_a_bad_sms_name_is_refused_naming_the_key(value, expected):
    with pytest.raises(ConfigError) as exc:
        config(f"[clinic]\nsms_name = {value}")
    assert str(exc.value).startswith(expected)


def test_a_language_given_replaces_its_own_words_and_keeps_the_others():
    cfg = config('[messages.sensitive_words_by_language]\nes = ["ketamina"]\nfr = ["kétamine"]')
    assert cfg.messages.sensitive_words_by_language["es"] == ("ketamina",)
    assert "depression" in cfg.messages.sensitive_words_by_language["en"]  # the built-in list stays
    assert cfg.messages.sensitive_for("fr") == ("spravato", "kétamine")


def test_the_old_single_list_still_applies_to_every_language():
    cfg = config(messages='sensitive_words = ["harbor"]')
    assert "harbor" in cfg.messages.sensitive_for("en") and "harbor" in cfg.messages.sensitive_for("es")
    assert "ketamina" in cfg.messages.sensitive_for("es")


def test_a_blank_sensitive_word_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"messages\.sensitive_words_by_language\.es: ' ' has no letters"):
        config('[messages.sensitive_words_by_language]\nes = [" "]')


# --- interlude check ------------------------------------------------------------------------------


def test_a_spanish_sensitive_word_in_a_spanish_sms_fails_the_check():
    spanish = (
        "{{ clinic.sms_name }}: mañana es su sesión.\nTraiga su receta de KETAMÍNA. Dudas: {{ clinic.phone }}"
    )
    english = "{{ clinic.sms_name }}: see you soon.\nBring your Ketamina card. Questions: {{ clinic.phone }}"
    problems = check(config(), "fresh", {"fresh/es/sms.txt": spanish, "fresh/en/sms.txt": english})
    # Its line, whatever the case and accents; 'ketamina' is not an English word.
    assert problems == ["fresh/es/sms.txt:2: discreet SMS contains 'ketamina'"]


def test_a_language_without_sensitive_words_fails_the_check():
    cfg = config(messages='languages = ["en", "es", "fr"]')
    problems = [p.message for p in discretion_problems(cfg)]
    assert problems == [
        "[messages] sensitive_words_by_language has no words for 'fr' (a language of [messages] languages): "
        "discreet messages in 'fr' cannot be checked"
    ]


def test_a_sensitive_word_in_the_sms_name_fails_the_check_once():
    cfg = config('[clinic]\nname = "Harbor Clinic"\nsms_name = "Harbor Ketamina"')
    assert [str(p) for p in discretion_problems(cfg)] == [
        "test.toml: [clinic] sms_name 'Harbor Ketamina' contains the sensitive word 'ketamina': every patient sees it"
    ]
    # Said once, for the key, not again in every SMS that starts with it.
    shipped = "{{ clinic.sms_name }}: see you soon. Questions: {{ clinic.phone }}"
    assert check(cfg, "fresh", {"fresh/en/sms.txt": shipped}) == []


def test_a_sensitive_word_in_an_email_from_display_name_fails_the_check():
    cfg = config(
        '[smtp]\ncare_from = "Harbor Psychiatry <care@harbor.example>"\neducation_from = "learn@harbor.example"'
    )
    assert [p.message for p in discretion_problems(cfg)] == [
        "[smtp] care_from display name 'Harbor Psychiatry' contains the sensitive word 'psychiatr': "
        "every patient sees it"
    ]


def test_the_demo_sms_name_left_under_a_clinic_s_own_name_fails_the_check():
    cfg = config('[clinic]\nname = "Harbor Clinic"')
    assert [p.message for p in discretion_problems(cfg)] == [
        "[clinic] sms_name is still the demo's 'Interlude Demo' while [clinic] name is 'Harbor Clinic': "
        "set the short name your patients' SMS start with"
    ]


def test_a_long_sms_name_pushes_a_long_text_over_its_budget_and_the_check_names_it():
    # 305 GSM-7 characters with "Interlude Demo" (two segments hold 306); six more with a 20-character name.
    text = "{{ clinic.sms_name }}: " + "z" * (305 - len("Interlude Demo: "))
    overlays = {"fresh/en/sms.txt": text}
    assert check(config(), "fresh", overlays) == []
    long_name = config(f'[clinic]\nsms_name = "{TWENTY}"')
    assert check(long_name, "fresh", overlays) == [
        "fresh/en/sms.txt:1: 3 SMS segments (GSM-7, 311 units); budget 2 "
        f"with [clinic] sms_name '{TWENTY}' (20 characters)"
    ]


def test_a_first_name_in_a_discreet_sms_fails_the_check_and_a_detailed_one_may_have_it():
    greeting = "{{ clinic.sms_name }}: good morning {{ patient.first_name }}. Questions: {{ clinic.phone }}"
    assert check(config(), "fresh", {"fresh/en/sms.txt": greeting}) == [
        "fresh/en/sms.txt:1: discreet SMS contains the patient's first name (patient.first_name)"
    ]
    detailed_only = (
        "{{ clinic.sms_name }}: good morning{% if patient.detailed %} {{ patient.first_name }}{% endif %}. "
        "Questions: {{ clinic.phone }}"
    )
    assert check(config(), "fresh", {"fresh/en/sms.txt": detailed_only}) == []


def test_the_shipped_messages_say_no_sensitive_word_and_no_first_name_to_a_discreet_patient():
    # With the longest name allowed: a sensitive word or a name is found whatever the name's length.
    cfg = config(f'[clinic]\nsms_name = "{TWENTY}"')
    templates = MessageTemplates(ROOT / "messages")
    problems = [
        str(p)
        for name in templates.names()
        for p in check_template(cfg, templates, name, NOW)
        if p.message.startswith("discreet")
    ]
    assert problems == []


def test_interlude_check_fails_on_a_sensitive_sms_name(tmp_path):
    path = cli_config(tmp_path, '[clinic]\nname = "Harbor"\nsms_name = "Harbor TDAH"\n')
    result = run_cli("--config", str(path), "check", cwd=tmp_path)
    assert result.returncode != 0
    assert (
        "[clinic] sms_name 'Harbor TDAH' contains the sensitive word 'tdah'" in result.stdout + result.stderr
    )


# --- what patients get ----------------------------------------------------------------------------


def test_a_dispatched_sms_starts_with_the_sms_name_and_never_the_full_name(db_url, clock):
    extra = '[clinic]\nname = "Harbor Ketamine Clinic"\nsms_name = "Harbor Care"\n'
    app = make_services(db_url, clock, config=make_config(db_url, extra=extra))
    try:
        patient = enrol(app)
        book(app, patient["id"], "2027-03-12T09:00")
        clock.set(min(r["due_at"] for r in rows(app, channel="sms")))  # the booking confirmation
        Dispatcher(app).run_once()
        sms = [m["body"] for m in sandbox(app) if m["channel"] == "sms"]
    finally:
        app.engine.dispose()
    assert sms and all(body.startswith("Harbor Care: ") for body in sms)
    assert not any("Ketamine" in body for body in sms)


def test_an_email_address_without_a_display_name_is_shown_with_the_sms_name():
    clinic = ClinicConfig(name="Harbor Ketamine Clinic", sms_name="Harbor Care")
    transport = SmtpEmailTransport(SmtpConfig(care_from="care@harbor.example"), clinic, None)
    email = transport.build(
        Outgoing(attempt_id=1, channel="email", to="p@example.org", body="Hello", subject=None)
    )
    assert email["From"] == "Harbor Care <care@harbor.example>"
    assert email["Subject"] == "Harbor Care"
    named = SmtpEmailTransport(SmtpConfig(care_from="Harbor <care@harbor.example>"), clinic, None)
    assert named.build(Outgoing(attempt_id=2, channel="email", to="p@example.org", body="Hi"))["From"] == (
        "Harbor <care@harbor.example>"
    )
