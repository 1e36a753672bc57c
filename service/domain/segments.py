"""SMS encoding and segment arithmetic (GSM 03.38 7-bit vs UCS-2).

GSM-7: 160 septets in one segment, 153 per segment when concatenated (the 6-byte header takes 7).
Extension characters cost two septets and an escape pair is never split across segments.
UCS-2: 70 UTF-16 code units alone, 67 per segment; one non-GSM character makes the whole message
UCS-2. Sources: 3GPP TS 23.038 (the GSM 7-bit default alphabet and its extension table) and Twilio's
public guide to SMS character limits (https://www.twilio.com/docs/glossary/what-sms-character-limit).
"""

from __future__ import annotations

from dataclasses import dataclass

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = "\f^{}\\[~]|€"
GSM_BASIC = frozenset(_GSM_BASIC)
GSM_EXTENSION = frozenset(_GSM_EXTENSION)

# Characters that editors slip in and that force the whole SMS to UCS-2 although a plain
# equivalent exists; `interlude check` flags them. Non-breaking space doubles the cost of an SMS.
AVOIDABLE = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u200b": "",
}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of `text` is in the GSM-7 basic or extension table."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def _gsm_segments(text: str) -> tuple[int, int]:
    septets = sum(2 if c in GSM_EXTENSION else 1 for c in text)
    if septets <= 160:
        return septets, 1 if text else 0
    segments, used = 1, 0
    for c in text:
        cost = 2 if c in GSM_EXTENSION else 1
        if used + cost > 153:
            segments, used = segments + 1, 0
        used += cost
    return septets, segments


def _ucs2_segments(text: str) -> tuple[int, int]:
    units = len(text.encode("utf-16-le")) // 2
    if units <= 70:
        return units, 1
    # A surrogate pair is not split either: count per character like the GSM escape pairs.
    segments, used = 1, 0
    for c in text:
        cost = len(c.encode("utf-16-le")) // 2
        if used + cost > 67:
            segments, used = segments + 1, 0
        used += cost
    return units, segments


def segment_info(text: str) -> SegmentInfo:
    """The encoding an SMS of `text` needs and how many segments it is billed as."""
    if is_gsm7(text):
        units, segments = _gsm_segments(text)
        return SegmentInfo("GSM-7", units, segments)
    units, segments = _ucs2_segments(text)
    return SegmentInfo("UCS-2", units, segments)


# English SMS must stay GSM-7 and within 2 segments; other languages (accents force UCS-2 in
# Spanish: á í ó ú are not in GSM-7) within 3. A preparation text may take 3 in every language:
# it carries the fasting times, medicines, blood pressure, the ride home, the stay and how to
# change the appointment, and one line missing can cancel a session, which costs far more than
# a third segment. Sources: 3GPP TS 23.038 (the GSM-7 alphabet) and Twilio's guide to SMS
# character limits. `interlude check` holds every template to it.
SMS_BUDGET = {"en": 2}
SMS_BUDGET_OTHER = 3
SMS_BUDGET_BY_CATEGORY = {"prep": 3}


def sms_budget(language: str, category: str | None = None) -> int:
    """The most segments an SMS in `language` (of a step of `category`, if known) may cost."""
    return max(SMS_BUDGET.get(language, SMS_BUDGET_OTHER), SMS_BUDGET_BY_CATEGORY.get(category or "", 0))


def within_budget(text: str, language: str, category: str | None = None) -> bool:
    """True when an SMS of `text` in `language` costs no more segments than its budget."""
    return segment_info(text).segments <= sms_budget(language, category)


def avoidable_characters(text: str) -> list[tuple[int, str]]:
    """(index, character) of each character that forces UCS-2 but has a plain equivalent."""
    return [(i, c) for i, c in enumerate(text) if c in AVOIDABLE or _is_emoji(c)]


def _is_emoji(c: str) -> bool:
    code = ord(c)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF
