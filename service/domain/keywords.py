"""STOP / START / HELP keywords and opt-outs written in plain words.

Sources: compliance.md section 1. Twilio acts only on a message that is exactly one keyword; the
FCC counts any reasonable means of revoking consent, so clear plain-word revocations in English
and Spanish are honoured too. A sentence that mentions stopping but is not clearly a revocation
("I want it all to stop") is not one: it goes to a person.
"""

from __future__ import annotations

import re

from .text import fold

OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
OPT_IN_WORDS = frozenset({"start", "yes", "unstop"})
HELP_WORDS = frozenset({"help", "info"})

_POLITE = r"(?: (?:please|pls|plz|thank you|thanks|thx|ty|por favor|gracias))*"
_REVOCATIONS = [
    rf"^(?:please )?(?:stop|end|quit|cancel|unsubscribe|revoke)(?: (?:all|now|it))?{_POLITE}$",
    rf"^(?:please )?opt (?:me )?out(?: of (?:this|these|texts|messages))?{_POLITE}$",
    rf"^(?:please )?(?:stop|quit) (?:texting|messaging|sending|contacting)(?: me)?(?: (?:texts|messages|these))?(?: anymore)?{_POLITE}$",
    rf"^(?:please )?(?:no more|stop(?: the| all| these| your)?) (?:texts|text messages|messages|sms)(?: please)?{_POLITE}$",
    rf"^(?:please )?(?:don't|do not|dont) (?:text|message|contact) me(?: anymore| again| any more)?{_POLITE}$",
    rf"^(?:please )?(?:unsubscribe|remove) me(?: from (?:this|the|your) (?:list|texts|messages))?{_POLITE}$",
    rf"^(?:please )?take me off (?:this|the|your) list{_POLITE}$",
    rf"^(?:por favor )?no (?:mas|quiero mas) (?:mensajes|textos)(?: por favor)?{_POLITE}$",
    rf"^(?:por favor )?(?:ya )?no (?:me )?(?:envien|manden|escriban|mande|envie) mas(?: mensajes| textos)?{_POLITE}$",
    rf"^(?:ya )?no quiero (?:recibir )?(?:mas )?(?:mensajes|textos){_POLITE}$",
    rf"^(?:por favor )?(?:dar(?:me)? de baja|darme de baja|baja|cancelar|parar|alto){_POLITE}$",
]
_REVOCATION = [re.compile(p) for p in _REVOCATIONS]
# Words that suggest a wish to stop messages, in a sentence that is not clearly one: a person reads it.
_UNCLEAR = re.compile(r"\b(?:stop|unsubscribe|opt out|optout|cancel|no more|baja|no mas)\b")


def classify_keyword(text: str) -> str | None:
    """ "opt-out", "opt-in", "help", "unclear-revocation", or None for anything else.

    A single keyword in any case with punctuation or spaces around it ("Stop.", " STOP ") counts;
    "opt-out" and "opt out" mean OPTOUT. "yes" is reported as "opt-in": the caller decides whether
    it answers a question instead (it only opts in a patient who had opted out).
    """
    words = fold(text)
    joined = words.replace(" ", "")
    if joined in ("optout", "stopall") or words in OPT_OUT_WORDS:
        return "opt-out"
    if words in OPT_IN_WORDS:
        return "opt-in"
    if words in HELP_WORDS:
        return "help"
    if any(p.match(words) for p in _REVOCATION):
        return "opt-out"
    if _UNCLEAR.search(words) and len(words.split()) <= 12 and not _is_about_feelings(words):
        return "unclear-revocation"
    return None


def _is_about_feelings(words: str) -> bool:
    # "I want it all to stop", "make it stop": distress, not a request about messages.
    return bool(
        re.search(r"\b(?:it all|everything|it|the pain|this feeling|the thoughts) (?:to )?stop\b", words)
    )
