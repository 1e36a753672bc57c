"""The crisis screen: suicide or self-harm, overdose or poisoning, harm to others, medical emergencies
and urgent symptoms after a session, in English and Spanish.

It runs first on every message, whatever else the text says. It leans towards firing: a false alarm
costs a clinician a look, a miss can cost a life.

How it works (built to generalise, not to enumerate):

1. Tokens (`text.tokens`): lower case, no accents, runs of a letter cut ("sooo"), clause breaks kept.
2. Each token is put in canonical form: text-speak and contractions expanded ("cant" -> "can not",
   "kms" -> "kill myself", "im" -> "i am"), Spanish pronouns split off their verb ("matarme" ->
   "matar me"), doubled letters forgiven ("pils"), and misspellings corrected against a short list of
   long, distinctive words at edit distance 1 ("sucidal", "vomitting", "cheast").
   Unknown words are also tried without a plural "s" and under common phonetic spellings ("oxys",
   "kiero", "pesho").
3. Known phrases become one token, longest first ("passed out", "short of breath", "no puedo"); a
   phrase keeps the meaning of its last word too ("en la cabeza" is still the head). Filler words
   (adverbs, intensifiers, hedges: "really", "honestly", "literally", "pues", "neta", "la verdad") are
   then dropped, and a phrase may be read across them, so they neither break a rule's window nor fill
   it: "not really sure i can keep going honestly" is "not sure i can keep going". A filler that starts
   a known phrase ("so bad", "really high", "ya no estoy") stays part of it.
4. Every token gets its concepts from the lexicon (`screen_lexicon.py`): "took" is TAKE_PAST,
   "all" is Q (a large quantity), "klonopin" is PILLS.
5. Rules are concepts close together, in order or in any order within a window of a few tokens
   ("TAKE_PAST Q PILLS" fires on "took a handful of my klonopin"). A rule does not fire when one of its
   words is negated NegEx-style: a negation ("no", "denies", "sin") covers the next five tokens and stops
   at a clause break or a word such as "but", "pero" or a new "i". Negations that are the point of a
   phrase ("I don't want to live", "no puedo respirar") are parts of their rules and so do not cancel them.
   Idioms are cancelled by the word that follows ("dying to see you", "me muero de risa",
   "stroke of luck"), laughter silences only the weak rules ("overdosed on netflix lol"), and a medical
   event placed years ago ("had a stroke last year", "an overdose in 2015") is history, not an emergency.
   A rule may name words that break it when they come just before or inside it ("I want *him* dead" is
   harm to others, not suicide) and words that silence it in the same clause ("*almost* had a heart
   attack", "*what if* my bp goes up").
   A negated word that is itself a symptom ("sin *falta de aire*") is denied, not described, so
   "NEG + breathing" ("no respira") does not read it as a crisis (a rule's `exclude`). Harm to others
   is read generically as an intent, a violent act and an object that is not the writer ("voy a matar
   *a ese* desgraciado"), unless the object makes it an idiom ("kill the lights") or a joke marker
   ("jk", "jaja es broma", a laughing emoji) is near and no "no joke" says otherwise. A match framed
   earlier in its clause as heard, read, dreamt or watched, or as a risk asked about ("the pharmacist
   said the pills can cause seizures", "had a dream i was dying"), or someone else's warning with a
   condition ("my mom says ill die if i keep doing it"), does not fire.
   Laughing emoji count as laughter; a medical or urgent symptom that something said just after it
   settles ("gone now", "the nurse checked me and I was fine") does not fire; and a phrase marked
   OPAQUE ("my uncle died by suicide") no longer means its last word, so someone else's past suicide
   is not read as the patient's.
6. The safety net (`lex.NET_RULES`), read only when no rule fired, leans to fire: a means of death or
   injury named in other words ("a rope in my trunk", "the car running in the garage", "how many of my
   pills it would take") fires in a clause about the writer (a first-person word, or no one else named)
   unless laughter, hyperbole ("makes me want to die" + a hot-face emoji), someone else as the subject,
   or a reported framing (a form, a family history, a movie, "progress!") explains it. The same framing
   silences a suicide rule when someone else is the subject of a past or form-bound event.

Linear time: the only regular expressions are single character classes (in `text.py`), which cannot
backtrack; everything else is one pass over the tokens with dictionary look-ups and fixed windows. The
rule state keeps, for each rule and each of its parts, only the latest position where the parts so far
matched in order, which is all a later token needs (a later match dominates an earlier one), so the work
per token is bounded by the number of rules that mention its concepts. Misspellings are found by the
"symmetric delete" method over a precomputed table (the token with one letter deleted, at most ~25
dictionary look-ups, results cached), checked by a bounded edit distance; a general fuzzy-matching
library (rapidfuzz) was not needed for one edit against a fixed list, and leaving it out keeps the
screen free of a compiled dependency and its per-call cost predictable. No text is truncated.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from . import screen_lexicon as lex
from .text import CLAUSE_BREAK, tokens

CATEGORIES = ("suicide", "overdose", "harm-others", "medical-emergency", "urgent-symptom")
# When a text hits several categories, the most urgent is answered first.
PRIORITY = ("overdose", "medical-emergency", "suicide", "harm-others", "urgent-symptom")

NEGATION_SCOPE = 5  # tokens a negation covers ("no ... thoughts of self harm")
_MAX_PHRASE = 6
_FUZZY_MIN, _FUZZY_MAX = 6, 24
_EOC = frozenset({"EOC", "TERM", "FALL_SUBJ"})
_PAST_CATEGORIES = frozenset({"overdose", "medical-emergency", "urgent-symptom"})
_MARKS = frozenset(
    {"EOC", "LAUGH", "PAST", "ROUTINE", "RESOLVED", "PETTY", "HYPER", "FRAME", "REPORT", "COND", "SERIOUS"}
    | {"ASKS", "ONCE"}
)
_RESOLVABLE = frozenset({"medical-emergency", "urgent-symptom"})
_RESOLVED_SPAN = 16  # tokens after a symptom in which "gone now", "I was fine" can settle it
# Laughter written as emoji: `fold` would drop them, so they become a word the lexicon knows first.
_LAUGH_EMOJI = str.maketrans(
    dict.fromkeys("\U0001f602\U0001f923\U0001f606\U0001f639\U0001f480\U0001f605", " lol ")
    # Exasperation (hot face, weary, eye roll, tired, huffing, facepalm, see-no-evil): hyperbole.
    | dict.fromkeys("\U0001f975\U0001f629\U0001f644\U0001f62b\U0001f624\U0001f926\U0001f648", " ugh ")
)
_NET_SPAN = 12  # tokens around a safety-net match in which laughter or reported framing explains it
_SUBJECT_LOOKBACK = 12  # tokens before a match searched for its subject
_GRAMMAR = frozenset({"NEG", "TERM"})
_FRAME_SPAN = 12  # tokens before a match in which "can cause", "read that", "a dream" frame it
_FILLER_ONLY = frozenset({"FILLER"})
_SLASH_WORDS = {"w/o": "without", "w/out": "without", "w/": "with", "b/c": "because", "b/c,": "because,"}
_OD_CAPS = {
    "ODd": "overdosed",
    "OD'd": "overdosed",
    "ODed": "overdosed",
    "ODing": "overdosing",
    "ODs": "overdoses",
}
_FILLER_LOOKAHEAD = 18  # raw tokens a phrase may span when filler words sit between its words


@functools.cache
def _marks() -> frozenset[str]:
    """Concepts whose positions are kept: clause breaks, laughter, history, and every rule's `unless`."""
    return _MARKS | {concept for rule in lex.RULES for concept in rule.unless}


@dataclass(frozen=True)
class CrisisHit:
    category: str  # one of CATEGORIES
    phrase: str  # the words that fired, in canonical form


def screen(text: str) -> CrisisHit | None:
    """The most urgent crisis in `text` (by PRIORITY), or None."""
    hits = screen_all(text)
    return hits[0] if hits else None


def screen_all(text: str) -> list[CrisisHit]:
    """One hit per category found in `text`, most urgent first (PRIORITY order)."""
    words = _canonical_tokens(text)
    found = _match(words, [_concepts_at(words, i) for i in range(len(words))])
    return [found[category] for category in PRIORITY if category in found]


# --- Tables (built on first use, never at import) -------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    words: dict[str, frozenset[str]]
    phrases: dict[tuple[str, ...], frozenset[str]]
    phrase_lengths: dict[str, tuple[int, ...]]  # first word -> lengths of phrases it starts, longest first
    fillers: frozenset[str]  # words that are only FILLER: transparent to phrases and rules
    prefixes: frozenset[tuple[str, ...]]  # every proper beginning (2 words or more) of a phrase
    vocabulary: frozenset[str]
    collapsed: dict[str, str]
    deletions: dict[str, tuple[str, ...]]
    index: dict[str, tuple[tuple[int, int], ...]]
    net_index: dict[str, tuple[tuple[int, int], ...]]


def _entries(spec: str) -> Iterable[str]:
    return (entry.strip() for entry in spec.split(",") if entry.strip())


def _collapse(word: str) -> str:
    return "".join(c for i, c in enumerate(word) if i == 0 or c != word[i - 1])


def _one_deleted(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@functools.cache
def _tables() -> _Tables:
    words: dict[str, set[str]] = {}
    phrases: dict[tuple[str, ...], set[str]] = {}
    for concept, spec in (*lex.CONCEPTS.items(), *lex.RISK_CONCEPTS.items()):
        for entry in _entries(spec):
            parts = tuple(_expand(entry.split()))
            if len(parts) == 1:
                words.setdefault(parts[0], set()).add(concept)
            else:
                phrases.setdefault(parts[:_MAX_PHRASE], set()).add(concept)
    vocabulary = set(words) | {w for phrase in phrases for w in phrase}
    collapsed: dict[str, str] = {}
    for word in sorted(vocabulary):
        collapsed.setdefault(_collapse(word), word)
    deletions: dict[str, list[str]] = {}
    for target in sorted(set(_entries(lex.FUZZY_TARGETS)) & vocabulary):
        for key in _one_deleted(target) | {target}:
            deletions.setdefault(key, []).append(target)
    index = _rule_index(lex.RULES)
    net_index = _rule_index(lex.NET_RULES)
    return _Tables(
        words={w: frozenset(c) for w, c in words.items()},
        phrases={p: frozenset(c) for p, c in phrases.items()},
        phrase_lengths={
            first: tuple(sorted({len(p) for p in phrases if p[0] == first}, reverse=True))
            for first in {p[0] for p in phrases}
        },
        fillers=frozenset(w for w, c in words.items() if "FILLER" in c),
        prefixes=frozenset(p[:k] for p in phrases for k in range(2, len(p))),
        vocabulary=frozenset(vocabulary),
        collapsed=collapsed,
        deletions={k: tuple(v) for k, v in deletions.items()},
        index=index,
        net_index=net_index,
    )


def _rule_index(rules: tuple[lex.Rule, ...]) -> dict[str, tuple[tuple[int, int], ...]]:
    """Concept -> the (rule, part) pairs it can fill."""
    index: dict[str, list[tuple[int, int]]] = {}
    for r, rule in enumerate(rules):
        for k, concept in enumerate(rule.parts):
            index.setdefault(concept, []).append((r, k))
    return {c: tuple(v) for c, v in index.items()}


# --- Tokens in canonical form -----------------------------------------------------------------------


def _expand(words: Iterable[str]) -> list[str]:
    """Text-speak and contractions spelled out: ["i", "cant"] -> ["i", "can", "not"]."""
    out: list[str] = []
    for word in words:
        expansion = lex.EXPANSIONS.get(word) or lex.EXPANSIONS.get(word.replace("'", ""))
        if expansion:
            out += expansion.split()
        else:
            out.append(word.replace("'", "") or word)
    return out


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        rest_a, rest_b = a[i + 1 :], b[i + 1 :]
        swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
        return rest_a == rest_b or swapped
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1 :] == shorter[i:]


@functools.lru_cache(maxsize=8192)
def _canonical(word: str) -> tuple[str, ...]:
    """A token as the lexicon spells it: expanded, clitic split, doubled letters and typos forgiven."""
    tables = _tables()
    if word in tables.vocabulary or not word.isalpha():
        return tuple(_expand([word]))
    expanded = _expand([word])
    if len(expanded) > 1 or expanded[0] != word:
        return tuple(expanded)
    for clitic in lex.CLITICS:
        stem = word[: -len(clitic)]
        if word.endswith(clitic) and stem in tables.vocabulary and stem.endswith(lex.CLITIC_HOST_ENDINGS):
            return (stem, clitic)
    collapsed = tables.collapsed.get(_collapse(word)) if len(word) >= 4 else None
    if collapsed:
        return (collapsed,)
    respelled = _respelled(word, tables.vocabulary)
    if respelled:
        return (respelled,)
    if _FUZZY_MIN <= len(word) <= _FUZZY_MAX and word not in lex.NOT_MISSPELLINGS:
        for key in sorted(_one_deleted(word) | {word}):
            for target in tables.deletions.get(key, ()):
                if _within_one_edit(word, target):
                    return (target,)
    return (word,)


def _respelled(word: str, vocabulary: frozenset[str]) -> str | None:
    """A known word under a plural or a phonetic spelling: "oxys" -> "oxy", "kiero" -> "quiero",
    "pesho" -> "pecho". A fixed handful of candidates, each one dictionary look-up."""
    candidates = [word[:-1]] if word.endswith("s") and len(word) >= 4 else []
    candidates += [
        variant for old, new in lex.RESPELLINGS if old in word for variant in (word.replace(old, new),)
    ]
    return next((c for c in candidates if c in vocabulary), None)


def _overdose_caps(text: str) -> str:
    """ "ODd", "OD'd", "ODed", "ODing" in capitals are overdoses; folded to lower case, "odd" would
    read as "strange". Checked on the raw words, before case is lost; one pass over the text."""
    if "OD" not in text:
        return text
    return " ".join(_OD_CAPS.get(word.strip(".,!?;:"), word) for word in text.split())


def _slash_words(text: str) -> str:
    """ "w/o", "w/" and "b/c" spelled out: the tokeniser keeps "/" for readings like 190/110, which
    would cut "better off w/o me" into pieces. One pass over the words, only when a slash is there."""
    if "/" not in text:
        return text
    return " ".join(_SLASH_WORDS.get(word.lower(), word) for word in text.split())


def _canonical_tokens(text: str) -> list[str]:
    """Canonical tokens with known phrases merged, framed by clause breaks."""
    flat: list[str] = [CLAUSE_BREAK]
    for token in tokens(_slash_words(_overdose_caps(text)).translate(_LAUGH_EMOJI)):
        flat += _canonical(token) if token not in (CLAUSE_BREAK, "/") else (token,)
    flat.append(CLAUSE_BREAK)
    tables = _tables()
    merged: list[str] = []
    i = 0
    while i < len(flat):
        picks = _phrase_at(flat, i, tables)
        if len(picks) > 1:
            phrase = " ".join(flat[p] for p in picks)
            if tables.phrases.get(tuple(phrase.split())) != _FILLER_ONLY:
                merged.append(phrase)
            i = picks[-1] + 1
        elif _is_filler(flat[i], tables):
            i += 1  # "really", "honestly", "pues": neither part of a match nor a gap in it
        else:
            merged.append(flat[i])
            i += 1
    return merged


def _is_filler(word: str, tables: _Tables) -> bool:
    return word in tables.fillers


def _phrase_at(flat: list[str], i: int, tables: _Tables) -> list[int]:
    """Positions of the longest known phrase starting at `i`, read as written or with filler words
    skipped ("not really sure" is "not sure"); [i] when none starts there. A bounded look-ahead."""
    lengths = tables.phrase_lengths.get(flat[i], ())
    if not lengths:
        return [i]
    if tables.fillers.isdisjoint(flat[i + 1 : i + lengths[0]]):
        # No filler where the longest phrase would stand: only the phrase as written can match.
        # Walk it word by word while it is still the beginning of some phrase (most stop at two).
        best, n, limit = 0, 2, min(lengths[0], len(flat) - i)
        while n <= limit:
            key = tuple(flat[i : i + n])
            if key in tables.phrases:
                best = n
            if key not in tables.prefixes:
                break
            n += 1
        return list(range(i, i + best)) if best else [i]
    skipping = [i]
    j = i + 1
    while len(skipping) < lengths[0] and j < len(flat) and j - i <= _FILLER_LOOKAHEAD:
        if flat[j] == CLAUSE_BREAK:
            break
        if not _is_filler(flat[j], tables):
            skipping.append(j)
        j += 1
    for n in lengths:
        if tuple(flat[i : i + n]) in tables.phrases:
            return list(range(i, i + n))
        if len(skipping) >= n and tuple(flat[p] for p in skipping[:n]) in tables.phrases:
            return skipping[:n]
    return [i]


# --- Concepts of each token ---------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _concepts(token: str) -> frozenset[str]:
    tables = _tables()
    if token == CLAUSE_BREAK:
        return _EOC
    if " " in token:
        # A phrase keeps the meaning of its last word too: "a building" is still a building, "en la
        # cabeza" still the head, so merging a phrase never hides the word a rule is looking for.
        last = token.rsplit(" ", 1)[1]
        own = tables.phrases.get(tuple(token.split()), frozenset())
        if "OPAQUE" in own:  # "died by suicide" is about someone else: not "suicide" any more
            return own
        # Grammar is the phrase's own: "could not" is not a negation of what follows.
        return own | (tables.words.get(last, frozenset()) - _GRAMMAR)
    found = set(tables.words.get(token, ()))
    if _is_age(token):
        found.add("KID")  # "my 3yo", "her 18mo"
    number = _number(token)
    if number is not None:
        found.add("NUM")
        if 5 <= number <= 1000:
            found.add("BIGNUM")
        if 3 <= number <= 4:
            found.add("FEWNUM")
        if 180 <= number <= 300:
            found.add("SYS_HIGH")
        if 110 <= number <= 200:
            found.add("DIA_HIGH")
        if 1940 <= number <= 2024:
            found.add("PAST")  # a year gone by: "an overdose in 2015"
    return frozenset(found)


