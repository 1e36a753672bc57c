"""Normalising what patients type: case, accents, punctuation, spacing, repeated letters.

Every pattern here is a single character class or a single back-reference, matched in time linear in
the text (no nested quantifiers, no ambiguous alternation).
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w']+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")  # letters only: "soooo", never a code like 791666
# Words (letters, digits, apostrophes), clause breaks, and the slash of a reading like 190/110.
_TOKENS = re.compile(r"[\w']+|[.,;:!?\n()\[\]]|/")
CLAUSE_BREAK = "."


def _plain(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe, runs of 3+ same letters cut to 2."""
    if not text.isascii():  # most texts are plain ASCII and need no Unicode work
        text = unicodedata.normalize("NFKC", text).casefold()
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _REPEATS.sub(r"\1\1", text.translate(_APOSTROPHES).lower())


def fold(text: str) -> str:
    """Lower case, no accents ("más" -> "mas"), words separated by single spaces.

    Punctuation and emoji become spaces; "can't" keeps its apostrophe; "soooo" becomes "soo".
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    text = _REPEATS.sub(r"\1\1", text)
    return " ".join(word.strip("'") for word in text.split() if word.strip("'"))


def tokens(text: str) -> list[str]:
    """The words of `text` folded as `fold` does, with clause breaks kept as "." and slashes as "/".

    "No chest pain, but I can't breathe!!" -> ["no", "chest", "pain", ".", "but", "i", "can't",
    "breathe", "."]. Repeated breaks collapse into one.
    """
    out: list[str] = []
    for raw in _TOKENS.findall(_plain(text)):
        if raw == "/":
            out.append(raw)
        elif not (raw[0].isalnum() or raw[0] in "'_"):
            if out and out[-1] != CLAUSE_BREAK:
                out.append(CLAUSE_BREAK)
        else:
            word = raw.replace("_", "").strip("'")
            if word:
                out.append(word)
    return out
