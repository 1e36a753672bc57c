"""An education SMS ends with how to stop the tips ("Reply TIPS OFF to stop tips.") when the text
with that line stays within its language's segment budget, and goes as it is when it would not.
The rule is applied in one place (MessageTemplates.render for category education), so what the
dispatcher sends is what the schedule preview and `interlude check` show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.db.tables import delivery_attempts, sandbox_messages
from service.domain.segments import segment_info, sms_budget
from service.domain.tips_line import TIPS_OFF_LINE, sms_with_line, with_tips_off
from service.services.content import edits as content
from service.services.content.preview import preview
from service.services.outbox.dispatch import Dispatcher
from tests.helpers import T0, book, enrol, rows

START = "2027-03-10T10:00"  # a Wednesday; booked on Tuesday 2027-03-02 (T0)
BEFORE_FIRST = "edu_general_pre1"  # two days before a first visit: short in both languages
AFTER_FIRST = "edu_general_1"  # two days after it: in Spanish, too long for the line


def test_the_line_is_added_only_when_it_fits():
    short = "Interlude: a tip. Questions: (202) 555-0100."
    assert with_tips_off(short, "en") == f"{short} {TIPS_OFF_LINE['en']}"
    assert with_tips_off("Interlude: un consejo. ¿Dudas? (202) 555-0100", "es") == (
        f"Interlude: un consejo. ¿Dudas? (202) 555-0100. {TIPS_OFF_LINE['es']}"
    )
    long_en = "Interlude: " + "a" * 290  # 2 segments of GSM-7; 3 with the line
    assert with_tips_off(long_en, "en") == long_en
    long_es = "Interlude: ánimo " + "a" * 170  # UCS-2, 3 segments; 4 with the line
    assert with_tips_off(long_es, "es") == long_es
    for language, text in (("en", short), ("es", "Interlude: un consejo más")):
        added = with_tips_off(text, language)
        assert segment_info(added).segments <= sms_budget(language)


def test_only_education_and_never_twice():
    text = "Interlude: your visit is tomorrow."
    assert sms_with_line(text, "en", "prep") == text
    assert sms_with_line(text, "en", None) == text
    said = "Interlude: a tip. Reply TIPS OFF to stop tips."
    assert with_tips_off(said, "en") == said
    assert with_tips_off("Interlude: a tip.", "fr") == "Interlude: a tip."


def sent_sms(app: Any, clock: Any, step: str) -> str:
    """Run the dispatcher when `step`'s SMS is due; its body as the sandbox recorded it."""
    (row,) = rows(app, step_id=step, channel="sms")
    clock.set(row["due_at"])
    Dispatcher(app).run_once()
    query = (
        select(sandbox_messages.c.body)
        .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
        .where(delivery_attempts.c.outbox_id == row["id"])
    )
    with app.engine.connect() as conn:
        return str(conn.execute(query).scalar_one())


def previewed_sms(app: Any, step: str, language: str) -> str:
    found = preview(
        app,
        modality="iv",
        start=START,
        tz="America/New_York",
        language=language,
        indications=("depression",),
        booked_at=T0,
    )
    (text,) = [r.text for r in found if r.step == step and r.channel == "sms"]
    return text


def book_first_visit(app: Any, language: str) -> None:
    """A patient reached by SMS only (with an email address, tips go by email) and a first visit."""
    p = enrol(app, language=language, email=None, channels=["sms"])
    book(app, p["id"], START)


def test_english_tip_that_fits_ends_with_the_line_as_previewed(services, clock):
    book_first_visit(services, "en")
    body = sent_sms(services, clock, BEFORE_FIRST)
    assert body.endswith(" Reply TIPS OFF to stop tips.")
    assert segment_info(body).segments <= sms_budget("en")
    assert body == previewed_sms(services, BEFORE_FIRST, "en")


def test_spanish_tip_that_fits_ends_with_the_line_and_one_that_does_not_goes_as_it_is(services, clock):
    book_first_visit(services, "es")
    short = sent_sms(services, clock, BEFORE_FIRST)
    assert short.endswith(" ¿No desea consejos? Responda CONSEJOS NO.")
    assert segment_info(short).segments <= sms_budget("es")
    assert short == previewed_sms(services, BEFORE_FIRST, "es")
    long = sent_sms(services, clock, AFTER_FIRST)
    assert "CONSEJOS NO" not in long
    assert segment_info(f"{long}. {TIPS_OFF_LINE['es']}").segments > sms_budget("es")
    assert long == previewed_sms(services, AFTER_FIRST, "es")


LONG_TIP = (
    "{{ clinic.sms_name }}: before your first visit, plan a quiet day. Eat a light meal the day "
    "before, keep water nearby and bring something warm and comfortable to wear. Many people like "
    "headphones and calm music. If you can, ask a friend or relative to stay with you that evening. "
    "Questions: {{ clinic.phone }}."
)


def test_an_english_tip_too_long_for_the_line_goes_as_it_is(services, clock):
    content.save_template(services, f"{BEFORE_FIRST}/en/sms.txt", LONG_TIP, "test", "a longer tip")
    services.refresh_content(force=True)
    book_first_visit(services, "en")
    body = sent_sms(services, clock, BEFORE_FIRST)
    assert "TIPS OFF" not in body and body.endswith("Questions: (202) 555-0100.")
    assert segment_info(body).segments == sms_budget("en")
    assert body == previewed_sms(services, BEFORE_FIRST, "en")