def _is_age(token: str) -> bool:
    """A young child's age written as one word: "3yo", "2yr", "18mo", "4yrs"."""
    digits = len(token) - len(token.lstrip("0123456789"))
    return 0 < digits <= 2 and token[digits:] in ("yo", "yr", "yrs", "mo", "mos", "m")


def _number(token: str) -> int | None:
    return int(token) if token.isascii() and token.isdigit() and len(token) <= 5 else None


def _concepts_at(words: list[str], i: int) -> frozenset[str]:
    """The token's concepts in context: idioms cancelled by the next word, readings recognised."""
    following = words[i + 1] if i + 1 < len(words) else ""
    return _concepts_in(words[i], following, words[i + 2] if i + 2 < len(words) else "")


@functools.lru_cache(maxsize=8192)
def _concepts_in(word: str, following: str, after: str) -> frozenset[str]:
    concepts = _concepts(word)
    head = following.split(" ", 1)[0]  # "drowning the baby": "the baby" is one merged token
    for concept, cancelled_by in lex.IDIOM_NEXT.items():
        by_first = concept in lex.IDIOM_NEXT_FIRST_WORD and head in cancelled_by
        if concept in concepts and (following in cancelled_by or by_first):
            concepts = concepts - {concept}
    for concept, objects in lex.IDIOM_OBJECT.items():
        # The object may be the next word, the end of a merged phrase ("the name"), or after an article.
        target = after.split(" ", 1)[0] if following in lex.ARTICLES else following.rsplit(" ", 1)[-1]
        if concept in concepts and target in objects:
            concepts = concepts - {concept}  # "blacked out the dates": an object, not a faint
    if following in lex.IDIOM_NEXT_WORD.get(word, ()):
        concepts = frozenset()
    if (following in lex.PAST_UNITS and after in lex.AGO) or (
        word in lex.AGO and (following in lex.PAST_UNITS or after in lex.PAST_UNITS)
    ):
        concepts = concepts | {"PAST"}  # "10 years ago", "hace muchos anos": history, not an emergency
    first = _number(word)
    if first is not None and following in ("/", "over", "sobre", "out of", "de"):
        second = _number(after)
        if second is not None:
            concepts = concepts | _reading(first, second, following)
    return concepts


def _reading(first: int, second: int, separator: str) -> frozenset[str]:
    """A blood pressure reading that is very high (>= 180 or >= 110), or a pain score of 8/10 or more."""
    if second == 10 and 8 <= first <= 10:
        return frozenset({"SEVERE"})
    plausible = 70 <= first <= 300 and 40 <= second <= 200 and first > second
    if separator != "out of" and plausible and (first >= 180 or second >= 110):
        return frozenset({"BP_READING"})
    return frozenset()


# --- Matching -------------------------------------------------------------------------------------


