"""Configuration: a TOML file (or the built-in defaults) loaded into frozen, typed objects.

Unknown keys and wrong types are refused with the key's dotted name. Secrets come only from the
environment (or a file named by `<VAR>_FILE`), never from the TOML file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from .domain.durations import DomainError, parse_duration
from .domain.hl7_siu import consent_location
from .domain.office_hours import DAYS, OfficeHours, check_days, parse_office_hours
from .domain.segments import is_gsm7
from .domain.text import fold

ENV_CONFIG = "INTERLUDE_CONFIG"
ENV_DATABASE_URL = "INTERLUDE_DATABASE_URL"
ENV_API_TOKEN = "INTERLUDE_API_TOKEN"
ENV_SECRET_KEY = "INTERLUDE_SECRET_KEY"
DEFAULT_INSTANCE_CONFIG = Path("instance/config.toml")
MODALITIES = ("iv", "im", "intranasal", "oral", "kat")
ENV_TWILIO_AUTH_TOKEN = "INTERLUDE_TWILIO_AUTH_TOKEN"
ENV_SMTP_PASSWORD = "INTERLUDE_SMTP_PASSWORD"
ENV_METRICS_TOKEN = "INTERLUDE_METRICS_TOKEN"
SMS_TRANSPORTS = ("sandbox", "twilio")
EMAIL_TRANSPORTS = ("sandbox", "smtp")
SMTP_SECURITY = ("starttls", "ssl", "none")
AFTER_HOURS_INBOX = ("page", "wait")
# The lines patients are told to call, by the clinic's country: (emergency, crisis line to call
# and text). A country not named here has no default: its clinic sets both lines itself.
COUNTRY_LINES = {"US": ("911", "988"), "CA": ("911", "988")}
# A line as patients dial it: digits, with spaces or hyphens between groups ("116 123").
_LINE = re.compile(r"^\+?[0-9](?:[0-9 -]{0,18}[0-9])?$")


class ConfigError(ValueError):
    """A configuration problem; the message starts with the file and the key."""


@dataclass(frozen=True)
class DatabaseConfig:
    # Kept out of repr: a PostgreSQL URL (often from INTERLUDE_DATABASE_URL) may carry a password.
    url: str = field(default="sqlite:///instance/interlude.db", repr=False)
    pool_size: int = 5


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 5000
    public_base_url: str = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class WorkerConfig:
    tick_seconds: float = 1.0
    batch_size: int = 200
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    stale_claim_seconds: int = 300


@dataclass(frozen=True)
class FastingConfig:
    solids: timedelta
    clear_liquids: timedelta


def _default_fasting() -> dict[str, FastingConfig]:
    h = timedelta(hours=1)
    return {
        "iv": FastingConfig(6 * h, 2 * h),
        "im": FastingConfig(6 * h, 2 * h),
        "intranasal": FastingConfig(2 * h, timedelta(minutes=30)),
        "oral": FastingConfig(4 * h, 1 * h),
        "kat": FastingConfig(6 * h, 2 * h),
    }


@dataclass(frozen=True)
class ClinicConfig:
    name: str = "Interlude Demo Clinic"
    # The name every SMS starts with and the display name of email From addresses that give none:
    # short and discreet (no drug, diagnosis or "psychiatry"), GSM-7 only, at most 20 characters.
    sms_name: str = "Interlude Demo"
    phone: str = "+12025550100"
    after_hours_phone: str = "+12025550199"
    email: str = "care@clinic.example"
    address: str = "100 Main St, Springfield"
    timezone: str = "America/New_York"
    quiet_hours_start: time = time(8, 0)
    quiet_hours_end: time = time(20, 0)
    # Safety messages (check-ins) may go until this local time (or quiet_hours_end, if later).
    safety_until: time = time(21, 0)
    arrival_before: timedelta = timedelta(minutes=15)
    fasting: Mapping[str, FastingConfig] = field(default_factory=_default_fasting)
    # When the clinic reads its Inbox, in its own time zone ("HH:MM-HH:MM" and days of the week).
    office_hours: str = "08:00-18:00"
    office_days: tuple[str, ...] = DAYS[:5]
    # The clinic's country (ISO 3166 alpha-2): phone numbers are read as dialled there, and the
    # default emergency and crisis lines are its own. Patients whose phone number or time zone is
    # in another country are refused unless that country is in `countries`.
    country: str = "US"
    countries: tuple[str, ...] = ()
    # Empty: the country's own (US and CA: 911 and 988); any other country must set both.
    emergency_number: str = ""
    crisis_line: str = ""
    # Empty: the crisis line takes texts too.
    crisis_line_text: str = ""

    @property
    def emergency(self) -> str:
        """The emergency number patients are told to call ("" when the country has no default)."""
        return self.emergency_number or COUNTRY_LINES.get(self.country, ("", ""))[0]

    @property
    def crisis(self) -> str:
        """The crisis line patients are told to call ("" when the country has no default)."""
        return self.crisis_line or COUNTRY_LINES.get(self.country, ("", ""))[1]

    @property
    def crisis_text(self) -> str:
        """The number patients may text in a crisis: the crisis line unless another is set."""
        return self.crisis_line_text or self.crisis

    @property
    def accepted_countries(self) -> tuple[str, ...]:
        """The countries whose patients the clinic takes: its own first, then `countries`."""
        return (self.country, *(c for c in self.countries if c != self.country))

    @property
    def office(self) -> OfficeHours:
        """The office hours as the domain rule takes them (the config is validated on load)."""
        start, end = parse_office_hours(self.office_hours)
        return OfficeHours(start, end, self.office_days, ZoneInfo(self.timezone))


@dataclass(frozen=True)
class SchedulesConfig:
    dir: str = "schedules"
    default: str = "default"


# Words a discreet message must not say, each the start of a word ("psychiatr" also finds
# "psychiatrist"), matched whatever the case and accents: brand names, the same in every language,
# and each language's own words.
_SENSITIVE = ("spravato",)


def _default_sensitive_by_language() -> dict[str, tuple[str, ...]]:
    return {
        "en": (
            "ketamine",
            "esketamine",
            "infusion",
            "depression",
            "anxiety",
            "ptsd",
            "adhd",
            "psychiatr",
            "dissociat",
            "suicid",
        ),
        "es": (
            "ketamina",
            "esketamina",
            "infusión",
            "depresión",
            "ansiedad",
            "tept",
            "tdah",
            "psiquiatr",
            "disocia",
            "suicid",
        ),
    }


@dataclass(frozen=True)
class MessagesConfig:
    dir: str = "messages"
    default_language: str = "en"
    languages: tuple[str, ...] = ("en", "es")
    # Checked in every language; `sensitive_words_by_language` adds each language's own words (a
    # language given in the file replaces that language's built-in list, the others stay).
    sensitive_words: tuple[str, ...] = _SENSITIVE
    sensitive_words_by_language: Mapping[str, tuple[str, ...]] = field(
        default_factory=_default_sensitive_by_language
    )
    # Tell the patient, on each channel they consented to, when staff cancel a session that is
    # still ahead (session_cancelled) or mark one a no-show (session_no_show), with how to rebook.
    notify_cancellation: bool = True
    notify_no_show: bool = True
    # Across a patient's course (domain/course.py): at most this many education messages a local
    # day and in any 7 days (a message by SMS and email counts once), and no message but safety
    # from a session's start until this long after its end.
    education_per_day: int = 1
    education_per_week: int = 3
    quiet_after_session: timedelta = timedelta(hours=2)

    def sensitive_for(self, language: str) -> tuple[str, ...]:
        """The words a discreet message in `language` must not say."""
        own = self.sensitive_words_by_language.get(language, ())
        return tuple(dict.fromkeys((*self.sensitive_words, *own)))

    def all_sensitive(self) -> tuple[str, ...]:
        """The words of every language (for names that every patient sees)."""
        by_language = (w for words in self.sensitive_words_by_language.values() for w in words)
        return tuple(dict.fromkeys((*self.sensitive_words, *by_language)))


@dataclass(frozen=True)
class SmsConfig:
    transport: str = "sandbox"


@dataclass(frozen=True)
class EmailConfig:
    transport: str = "sandbox"


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str = ""
    messaging_service_sid: str = ""
    from_number: str = ""
    # Empty: Twilio's own https://api.twilio.com. Set it for a Twilio-compatible provider or a test peer.
    api_base_url: str = ""
    # The sender's throughput in messages per second (1 for a long code, 3 toll-free, more for short codes).
    max_per_second: float = 1.0
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    # An address alone gets [clinic] sms_name as its display name ("Interlude Demo <care@...>").
    care_from: str = "care@clinic.example"
    education_from: str = "learn@clinic.example"
    reply_to: str = ""
    timeout_seconds: float = 15.0


@dataclass(frozen=True)
class DeliveryConfig:
    # A preparation message with no confirmed delivery this long before its session becomes a staff task.
    prep_unconfirmed_before: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class ContactConfig:
    name: str
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class EscalationConfig:
    # Who is paged first, and who next when nobody acknowledges within ack_minutes.
    on_call: tuple[ContactConfig, ...] = ()
    backup: tuple[ContactConfig, ...] = ()
    ack_minutes: int = 15
    # A patient whose preparation is not cleared this long before the session becomes a staff task.
    clearance_due_before: timedelta = timedelta(hours=12)
    # At most one automatic "we read messages during office hours" reply per patient per this long.
    inbox_ack_every: timedelta = timedelta(hours=4)
    # "page": a message reaching the Inbox outside office hours, within 72 h after a session,
    # pages the on-call clinician (low urgency); "wait": it waits for office hours.
    after_hours_inbox: str = "page"


@dataclass(frozen=True)
class RetentionConfig:
    # Days after a row's last change before housekeeping prunes it; 0 keeps that table forever.
    # 400 days (about 13 months): the delivery record of a safety message may belong to the
    # medical record, so the default keeps more than a year; a clinic sets it to its own policy.
    outbox_days: int = 400
    attempts_days: int = 400
    # Sandbox records hold rendered bodies of messages that never left the machine.
    sandbox_days: int = 30
    inbound_days: int = 400
    run_every_minutes: int = 60
    batch_size: int = 5000


def _default_visit_types() -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class ImportsConfig:
    # The clinic's visit types (as its system writes them, any case) -> a modality; a visit type
    # that is a modality's own name ("iv", "IM"...) needs no entry.
    visit_types: dict[str, str] = field(default_factory=_default_visit_types)
    # The CSV column, FHIR extension url and PID field saying the patient agreed to texts.
    consent_column: str = "SMS Consent"
    consent_extension: str = "http://interlude.example/fhir/StructureDefinition/sms-consent"
    # The largest CSV the Import page takes, in megabytes (the command line reads any size).
    max_upload_mb: int = 20
    # The HL7 v2 field saying the patient agreed to texts ("ZPD-1", "PD1-12"; Y or N); empty: no
    # field says so, and patients from HL7 are enrolled with SMS off (service.domain.hl7_siu).
    hl7_consent_field: str = ""


@dataclass(frozen=True)
class MetricsConfig:
    # GET /metrics (Prometheus). With INTERLUDE_METRICS_TOKEN set it needs that bearer token;
    # without, it answers only clients on this machine (loopback, not through a proxy).
    enabled: bool = True
    # A message still pending this long after it was due counts as overdue.
    overdue_after: timedelta = timedelta(seconds=60)
    # interlude_sends_recent counts the messages that reached a final state within this window.
    sends_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ReportsConfig:
    # The Reports page's and `interlude report`'s cost estimate, in US dollars: the price of one
    # outbound SMS segment (Twilio's US list price for a long-code segment, before carrier fees;
    # set your own contract's) and of one email (0: the clinic's own mail server).
    sms_segment_price: float = 0.0079
    email_price: float = 0.0


@dataclass(frozen=True)
class MeasuresConfig:
    # A PHQ-9 total this many points above the patient's previous one opens a staff task.
    worsening_points: int = 5
    # How many days a questionnaire link works after it is sent.
    link_days: int = 7


@dataclass(frozen=True)
class Secrets:
    """Values that only ever come from the environment."""

    api_token: str | None = None
    secret_key: str | None = None
    twilio_auth_token: str | None = None
    smtp_password: str | None = None
    metrics_token: str | None = None


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    web: WebConfig = field(default_factory=WebConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    clinic: ClinicConfig = field(default_factory=ClinicConfig)
    schedules: SchedulesConfig = field(default_factory=SchedulesConfig)
    messages: MessagesConfig = field(default_factory=MessagesConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    imports: ImportsConfig = field(default_factory=ImportsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    measures: MeasuresConfig = field(default_factory=MeasuresConfig)
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    source: str = "built-in defaults"

    def replace(self, **changes: Any) -> Config:
        """A copy with some sections replaced (tests build their config this way)."""
        return dataclasses.replace(self, **changes)


# --- loading -------------------------------------------------------------------------------

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _check_time(value: Any, key: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ConfigError(f"{key}: expected a time as 'HH:MM' (24-hour), got {value!r}")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _check_duration(value: Any, key: str) -> timedelta:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a duration such as '6h' or '30m', got {value!r}")
    try:
        return parse_duration(value)
    except DomainError as exc:
        raise ConfigError(f"{key}: {exc}") from exc


def _check_scalar(value: Any, kind: type, key: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _build(cls: Any, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name not in ("secrets", "source")}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key (known: {', '.join(sorted(names))})")
    values: dict[str, Any] = {}
    for name, raw in data.items():
        values[name] = _convert(hints[name], raw, f"{prefix}.{name}" if prefix else name)
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    for name in required:
        if name not in values:
            raise ConfigError(f"{prefix}.{name}: missing (required)")
    return cls(**values)


def _convert(hint: Any, raw: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw, key)
    if hint is time:
        return _check_time(raw, key)
    if hint is timedelta:
        return _check_duration(raw, key)
    origin = typing.get_origin(hint)
    if origin is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
        if not isinstance(raw, list):
            raise ConfigError(f"{key}: expected a list of tables ([[{key}]]), got {raw!r}")
        item = typing.get_args(hint)[0]
        return tuple(_build(item, v, f"{key}[{i}]") for i, v in enumerate(raw))
    if origin is tuple:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ConfigError(f"{key}: expected a list of strings, got {raw!r}")
        return tuple(raw)
    if origin in (Mapping, dict):
        if not isinstance(raw, dict):
            raise ConfigError(f"{key}: expected a table, got {raw!r}")
        value_type = typing.get_args(hint)[1]
        return {k: _convert(value_type, v, f"{key}.{k}") for k, v in raw.items()}
    return _check_scalar(raw, hint, key)


def _validate(config: Config) -> None:
    try:
        ZoneInfo(config.clinic.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"clinic.timezone: unknown IANA time zone {config.clinic.timezone!r}") from exc
    if config.clinic.quiet_hours_start >= config.clinic.quiet_hours_end:
        raise ConfigError("clinic.quiet_hours_start: must be before clinic.quiet_hours_end")
    if config.clinic.safety_until <= config.clinic.quiet_hours_start:
        raise ConfigError("clinic.safety_until: must be after clinic.quiet_hours_start")
    _validate_office(config.clinic)
    _validate_country(config.clinic)
    for modality in config.clinic.fasting:
        if modality not in MODALITIES:
            raise ConfigError(f"clinic.fasting.{modality}: unknown modality (known: {', '.join(MODALITIES)})")
    if config.sms.transport not in SMS_TRANSPORTS:
        raise ConfigError(f"sms.transport: expected one of {SMS_TRANSPORTS}, got {config.sms.transport!r}")
    if config.email.transport not in EMAIL_TRANSPORTS:
        raise ConfigError(
            f"email.transport: expected one of {EMAIL_TRANSPORTS}, got {config.email.transport!r}"
        )
    positives = {
        "worker.tick_seconds": config.worker.tick_seconds,
        "worker.batch_size": config.worker.batch_size,
        "worker.max_attempts": config.worker.max_attempts,
        "worker.retry_base_seconds": config.worker.retry_base_seconds,
        "worker.stale_claim_seconds": config.worker.stale_claim_seconds,
        "database.pool_size": config.database.pool_size,
        "web.port": config.web.port,
    }
    for key, value in positives.items():
        if value <= 0:
            raise ConfigError(f"{key}: must be positive, got {value!r}")
    if config.smtp.security not in SMTP_SECURITY:
        raise ConfigError(f"smtp.security: expected one of {SMTP_SECURITY}, got {config.smtp.security!r}")
    _validate_lease(config)
    if config.twilio.max_per_second <= 0:
        raise ConfigError("twilio.max_per_second: must be positive")
    if config.measures.worsening_points < 1 or not 1 <= config.measures.link_days <= 60:
        raise ConfigError("measures: worsening_points must be at least 1 and link_days 1 to 60")
    if config.escalation.ack_minutes <= 0:
        raise ConfigError("escalation.ack_minutes: must be positive")
    if config.escalation.after_hours_inbox not in AFTER_HOURS_INBOX:
        raise ConfigError(
            f"escalation.after_hours_inbox: expected one of {AFTER_HOURS_INBOX}, "
            f"got {config.escalation.after_hours_inbox!r}"
        )
    for group in ("on_call", "backup"):
        for i, contact in enumerate(getattr(config.escalation, group)):
            if not contact.phone and not contact.email:
                raise ConfigError(f"escalation.{group}[{i}]: needs a phone or an email")
    if config.messages.default_language not in config.messages.languages:
        raise ConfigError("messages.default_language: must be one of messages.languages")
    if not config.web.public_base_url.startswith(("http://", "https://")):
        raise ConfigError("web.public_base_url: must start with http:// or https://")
    _validate_retention(config.retention)
    _validate_sms_name(config.clinic.sms_name)
    _validate_sensitive_words(config.messages)
    _validate_course(config.messages)
    _validate_imports(config.imports)
    _validate_metrics(config.metrics)
    _validate_reports(config.reports)


def _validate_reports(r: ReportsConfig) -> None:
    for name in ("sms_segment_price", "email_price"):
        if not 0 <= getattr(r, name) < 10:
            raise ConfigError(
                f"reports.{name}: must be a price in US dollars from 0 to 10, got {getattr(r, name)!r}"
            )


def _validate_metrics(m: MetricsConfig) -> None:
    if m.overdue_after <= timedelta(0):
        raise ConfigError("metrics.overdue_after: must be positive, such as '60s'")
    if not timedelta(minutes=1) <= m.sends_window <= timedelta(days=7):
        raise ConfigError("metrics.sends_window: must be between '1m' and '7d'")


def _validate_imports(imports: ImportsConfig) -> None:
    for code, modality in imports.visit_types.items():
        if modality not in MODALITIES:
            raise ConfigError(
                f"imports.visit_types.{code}: unknown modality {modality!r} (known: {', '.join(MODALITIES)})"
            )
    if imports.max_upload_mb <= 0:
        raise ConfigError("imports.max_upload_mb: must be positive")
    if imports.hl7_consent_field:
        try:
            consent_location(imports.hl7_consent_field)
        except ValueError as exc:
            raise ConfigError(f"imports.hl7_consent_field: {exc}") from exc


def _validate_course(m: MessagesConfig) -> None:
    if m.education_per_day < 1:
        raise ConfigError("messages.education_per_day: must be at least 1")
    if m.education_per_week < m.education_per_day:
        raise ConfigError("messages.education_per_week: must be at least messages.education_per_day")
    if m.quiet_after_session < timedelta(0) or m.quiet_after_session > timedelta(hours=24):
        raise ConfigError("messages.quiet_after_session: must be between '0m' and '24h'")


SMS_NAME_MAX = 20


def _validate_sms_name(value: str) -> None:
    """The name in front of every SMS: short, on one line, and GSM-7 (one other character would
    make every SMS UCS-2, at about half the characters per segment)."""
    if not value.strip():
        raise ConfigError("clinic.sms_name: must not be empty")
    if value != value.strip() or "\n" in value or "\r" in value:
        raise ConfigError(f"clinic.sms_name: no leading or trailing spaces or line breaks, got {value!r}")
    if len(value) > SMS_NAME_MAX:
        raise ConfigError(f"clinic.sms_name: at most {SMS_NAME_MAX} characters, got {len(value)} ({value!r})")
    bad = next((c for c in value if not is_gsm7(c)), None)
    if bad is not None:
        raise ConfigError(
            f"clinic.sms_name: only GSM-7 characters (plain letters, digits, common punctuation), "
            f"got {bad!r} (U+{ord(bad):04X}) in {value!r}"
        )


def _validate_sensitive_words(messages: MessagesConfig) -> None:
    lists = {"messages.sensitive_words": messages.sensitive_words}
    for lang, words in messages.sensitive_words_by_language.items():
        lists[f"messages.sensitive_words_by_language.{lang}"] = words
    for key, words in lists.items():
        for word in words:
            if not fold(word):
                raise ConfigError(f"{key}: {word!r} has no letters or digits (it would match every word)")


def _validate_office(clinic: ClinicConfig) -> None:
    try:
        parse_office_hours(clinic.office_hours)
    except DomainError as exc:
        raise ConfigError(f"clinic.office_hours: {exc}") from exc
    try:
        check_days(clinic.office_days)
    except DomainError as exc:
        raise ConfigError(f"clinic.office_days: {exc}") from exc


def _check_country(value: str, key: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        hint = f"; did you mean {value.upper()!r}?" if value.upper() in phonenumbers.SUPPORTED_REGIONS else ""
        raise ConfigError(f"{key}: unknown country {value!r}: expected an ISO 3166 code such as 'US'{hint}")


def _validate_country(clinic: ClinicConfig) -> None:
    _check_country(clinic.country, "clinic.country")
    for i, other in enumerate(clinic.countries):
        _check_country(other, f"clinic.countries[{i}]")
    lines = {
        "clinic.emergency_number": (clinic.emergency, "the number patients call in an emergency"),
        "clinic.crisis_line": (clinic.crisis, "a crisis line patients can call and text at any time"),
    }
    for key, (line, what) in lines.items():
        if not line:
            raise ConfigError(
                f"{key}: required for clinic.country {clinic.country!r} (defaults exist only for "
                f"{', '.join(COUNTRY_LINES)}): set {what}"
            )
    named = {**lines, "clinic.crisis_line_text": (clinic.crisis_text, "")}
    for key, (line, _) in named.items():
        if not _LINE.match(line):
            raise ConfigError(
                f"{key}: expected a number as patients dial it, such as '911' or '116 123', got {line!r}"
            )


def _validate_lease(config: Config) -> None:
    """A send must end well within its claim's lease (the worker extends it between sends)."""
    lease = config.worker.stale_claim_seconds
    timeouts: dict[str, float] = {}
    if config.email.transport == "smtp":
        timeouts["smtp.timeout_seconds"] = config.smtp.timeout_seconds
    if config.sms.transport == "twilio":
        timeouts["twilio.timeout_seconds"] = config.twilio.timeout_seconds
    for key, timeout in timeouts.items():
        if not 0 < 3 * timeout <= lease:
            raise ConfigError(
                f"{key}: must be positive and at most a third of worker.stale_claim_seconds ({lease}), got {timeout!r}"
            )


