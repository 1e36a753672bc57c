"""Reading a patient's answer to a check-in, a clearance question or a confirmation.

Tolerant of how people write: "1", "1.", "#1", "one", "uno", "2 - still dizzy", "7/10",
"about a 6", "yes!", "Sí". Returns None when the text is not an answer (a person reads it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schedule import ReplyExpectation
from .text import fold

_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "cero": 0,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
}
_LEADING_NUMBER = re.compile(
    r"^(?:(?:about|around|maybe|like|a|an|un|una|como|i'd say|id say|its|it's|im|i'm|i am) )*(\d{1,2})\b"
)
_YES = frozenset(
    {"yes", "y", "yeah", "yep", "yup", "si", "ok", "okay", "confirmed", "confirm", "sure", "claro", "listo"}
)
_NO = frozenset({"no", "n", "nope", "not yet", "todavia no", "aun no"})


@dataclass(frozen=True)
class Answer:
    code: str
    concerning: bool


def _number(words: str) -> int | None:
    match = _LEADING_NUMBER.match(words)
    if match:
        return int(match.group(1))
    first = words.split(" ", 1)[0] if words else ""
    return _NUMBER_WORDS.get(first)


def parse_answer(text: str, expects: ReplyExpectation) -> Answer | None:
    """The answer `text` gives to `expects`, or None when it is not one."""
    words = fold(text)
    if not words:
        return None
    if expects.scale is not None:
        low, high = expects.scale
        n = _number(words)
        if n is None or not low <= n <= high:
            return None
        threshold = expects.concerning_at_or_below
        return Answer(str(n), threshold is not None and n <= threshold)
    for option in expects.options:
        if _matches(words, option.code.lower(), option.words):
            return Answer(option.code, option.concerning)
    if expects.kind in ("clearance", "confirmation") and not expects.options:
        if words in _YES or words.split(" ", 1)[0] in _YES:
            return Answer("yes", False)
        if words in _NO:
            return Answer("no", True)
    return None


def _matches(words: str, code: str, synonyms: tuple[str, ...]) -> bool:
    first = words.split(" ", 1)[0]
    if code.isdigit():
        n = _number(words)
        if n is not None:
            return str(n) == code
    elif first == code or words == code:
        return True
    folded = [fold(s) for s in synonyms]
    return words in folded or first in folded or any(words.startswith(s + " ") for s in folded if " " in s)


def answer_codes(expects: ReplyExpectation) -> tuple[str, ...]:
    """Every answer `expects` accepts, as `parse_answer` reads it: each number of a scale, each
    option, or yes and no for a clearance or confirmation without options."""
    if expects.scale is not None:
        low, high = expects.scale
        return tuple(str(n) for n in range(low, high + 1))
    if expects.options:
        return tuple(option.code for option in expects.options)
    if expects.kind in ("clearance", "confirmation"):
        return ("yes", "no")
    return ()