@dataclass
class _Context:
    """Per-message look-ups, computed in one pass."""

    words: list[str]
    concepts: list[frozenset[str]]
    governing: list[int]  # the negation covering each token, or -1
    marks: dict[str, list[int]]  # positions of clause breaks, laughter, history, routine

    @classmethod
    def build(cls, words: list[str], concepts: list[frozenset[str]]) -> _Context:
        governing: list[int] = []
        kept = _marks()
        marks: dict[str, list[int]] = {mark: [] for mark in kept}
        marks.update({"_FIRST": [], "_OTHER": [], "_REPORTED": []})
        current = -1
        for i, cs in enumerate(concepts):
            for mark in kept & cs:
                marks[mark].append(i)
            for mark in _who(words[i]):
                marks[mark].append(i)
            if "TERM" in cs or "EOC" in cs:
                current = -1
                governing.append(-1)
            elif "NEG" in cs:
                current = i
                governing.append(-1)
            else:
                governing.append(current if current >= 0 and i - current <= NEGATION_SCOPE else -1)
        return cls(words, concepts, governing, marks)

    def _around(self, mark: str, start: int, end: int) -> tuple[int, int]:
        """The nearest `mark` before `start` (or -1) and after `end` (or len)."""
        positions = self.marks[mark]
        before = bisect.bisect_left(positions, start)
        after = bisect.bisect_right(positions, end)
        return (
            positions[before - 1] if before else -1,
            positions[after] if after < len(positions) else len(self.concepts),
        )

    def near(self, mark: str, start: int, end: int, *, same_clause: bool, span: int = 12) -> bool:
        before, after = self._around(mark, start, end)
        if same_clause:
            clause_start, clause_end = self._around("EOC", start, end)
            inside = bisect.bisect_left(self.marks[mark], start) < bisect.bisect_right(self.marks[mark], end)
            return inside or before > clause_start or after < clause_end
        return (before >= 0 and start - before <= span) or (
            after < len(self.concepts) and after - end <= span
        )

    def valid(self, rule: lex.Rule, positions: tuple[int, ...]) -> bool:
        """False when a word of the match is negated, or an idiom, laughter or history explains it."""
        for p in positions:
            g = self.governing[p]
            if g >= 0 and g not in positions:
                return False
        start, end = positions[0], positions[-1]
        if rule.exclude and any(x in self.concepts[p] for p in positions for x in rule.exclude):
            return False
        if self.framed(start, end):
            return False
        if self.blocked(rule, end):
            return False
        if rule.breakers and self._broken(rule.breakers, positions):
            return False
        if any(self.near(mark, start, end, same_clause=True) for mark in rule.unless):
            return False
        if rule.weak and self.near("LAUGH", start, end, same_clause=False):
            return False
        if rule.category in _PAST_CATEGORIES and self.near("PAST", start, end, same_clause=True):
            return False
        if rule.category in _RESOLVABLE and self.settled_after(end):
            return False
        if rule.category in _RESOLVABLE and self.someone_elses(start, end):
            return False
        if self.reported(rule, positions):
            return False
        # "took all my morning pills, as usual": the routine may sit in the next clause.
        return not (
            rule.category == "overdose" and self.near("ROUTINE", start, end, same_clause=False, span=8)
        )

    def blocked(self, rule: lex.Rule, end: int) -> bool:
        """True when a blocker follows the match within `rule.object_span` tokens of its clause
        ("stroke *of* luck", "kill the *lights*")."""
        for p in range(end + 1, min(end + 1 + rule.object_span, len(self.concepts))):
            if any(b in self.concepts[p] for b in rule.blockers):
                return True
            if "EOC" in self.concepts[p]:
                return False
        return False

    def framed(self, start: int, end: int) -> bool:
        """True when the match is something heard, read, dreamt or watched, or a risk asked about, named
        earlier in its clause ("the pharmacist said the pills can cause seizures", "had a dream i was
        dying"), or someone else's warning with a condition ("my mom says ill die if i keep doing it")."""
        clause_start, clause_end = self._around("EOC", start, end)
        frame, _ = self._around("FRAME", start, start)
        if frame > clause_start and start - frame <= _FRAME_SPAN:
            return True
        report, _ = self._around("REPORT", start, start)
        _, condition = self._around("COND", end, end)
        return report > clause_start and condition < clause_end and self.subject(report, report) == "_OTHER"

    def net_valid(self, rule: lex.Rule, positions: tuple[int, ...]) -> bool:
        """The safety net's exceptions: a negated word, someone else as the subject, laughter,
        hyperbole, or a reported framing (a form, a history, a movie, progress) near the match."""
        if any(self.governing[p] >= 0 and self.governing[p] not in positions for p in positions):
            return False
        start, end = positions[0], positions[-1]
        if self.framed(start, end):
            return False
        if self.near("LAUGH", start, end, same_clause=False) or self.near(
            "HYPER", start, end, same_clause=True
        ):
            return False
        if self.near("_REPORTED", start, end, same_clause=False, span=_NET_SPAN):
            return False
        if rule.category == "overdose":
            return True
        if self.subject(start, end) == "_OTHER":
            return False
        # A clause with someone else in it and no word for the writer is about them.
        return self.near("_FIRST", start, end, same_clause=True) or not self.near(
            "_OTHER", start, end, same_clause=True
        )

    def risk_cue(self, i: int) -> bool:
        """False when a risk cue is negated ("i do not have a gun"), framed (a dream, a movie), near
        laughter or hyperbole, or near a reported framing (a form, a history, progress)."""
        if self.governing[i] >= 0 or self.framed(i, i):
            return False
        if self.near("LAUGH", i, i, same_clause=False) or self.near("HYPER", i, i, same_clause=True):
            return False
        return not self.near("_REPORTED", i, i, same_clause=False, span=_NET_SPAN)

    def pet_subject(self, start: int) -> bool:
        """True when the nearest person or animal word before `start` in its clause is an animal
        ("my cat keeps throwing up", "mi perro vomito")."""
        for p in range(start - 1, max(start - _SUBJECT_LOOKBACK, 0) - 1, -1):
            if "EOC" in self.concepts[p]:
                return False
            words = self.words[p].split()
            if not lex.PETS.isdisjoint(words):
                return True
            if _who(self.words[p], last=True):
                return False
        return False

    def subject(self, start: int, end: int) -> str | None:
        """ "_FIRST" when the match names the writer or the nearest person word before it in its clause
        is the writer's, "_OTHER" when it is someone else's, None when there is none."""
        if any("_FIRST" in _who(self.words[p]) for p in range(start, end + 1)):
            return "_FIRST"
        for p in range(start - 1, max(start - _SUBJECT_LOOKBACK, 0) - 1, -1):
            if "EOC" in self.concepts[p]:
                return None
            who = _who(self.words[p], last=True)
            if who:
                return next(iter(who))
        return None

    def reported(self, rule: lex.Rule, positions: tuple[int, ...]) -> bool:
        """Someone else's crisis in the past or on a form ("my mom attempted suicide when i was a teen"),
        a form question answered no, a joke about a petty grievance ("gonna kill my sister she ate my
        leftovers lol")."""
        start, end = positions[0], positions[-1]
        if rule.category == "harm-others":
            # A joke marker ("jk", "jaja es broma", a laughing emoji) near a threat makes it a joke,
            # unless the writer says it is not one ("no joke", "no es broma").
            return self.near("LAUGH", start, end, same_clause=False) and not self.near(
                "SERIOUS", start, end, same_clause=False
            )
        if rule.category != "suicide":
            return False
        framed = self.near("_REPORTED", start, end, same_clause=False, span=_NET_SPAN)
        asked = self._around("ASKS", start, start)[0] > self._around("EOC", start, start)[0]
        if framed and asked:
            return True  # "the form asks if ive ever had suicidal thoughts"
        framed = framed or asked  # "my mom keeps asking if im going to hurt myself, im not"
        if self.subject(start, end) == "_OTHER" and (
            framed or self.near("PAST", start, end, same_clause=True)
        ):
            return True
        # "the intake form asks if i have thoughts of harming myself, i dont"
        return framed and any(
            self.governing[p] >= 0 or "NEG" in self.concepts[p]
            for p in range(end + 1, min(end + 8, len(self.concepts)))
        )

    def someone_elses(self, start: int, end: int) -> bool:
        """True for an animal's symptom, or for someone else's single past event ("my mom fainted
        once getting blood drawn", "mi mama se desmayo una vez")."""
        if self.pet_subject(start):
            return True
        return self.subject(start, end) == "_OTHER" and self.near("ONCE", start, end, same_clause=True)

    def settled_after(self, end: int) -> bool:
        """True when "gone now", "the nurse checked me and I was fine" follows a symptom closely.

        Only what comes after counts: "I was fine this morning, now chest pain" is not settled.
        """
        _, after = self._around("RESOLVED", end, end)
        return after < len(self.concepts) and after - end <= _RESOLVED_SPAN

    def _broken(self, breakers: tuple[str, ...], positions: tuple[int, ...]) -> bool:
        """True when the word just before the match, or one inside it, has a breaker concept.

        "I want him dead" is about someone else: "him" breaks "want ... dead". Matches span a few
        tokens (rule windows are small), so this costs a bounded number of look-ups.
        """
        inside = set(positions)
        for p in range(max(positions[0] - 1, 0), positions[-1]):
            if p not in inside and any(b in self.concepts[p] for b in breakers):
                return True
        return False

    def phrase(self, positions: tuple[int, ...]) -> str:
        span = self.words[positions[0] : positions[-1] + 1]
        return " ".join(w for w in span if w != CLAUSE_BREAK)


