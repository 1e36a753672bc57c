"""The crisis screen: language about suicide, self-harm, overdose or a medical emergency.

It runs first on every message, whatever else the text says (design decision 7). It is tolerant
of case, accents, punctuation and common misspellings, and it leans towards firing: a false alarm
costs a clinician a look, a miss can cost a life. A phrase directly negated ("not suicidal",
"no chest pain") does not fire on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import fold

# (category, pattern) over folded text: lower case, no accents, single spaces, apostrophes kept.
_PATTERNS: list[tuple[str, str]] = [
    # Suicide, English, with common misspellings (suicide, sucide, suiside, suicde, suicidal...).
    ("suicide", r"\bsu[ia]?[cs]{1,2}i?d(?:e|es|al|ally|ality)?\b|\bsuicid\w*"),
    ("suicide", r"\bkill(?:ing)? (?:my ?self|myself)\b|\bkms\b"),
    ("suicide", r"\b(?:end|ending|take|taking) (?:my|my own) life\b|\bend it all\b|\bending it all\b"),
    ("suicide", r"\b(?:want|wanna|wish|going|ready) (?:to )?(?:die|be dead)\b|\bwanna die\b"),
    ("suicide", r"\bbetter off dead\b|\bno (?:reason|point) (?:to|in) (?:live|living|going on)\b"),
    ("suicide", r"\b(?:don't|dont|do not) want to (?:live|be alive|be here|wake up|exist)(?: anymore)?\b"),
    ("suicide", r"\b(?:can't|cant|cannot) (?:go on|do this anymore|keep going)\b"),
    # Self-harm.
    (
        "self-harm",
        r"\b(?:hurt|harm|cut|cutting|hurting|harming|burn|burning) (?:my ?self|myself)\b|\bself ?harm\w*",
    ),
    # Overdose.
    (
        "overdose",
        r"\boverdos\w*|\bover dos\w*|\bod'?d\b|\btook (?:too many|all (?:my|the)|a bunch of) (?:pills|tablets|meds)\b",
    ),
    # Medical emergencies.
    ("medical", r"\bchest (?:pain|pains|hurts|is hurting|tightness|feels tight|pressure)\b|\bheart attack\b"),
    (
        "medical",
        r"\b(?:can't|cant|cannot|can not|hard to|trouble|struggling to|difficulty) ?(?:breathe|breathing|breath)\b",
    ),
    ("medical", r"\bshort(?:ness)? of breath\b|\bnot breathing\b"),
    (
        "medical",
        r"\b(?:fainted|fainting|passed out|passing out|pass out|blacked out|unconscious|seizure|seizing)\b",
    ),
    ("medical", r"\b(?:can't|cant|cannot) (?:stay awake|wake (?:him|her|them) up)\b"),
    # Spanish (folded: no accents).
    ("suicide", r"\bsuicid\w*|\bmatarme\b|\bquitarme la vida\b|\bacabar con (?:mi vida|todo)\b"),
    (
        "suicide",
        r"\bno quiero (?:vivir|seguir viviendo|estar aqui|despertar)\b|\bquiero morir\w*\b|\bme quiero morir\b",
    ),
    ("self-harm", r"\b(?:hacerme dano|lastimarme|cortarme|herirme|autolesion\w*)\b"),
    ("overdose", r"\bsobredosis\b|\bme tome (?:todas|muchas) (?:las )?(?:pastillas|pildoras)\b"),
    ("medical", r"\bdolor (?:en el|de|del) pecho\b|\bme duele el pecho\b|\bataque (?:al|de) corazon\b"),
    ("medical", r"\bno puedo respirar\b|\bme cuesta respirar\b|\bfalta de aire\b|\bme ahogo\b"),
    ("medical", r"\bme desmaye\b|\bdesmay\w*|\bperdi el conocimiento\b|\bconvulsion\w*"),
]
_COMPILED = [(category, re.compile(pattern)) for category, pattern in _PATTERNS]
# All the patterns in one: most messages match none, and one search says so (instead of one per
# pattern). A text with any match is then screened pattern by pattern, in order, as before.
_ANY = re.compile("|".join(f"(?:{pattern})" for _, pattern in _PATTERNS))
# A negation right before the phrase, with at most a few filler words between ("no thoughts of").
_NEGATED = re.compile(
    r"\b(?:not|no|never|nor|without|sin|nunca|ningun|ninguna|zero|denies|deny)"
    r"(?: (?:feeling|feel|felt|having|have|had|any|been|being|really|at all|thoughts?|ideas?|of|about|"
    r"signs?|sign|more|pensamientos?|de|ideas|nada))*\s*$"
)


@dataclass(frozen=True)
class CrisisHit:
    category: str  # suicide | self-harm | overdose | medical
    phrase: str


def screen(text: str) -> CrisisHit | None:
    """The first crisis phrase in `text` that is not directly negated, or None."""
    words = fold(text)
    if _ANY.search(words) is None:
        return None
    for category, pattern in _COMPILED:
        for match in pattern.finditer(words):
            before = words[: match.start()]
            if _NEGATED.search(before) and not match.group(0).startswith(("don't", "dont", "do not", "no ")):
                continue
            return CrisisHit(category, match.group(0))
    return None
