"""The schema. Times are stored in UTC (timezone-aware columns); ids are integers."""

from __future__ import annotations

from datetime import UTC as _UTC
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from ..domain.origin import origin_of_key

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC instant. Refuses naive datetimes; always returns aware UTC datetimes.

    SQLite has no time zone type: values are stored as naive UTC text in one fixed format, so
    that text comparison in SQL is time comparison.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(_UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


Id = BigInteger().with_variant(Integer, "sqlite")
UTC = UTCDateTime()


def _origin_of_row(context: Any) -> str:
    return origin_of_key(context.get_current_parameters()["dedupe_key"]).value


clinics = Table(
    "clinics",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
)

patients = Table(
    "patients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("clinic_id", Id, ForeignKey("clinics.id"), nullable=False),
    Column("external_ref", String(100)),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("phone", String(20)),
    Column("email", String(254)),
    Column("timezone", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("channels", JSON, nullable=False),
    Column("indications", JSON, nullable=False),
    Column("detailed_messages", Boolean, nullable=False, default=False),
    # "ok", or "unusable" once the provider says the number cannot receive SMS (landline, invalid).
    Column("sms_status", String(16), nullable=False, server_default="ok"),
    Column("sms_status_reason", String(64)),
    Column("schedule", String(64), nullable=False),
    # How education messages go: "sms", "email" or "both"; NULL follows the default rule
    # (domain/channels.py). Migration 0010.
    Column("preferred_channel", String(8)),
    Column("enrolled_at", UTC, nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
    UniqueConstraint("clinic_id", "external_ref", name="uq_patients_clinic_external_ref"),
    # Every inbound message looks its sender up by phone (SMS) or address (email): migration 0005.
    Index("ix_patients_phone", "phone"),
    Index("ix_patients_email", "email"),
)

sessions = Table(
    "treatment_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("patient_id", Id, ForeignKey("patients.id"), nullable=False, index=True),
    Column("start_at", UTC, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("modality", String(16), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("schedule", String(64), nullable=False),
    Column("occurrence", Integer, nullable=False, default=0),
    Column("external_ref", String(100)),
    Column("booked_at", UTC, nullable=False),
    Column("rescheduled_at", UTC),
    Column("status_reason", String(200)),
    # pending | cleared | not_cleared | unreachable: the patient's answer to the preparation check.
    Column("clearance", String(16), nullable=False, server_default="pending"),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("dedupe_key", String(160), nullable=False, unique=True),
    # Who queued it (domain.origin.Origin): the planner, a reminder, a page, a staff answer, a
    # fallback. The service always says; a row inserted without one gets the origin its key names.
    Column("origin", String(16), nullable=False, default=_origin_of_row),
    Column("patient_id", Id, ForeignKey("patients.id")),
    Column("session_id", Id, ForeignKey("treatment_sessions.id")),
    Column("schedule", String(64), nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("template", String(64), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("category", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("occurrence", Integer, nullable=False, default=0),
    Column("due_at", UTC, nullable=False),
    Column("original_due_at", UTC),
    Column("send_by", UTC),
    Column("next_attempt_at", UTC, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claim_token", String(40)),
    # Staff messages (escalations to the on-call clinician) go to `recipient`, not to the patient.
    Column("audience", String(8), nullable=False, server_default="patient"),
    Column("recipient", String(254)),
    Column("context", JSON),
    Column("claimed_at", UTC),
    # The claim's lease: its worker extends it while it works; recovery takes only expired ones.
    Column("lease_until", UTC),
    Column("sent_at", UTC),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_session", "session_id"),
    Index("ix_outbox_patient", "patient_id"),
    Index("ix_outbox_claim", "claim_token"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("transport", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("provider_id", String(64), index=True),
    Column("error_code", String(32)),
    Column("error_class", String(16)),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("patient_id", Id, ForeignKey("patients.id"), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("action", String(8), nullable=False),
    Column("source", String(32), nullable=False),
    Column("raw_text", Text),
    Column("wording_version", String(64)),
    Column("created_at", UTC, nullable=False),
    Index("ix_consent_patient", "patient_id", "channel", "id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UTC, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", Id, nullable=False),
    Column("reason", String(500)),
    Column("details", JSON),
    Index("ix_audit_entity", "entity", "entity_id"),
)

sandbox_messages = Table(
    "sandbox_messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("attempt_id", Id, nullable=False, unique=True),
    Column("channel", String(8), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("sender", String(254)),
    Column("subject", String(300)),
    Column("body", Text, nullable=False),
    Column("html", Text),
    Column("headers", JSON),
    Column("created_at", UTC, nullable=False),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("provider_id", String(64), nullable=False, unique=True),
    Column("channel", String(8), nullable=False),
    Column("sender", String(254), nullable=False),
    Column("patient_id", Id, ForeignKey("patients.id"), index=True),
    Column("body", Text, nullable=False),
    Column("received_at", UTC, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("needs_attention", Boolean, nullable=False, default=False),
    Column("reply", Text),
    Column("checkin_id", Id),
    Column("handled_at", UTC),
    Column("handled_by", String(120)),
    Index("ix_inbound_attention", "needs_attention", "received_at"),
)

checkins = Table(
    "checkins",
    metadata,
    Column("id", Id, primary_key=True),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False, unique=True),
    Column("patient_id", Id, ForeignKey("patients.id"), nullable=False),
    Column("session_id", Id, ForeignKey("treatment_sessions.id")),
    Column("schedule", String(64), nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", UTC, nullable=False),
    Column("remind_at", UTC),
    Column("reminded_at", UTC),
    Column("closes_at", UTC, nullable=False),
    Column("answer", String(32)),
    Column("answered_at", UTC),
    Column("concerning", Boolean, nullable=False, default=False),
    Index("ix_checkins_patient_state", "patient_id", "state"),
    Index("ix_checkins_state_closes", "state", "closes_at"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(12), nullable=False, unique=True),
    Column("patient_id", Id, ForeignKey("patients.id")),
    Column("session_id", Id, ForeignKey("treatment_sessions.id")),
    Column("checkin_id", Id),
    Column("inbound_id", Id),
    Column("kind", String(24), nullable=False),
    # For kind "crisis": the crisis category (domain.crisis.CATEGORIES); NULL otherwise.
    Column("category", String(24)),
    Column("state", String(16), nullable=False),
    Column("level", Integer, nullable=False, default=0),
    Column("created_at", UTC, nullable=False),
    Column("notify_again_at", UTC),
    Column("acked_at", UTC),
    Column("acked_by", String(120)),
    Column("outcome", Text),
    Index("ix_escalations_state", "state", "notify_again_at"),
)

staff_tasks = Table(
    "staff_tasks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("patient_id", Id, ForeignKey("patients.id")),
    Column("session_id", Id, ForeignKey("treatment_sessions.id")),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("detail", String(500)),
    Column("created_at", UTC, nullable=False),
    Column("due_at", UTC),
    Column("done_at", UTC),
    Column("done_by", String(120)),
    Index("ix_tasks_state", "state", "created_at"),
)

# One row per sender (e.g. a Twilio number or Messaging Service): the earliest time, in epoch
# seconds, at which its next message may leave. Every worker process reserves its send slot here
# with one atomic UPDATE, so the sender's throughput holds however many workers run.
send_slots = Table(
    "send_slots",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("next_at", Float, nullable=False),
)

# Clinic staff who sign in to the staff pages. Passwords are stored as werkzeug hashes (scrypt);
# `session_epoch` is part of every sign-in cookie, so signing out or a new password ends every
# other session of that account at once.
staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTC),
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("last_login_at", UTC),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
)

# Edits made in the staff pages to the shipped schedules and templates: one row per saved
# version, never updated. kind "step": name "<schedule>:<step id>", body the step as JSON;
# kind "template": name "<template>/<lang>/<file>", body the template text. The newest version
# of a name wins over the file; a rollback is a new version carrying an older body (or, with
# body NULL, the file as shipped).
content_versions = Table(
    "content_versions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text),
    Column("actor", String(120), nullable=False),
    Column("reason", String(500)),
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("kind", "name", "version", name="uq_content_versions_kind_name_version"),
)

# One row per Idempotency-Key of a POST to the JSON API (service.services.idempotency): the hash
# of the request (method, path, body) and, once it has run, the response the client got. `status`
# is NULL while the first request with the key is still running. Pruned after a day by the
# housekeeping.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key", String(200), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer),
    Column("body", Text),
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("key", "path", name="uq_idempotency_keys_key_path"),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

# One row per message a booking feed delivered (source e.g. "hl7", message_id its control id):
# a repeated message is acknowledged from here and never applied twice.
feed_messages = Table(
    "feed_messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("source", String(20), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("received_at", UTC, nullable=False),
    Column("result", String(20), nullable=False),
    Column("detail", Text),
    UniqueConstraint("source", "message_id", name="uq_feed_messages_source_message_id"),
)

# One questionnaire (PHQ-9, GAD-7, PCL-5) sent by a measure step, per patient and link: the link
# of the step's SMS and the one of its email lead to the same row (`link_key`: schedule, step,
# session and occurrence). Made by the first answer submitted; `answers` holds the items answered
# so far ({"1": 0, ...}), and score, band and flags are set when the last item is in.
measure_responses = Table(
    "measure_responses",
    metadata,
    Column("id", Id, primary_key=True),
    Column("patient_id", Id, ForeignKey("patients.id"), nullable=False),
    Column("session_id", Id, ForeignKey("treatment_sessions.id")),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False),
    Column("instrument", String(8), nullable=False),
    Column("link_key", String(200), nullable=False, unique=True),
    Column("language", String(8), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("started_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
    Column("completed_at", UTC),
    Column("score", Integer),
    Column("band", String(32)),
    Column("flags", JSON),
    Column("escalation_id", Id),
    Index("ix_measure_responses_patient_instrument", "patient_id", "instrument", "completed_at"),
)