@functools.lru_cache(maxsize=8192)
def _who(token: str, *, last: bool = False) -> frozenset[str]:
    """ "_FIRST", "_OTHER", "_REPORTED" for the words of a token that name the writer, someone else,
    or a reported framing; with `last`, only the nearest person word counts ("my mom" is the mom)."""
    words = token.split()
    if last:
        for word in reversed(words):
            if word in lex.OTHER_SUBJECT:
                return frozenset({"_OTHER"})
            if word in lex.FIRST_PERSON:
                return frozenset({"_FIRST"})
        return frozenset()
    found = set()
    for word in words:
        if word in lex.FIRST_PERSON:
            found.add("_FIRST")
        if word in lex.OTHER_SUBJECT:
            found.add("_OTHER")
        if word in lex.REPORTED:
            found.add("_REPORTED")
    return frozenset(found)


@functools.lru_cache(maxsize=8192)
@functools.lru_cache(maxsize=8192)
def _rule_parts(concepts: frozenset[str], net: bool = False) -> tuple[_Part, ...]:
    """The rule parts a token with these concepts can fill, later parts first, each with what the
    matcher needs of its rule (cached: the matcher asks once per token)."""
    index = _tables().net_index if net else _tables().index
    rules = lex.NET_RULES if net else lex.RULES
    pairs = sorted({pair for c in concepts for pair in index.get(c, ())}, key=lambda rk: -rk[1])
    return tuple(
        _Part(r, k, rules[r].ordered, rules[r].category, _gap(rules[r], k), len(rules[r].parts))
        for r, k in pairs
    )


