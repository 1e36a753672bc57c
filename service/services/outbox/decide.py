"""What the dispatcher does with one claimed message: send it (rendered), or why not.

Session state, deadlines, quiet hours, consent and contact details are checked at send time,
against rows loaded once per batch; the consent gate in services.dispatch looks once more right
before the send.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from sqlalchemy import select

from ...db.engine import reader
from ...db.tables import sessions as sessions_table
from ...domain.consent import ConsentEvent, allows, purpose_of
from ...domain.origin import REMINDER_STEP
from ...domain.quiet_hours import place
from ...domain.session_state import Look, MessageKind, SessionState, message_stop
from ...runtime import Interlude
from ...template_context import Formatter, group_context, message_context, session_context
from ...templates import TemplateError
from ...transports.base import Outgoing
from ..measures import link_for
from ..replies.answer_links import links_for

log = logging.getLogger("interlude.dispatch")
# Quiet-hours policy of the messages the system plans itself (not from a schedule step).
SYSTEM_POLICIES = {REMINDER_STEP: "defer"}


@dataclass
class Decision:
    row: Mapping[Any, Any]
    outcome: str  # "send", "skipped", "cancelled", "deferred", "failed"
    reason: str | None = None
    message: Outgoing | None = None
    retry_at: datetime | None = None
    consent: list[ConsentEvent] = field(default_factory=list)


class _LazySession(Mapping[str, Any]):
    """The session's template variables, formatted on first use: formatting dates and times in
    the patient's locale is most of a render's cost, and most messages (education, check-ins,
    notes) never mention the session."""

    def __init__(self, session: Mapping[Any, Any], app: Interlude, fmt: Formatter, now: datetime) -> None:
        self._args = (session, app, fmt, now)
        self._values: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._values is None:
            session, app, fmt, now = self._args
            # `now` is the send time: "today" or "tomorrow" is seen from when the message goes.
            self._values = session_context(session, app.config.clinic, fmt, now)
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class Decider:
    """Decides and renders the messages of one batch (one instance per batch: it caches the
    template variables of a patient and session, shared by the SMS and email of one step)."""

    def __init__(self, app: Interlude, now: datetime) -> None:
        self.app = app
        self.now = now
        self._contexts: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._policies: dict[tuple[str, str], str] = {}

    def decide(
        self,
        row: Mapping[Any, Any],
        patient: Mapping[Any, Any] | None,
        session: Mapping[Any, Any] | None,
        consent: Iterable[ConsentEvent],
    ) -> Decision:
        """The outcome for one claimed row: "send" with the rendered message, or why not."""
        if row["audience"] == "staff":
            return self._decide_staff(row, patient or self._nobody(), session)
        if patient is None:  # only a page may lack a patient
            return Decision(row, "failed", "no-patient")
        stop = self._session_stop(row, session)
        if stop is not None:
            return stop
        if row["send_by"] is not None and self.now >= row["send_by"]:
            return Decision(row, "skipped", "past-deadline")
        placement = self._placement(row, patient)
        if placement is not None:
            return placement
        if not allows(consent, row["channel"], purpose_of(row["category"])):
            return Decision(row, "skipped", "opted-out")
        address = patient["phone"] if row["channel"] == "sms" else patient["email"]
        if not address or row["channel"] not in patient["channels"]:
            return Decision(row, "skipped", f"no-{row['channel']}-contact")
        if row["channel"] == "sms" and patient["sms_status"] != "ok":
            return Decision(row, "skipped", "sms-unusable")
        return self._rendered(row, patient, session, address, patient["language"])

    def _session_stop(self, row: Mapping[Any, Any], session: Mapping[Any, Any] | None) -> Decision | None:
        if session is None:
            return None
        kind = MessageKind.of(row["audience"], row["category"], row["origin"])
        started = session["start_at"] <= self.now
        stop = message_stop(session["status"], kind, Look.DECIDE, started=started)
        return None if stop is None else Decision(row, stop.outcome, stop.reason)

    def _nobody(self) -> Mapping[str, Any]:
        """The template variables' patient for a page about a number no patient has."""
        return {
            "id": None,
            "first_name": "",
            "timezone": self.app.config.clinic.timezone,
            "language": self.app.config.messages.default_language,
            "detailed_messages": False,
        }

    def _decide_staff(
        self, row: Mapping[Any, Any], patient: Mapping[Any, Any], session: Mapping[Any, Any] | None
    ) -> Decision:
        """A message to a clinician: no quiet hours, no patient consent, its own address."""
        if not row["recipient"]:
            return Decision(row, "failed", "no-recipient")
        return self._rendered(
            row, patient, session, row["recipient"], self.app.config.messages.default_language
        )

    def _rendered(
        self,
        row: Mapping[Any, Any],
        patient: Mapping[Any, Any],
        session: Mapping[Any, Any] | None,
        address: str,
        language: str,
    ) -> Decision:
        try:
            message = self._render(row, patient, session, address, language)
        except TemplateError as exc:
            log.error(
                "template failed",
                extra={"outbox_id": row["id"], "template": row["template"], "error": str(exc)},
            )
            return Decision(row, "failed", "template-error")
        return Decision(row, "send", message=message)

    def _placement(self, row: Mapping[Any, Any], patient: Mapping[Any, Any]) -> Decision | None:
        """Quiet hours are checked again at send time: a backlog is never sent at night."""
        now = self.now
        spot = place(
            now,
            now=now,
            send_by=row["send_by"],
            policy=self._step_policy(row),
            window=self.app.window.for_category(row["category"]),
            tz=ZoneInfo(patient["timezone"]),
            may_override=row["category"] == "prep",
        )
        if spot.at is None:
            return Decision(row, "skipped", spot.reason)
        if spot.at > now + timedelta(seconds=1):
            return Decision(row, "deferred", spot.reason, retry_at=spot.at)
        return None

    def _step_policy(self, row: Mapping[Any, Any]) -> str:
        key = (row["schedule"], row["step_id"])
        if key not in self._policies:
            self._policies[key] = step_policy(self.app, row["schedule"], row["step_id"])
        return self._policies[key]

    def _context(
        self, patient: Mapping[Any, Any], session: Mapping[Any, Any] | None, language: str
    ) -> dict[str, Any]:
        key = (patient["id"], session["id"] if session is not None else None, language)
        found = self._contexts.get(key)
        if found is None:
            cfg = self.app.config
            found = message_context(cfg.clinic, self.app.clinic_tz, patient, None, language)
            if session is not None:
                fmt = Formatter(ZoneInfo(patient["timezone"]), language, self.app.clinic_tz)
                fmt.locale = _locale(fmt.language)  # babel parses a locale name on every call
                found["session"] = _LazySession(session, self.app, fmt, self.now)
            self._contexts[key] = found
        return dict(found)  # a row's own context must not leak into the next row's

    def _render(
        self,
        row: Mapping[Any, Any],
        patient: Mapping[Any, Any],
        session: Mapping[Any, Any] | None,
        address: str,
        language: str,
    ) -> Outgoing:
        context = self._context(patient, session, language)
        context.update(row["context"] or {})
        if "group" in context:  # one confirmation for sessions booked together
            context.update(self._group(context.pop("group"), patient, session, language))
        if row["channel"] == "email":  # a question asked by email carries its one-tap answers
            context["answer_links"] = links_for(self.app, row, language, self.now)
        measure_link = link_for(self.app, row, self.now)  # a questionnaire step's link
        if measure_link is not None:
            context["measure_link"] = measure_link
        rendered = self.app.templates.render(
            row["template"],
            row["channel"],
            language,
            context,
            detailed=bool(patient["detailed_messages"]) and row["audience"] == "patient",
            category=row["category"],
        )
        return Outgoing(
            attempt_id=0,
            channel=row["channel"],
            to=address,
            body=rendered.body,
            subject=rendered.subject,
            html=rendered.html,
            category=row["category"],
            patient_id=row["patient_id"],
            outbox_id=row["id"],
        )

    def _group(
        self, group: Any, patient: Mapping[Any, Any], session: Mapping[Any, Any] | None, language: str
    ) -> dict[str, Any]:
        """`sessions`, `session` (the next) and `more` for a row whose context names a group of
        session ids: only those still booked and the patient's own, read now, at send time. With
        none left (or no session), the row renders as a confirmation of its own session."""
        ids = [i for i in group if isinstance(i, int)] if isinstance(group, list) else []
        if session is None or not ids:
            return {}
        with reader(self.app.engine).connect() as conn:
            booked = list(
                conn.execute(
                    select(sessions_table).where(
                        sessions_table.c.id.in_(ids),
                        sessions_table.c.patient_id == patient["id"],
                        sessions_table.c.status == SessionState.BOOKED,
                    )
                ).mappings()
            )
        if not booked:
            return {}
        fmt = Formatter(ZoneInfo(patient["timezone"]), language, self.app.clinic_tz)
        fmt.locale = _locale(fmt.language)
        return group_context(booked, self.app.config.clinic, fmt, self.now)


@lru_cache(maxsize=16)
def _locale(language: str) -> Any:
    return Locale.parse(language)


def step_policy(app: Interlude, schedule_name: str, step_id: str) -> str:
    """The quiet-hours policy of a step ("defer" when the step is unknown)."""
    if step_id in SYSTEM_POLICIES:
        return SYSTEM_POLICIES[step_id]
    schedule = app.schedules.get(schedule_name)
    if schedule is not None:
        for step in schedule.steps:
            if step.id == step_id:
                return step.quiet_hours
    return "defer"