# Housekeeping deletes by lists of ids: SQLite allows 32,766 bound values in one statement.
MAX_RETENTION_BATCH = 10_000


def _validate_retention(r: RetentionConfig) -> None:
    for name in ("outbox_days", "attempts_days", "sandbox_days", "inbound_days"):
        if getattr(r, name) < 0:
            raise ConfigError(f"retention.{name}: must be 0 (keep forever) or more, got {getattr(r, name)!r}")
    if r.run_every_minutes <= 0:
        raise ConfigError(f"retention.run_every_minutes: must be positive, got {r.run_every_minutes!r}")
    if not 1 <= r.batch_size <= MAX_RETENTION_BATCH:
        raise ConfigError(f"retention.batch_size: must be 1 to {MAX_RETENTION_BATCH}, got {r.batch_size!r}")
    # An attempt is pruned with its message (it points to it), so it cannot be kept longer.
    if r.outbox_days and (r.attempts_days == 0 or r.attempts_days > r.outbox_days):
        raise ConfigError("retention.attempts_days: must not exceed retention.outbox_days")


def _env_secret(env: Mapping[str, str], name: str, *, ours: bool = False) -> str | None:
    """A secret from env NAME, or from the file named by NAME_FILE; refused when weak.

    `ours` marks a secret this service makes up itself (the API token, the signing key): it must
    be long and random. One a provider issues (Twilio's token, the SMTP password) is only
    refused when it is an example value left in place.
    """
    value = env.get(name)
    if not value:
        path = env.get(f"{name}_FILE")
        if not path:
            return None
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path!r}: {exc.strerror}") from exc
        if not value:
            return None
    problem = weak_secret(value, ours=ours)
    if problem:
        raise ConfigError(f"{name}: {problem}; make one with `interlude secret`")
    return value


MIN_SECRET = 32
_PLACEHOLDERS = ("changeme", "replaceme", "placeholder", "yoursecret", "yourtoken", "example", "secretkey")


def weak_secret(value: str, *, ours: bool = True) -> str | None:
    """Why `value` may not serve as a secret (a placeholder, too short, too uniform), or None."""
    folded = "".join(c for c in value.lower() if c.isalnum())
    if any(word in folded for word in _PLACEHOLDERS) or folded in ("", "secret", "token", "password"):
        return "an example value, not a secret"
    if not ours:
        return None
    if len(value) < MIN_SECRET:
        return f"at least {MIN_SECRET} characters are needed, got {len(value)}"
    if len(set(value)) < 8:
        return "too few different characters to be random"
    return None


def parse_config(text: str, source: str, env: Mapping[str, str] | None = None) -> Config:
    """Parse TOML text into a Config, applying environment overrides and secrets.

    Raises ConfigError with "SOURCE: key: problem" (or "SOURCE:LINE: ..." for TOML syntax).
    """
    env = {} if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: invalid TOML: {exc}") from exc
    try:
        config: Config = _build(Config, data, "")
        fasting = {**_default_fasting(), **config.clinic.fasting}
        config = config.replace(clinic=dataclasses.replace(config.clinic, fasting=fasting))
        # A language given in the file replaces that language's built-in words; the others stay.
        by_language = {**_default_sensitive_by_language(), **config.messages.sensitive_words_by_language}
        config = config.replace(
            messages=dataclasses.replace(config.messages, sensitive_words_by_language=by_language)
        )
        _validate(config)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    db_url = env.get(ENV_DATABASE_URL)
    if db_url:
        config = config.replace(database=dataclasses.replace(config.database, url=db_url))
    secrets = Secrets(
        api_token=_env_secret(env, ENV_API_TOKEN, ours=True),
        secret_key=_env_secret(env, ENV_SECRET_KEY, ours=True),
        twilio_auth_token=_env_secret(env, ENV_TWILIO_AUTH_TOKEN),
        smtp_password=_env_secret(env, ENV_SMTP_PASSWORD),
        metrics_token=_env_secret(env, ENV_METRICS_TOKEN, ours=True),
    )
    return config.replace(secrets=secrets, source=source)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the config: PATH, else env INTERLUDE_CONFIG, else instance/config.toml, else defaults.

    Raises ConfigError naming the file and key of the first problem.
    """
    env = dict(os.environ) if env is None else env
    chosen = path or env.get(ENV_CONFIG)
    if chosen is None and DEFAULT_INSTANCE_CONFIG.is_file():
        chosen = DEFAULT_INSTANCE_CONFIG
    if chosen is None:
        return parse_config("", "built-in defaults", env)
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config: {exc.strerror}") from exc
    return parse_config(text, str(file), env)