class _Part(NamedTuple):
    rule: int
    k: int
    ordered: bool
    category: str
    gap: int
    size: int


def _gap(rule: lex.Rule, k: int) -> int:
    """The largest distance allowed between part k - 1 and part k (ordered), or the whole span."""
    if isinstance(rule.window, int):
        return rule.window
    return rule.window[k - 1] if rule.ordered else max(rule.window)


def _match(words: list[str], concepts: list[frozenset[str]]) -> dict[str, CrisisHit]:
    """The rules' hits by category; when none fired, the safety net's (leaning to fire), and when
    the net is silent too, the suicide risk score's."""
    context = _Context.build(words, concepts)
    return (
        _match_rules(context, lex.RULES, net=False)
        or _match_rules(context, lex.NET_RULES, net=True)
        or _risk_score(context)
    )


def _risk_score(context: _Context) -> dict[str, CrisisHit]:
    """ "suicide" when the weights of the risk families found in the message (each family once, see
    `lex.RISK_WEIGHTS`) reach `lex.RISK_THRESHOLD`, else nothing. One pass over the tokens.

    A cue counts unless `_Context.risk_cue` explains it away, or its clause is about someone else
    ("my friend jumped off a bridge") with no first-person subject in it; the clause is only known
    at its end, so its cues wait until then. Negative families (logistics, progress, "see you
    thursday") always count.
    """
    weights = lex.RISK_WEIGHTS
    found: dict[str, int] = {}  # family -> position of the cue that counted
    pending: list[tuple[str, int]] = []
    writer_in_clause = False
    for i, cs in enumerate(context.concepts):
        if "EOC" in cs:
            for family, p in pending:
                if writer_in_clause or context.subject(p, p) != "_OTHER":
                    found.setdefault(family, p)
            pending, writer_in_clause = [], False
            continue
        writer_in_clause = writer_in_clause or not lex.FIRST_SUBJECT.isdisjoint(context.words[i].split())
        for family in sorted(cs & weights.keys()):
            if weights[family] < 0:
                found.setdefault(family, i)
            elif context.risk_cue(i):
                pending.append((family, i))
    if sum(weights[family] for family in found) < lex.RISK_THRESHOLD:
        return {}
    cues = sorted({p for family, p in found.items() if weights[family] > 0})
    return {"suicide": CrisisHit("suicide", " ".join(context.words[p] for p in cues))}


def _match_rules(context: _Context, rules: tuple[lex.Rule, ...], *, net: bool) -> dict[str, CrisisHit]:
    """The first valid match of each category, in one left-to-right pass.

    For ordered rules, `partial[r][k]` holds the positions of the latest in-order match of parts 0..k
    (a later match dominates an earlier one for every extension); unordered rules look at where each
    concept was last seen. Either way a token costs a bounded number of dictionary look-ups.
    """
    valid = context.net_valid if net else context.valid
    partial: list[list[tuple[int, ...] | None]] = [[None] * len(rule.parts) for rule in rules]
    last_seen: dict[str, int] = {}
    found: dict[str, CrisisHit] = {}
    for i, cs in enumerate(context.concepts):
        for r, k, ordered, category, gap, size in _rule_parts(cs, net):
            if ordered:
                if k == 0:
                    positions: tuple[int, ...] = (i,)
                else:
                    before = partial[r][k - 1]
                    if before is None or before[-1] >= i or i - before[-1] > gap:
                        continue
                    positions = (*before, i)
                if category in found:
                    continue
                partial[r][k] = positions
            else:
                if category in found:
                    continue
                others = [last_seen.get(c, -1) for j, c in enumerate(rules[r].parts) if j != k]
                if any(p < 0 or i - p > gap for p in others):
                    continue
                positions = tuple(sorted({*others, i}))
            if len(positions) == size and valid(rules[r], positions):
                found[category] = CrisisHit(category, context.phrase(positions))
        for c in cs:
            last_seen[c] = i
    return found
