"""Words a discreet message must not say: a configured word matches the start of a word of the
text, whatever the case and accents ("psiquiatr" finds "Psiquiátrica", "infusion" finds
"INFUSIÓN"), never the middle of one."""

from __future__ import annotations

from collections.abc import Iterable

from .text import fold

# The crisis line's own name, which safety wording gives in full ("call or text 988 (Suicide &
# Crisis Lifeline)"): it is said to every patient and tells nothing of anyone's treatment.
CRISIS_LINE_NAMES = ("Suicide & Crisis Lifeline", "Línea de Prevención del Suicidio y Crisis")
_SAID_TO_ALL = tuple(f" {fold(name)} " for name in CRISIS_LINE_NAMES)


def sensitive_in(text: str, words: Iterable[str]) -> list[str]:
    """The words of `words` that begin a word of `text`, each once, in the order given."""
    folded = f" {fold(text)} "
    for name in _SAID_TO_ALL:
        folded = folded.replace(name, " ")
    found = []
    for word in dict.fromkeys(words):
        needle = fold(word)
        if needle and f" {needle}" in folded:
            found.append(word)
    return found
