"""Normalising what patients type: case, accents, punctuation, spacing, repeated letters."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w']+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")  # letters only: "soooo", never a code like 791666


def fold(text: str) -> str:
    """Lower case, no accents ("más" -> "mas"), words separated by single spaces.

    Punctuation and emoji become spaces; "can't" keeps its apostrophe; "soooo" becomes "soo".
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    text = _REPEATS.sub(r"\1\1", text)
    return " ".join(word.strip("'") for word in text.split() if word.strip("'"))
