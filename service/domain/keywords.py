"""STOP / START / HELP keywords, opt-outs written in plain words, and "wrong number" replies.

Why this goes beyond single keywords:
- The CTIA Messaging Principles and Best Practices ask every program to act on opt-out requests, with
  the common opt-out words STOP, END, QUIT, CANCEL and UNSUBSCRIBE, and to answer HELP (and INFO).
  Twilio, which carries our texts, also treats STOPALL, REVOKE and OPTOUT as opt-outs and START, UNSTOP
  and YES as opt-ins, but only when the whole message is that one word.
- The FCC's 2024 Report and Order on revoking consent (TCPA; its texting rules in force from April 2025)
  lets a person revoke consent by any reasonable means, and treats words such as "stop", "quit", "end",
  "revoke", "opt out", "cancel" and "unsubscribe" as a revocation. So a clear request in plain words
  ("please quit sending me messages", "no quiero recibir más textos") is honoured here, in English and
  Spanish, although Twilio does not act on it.

How it is built: text is folded (text.fold), then tokens are normalised here (text-speak such as "pls",
"u", "txt"; "do not" -> "dont"; small misspellings of long words such as "unsubcribe"). A plain-word
opt-out must parse as [politeness] + a stop/no-longer-want/remove verb + a messaging object ("texts",
"these", "my number from your list") + [anymore / ever again / thanks], over at most 20 words. Anything
else that mentions stopping messages goes to a person ("unclear-revocation"). A stop that describes a
symptom or a feeling ("can't stop throwing up", "make it stop") is never a revocation, and cancelling a
session is an ordinary message. Every check walks the token list a bounded number of times: time is
linear in the text, with no regular expression that can backtrack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .text import fold

Phrase = tuple[str, ...]

OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
    | {"parar", "alto", "baja", "cancelar"}
)
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info", "ayuda", "informacion"})

# A plain-word revocation longer than this is read by a person: it probably says something else too.
MAX_REVOCATION_WORDS = 20
# Spelling correction only runs on short texts: long ones are never an automatic opt-out.
_MAX_CORRECTED_WORDS = 40


def _p(texts: str) -> tuple[Phrase, ...]:
    """Phrases from a comma-separated list ("no more, stop") -> (("no", "more"), ("stop",))."""
    return tuple(tuple(t.split()) for t in texts.split(",") if t.strip())


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _spellings(table: str) -> dict[str, str]:
    """ "please: pls plz; thanks: thx" -> {"pls": "please", "plz": "please", "thx": "thanks"}."""
    out: dict[str, str] = {}
    for entry in table.split(";"):
        right, _, variants = entry.partition(":")
        out.update(dict.fromkeys(variants.split(), right.strip()))
    return out


def _merges(table: str) -> dict[Phrase, Phrase]:
    """ "do not > dont; i am > im" -> {("do", "not"): ("dont",), ("i", "am"): ("im",)}."""
    pairs = (entry.split(">") for entry in table.split(";"))
    return {tuple(a.split()): tuple(b.split()) for a, b in pairs}


# --- Token normalisation -------------------------------------------------------------------------

# Text-speak and common misspellings: "right form: variants; ...".
_SPELLING = _spellings(
    "please: pls plz plse pleas pleez pleeze plez pleaze plis pleae; thanks: thx thnx thanx "
    "thnks tks ty tysm; you: u ya'll yall youre; your: ur yur; ok: okay okey kk; text: txt "
    "tx; texts: txts txs textes; texting: txting txtin textin texing textng textting txtng; "
    "message: msg mesage messege; messages: msgs mssgs msges messeges mesages messges; "
    "mensajes: mesajes msj msjs mjs mensages mensaje menajes; messaging: msging msgn "
    "messageing; anymore: anymor anymo nemore; no more: nomore; dont: dnt; cant: cannot; want "
    "to: wanna wana; stop: stp stoop stopp sotp stpo; number: numbr nmbr num nunber numer; "
    "wrong: wrng rong; numero: nro; receive: recieve recive; receiving: recieving reciving; "
    "sending: sendin sendng snding; contacting: contactin; que: q; por favor: porfa porfavor "
    "xfa xfavor porfis"
)
# Two words read as one form: "do not" -> "dont", "opt out" -> "optout".
_MERGES = _merges(
    "do not > dont; does not > doesnt; did not > didnt; can not > cant; will not > wont; could "
    "not > couldnt; would not > wouldnt; is not > isnt; are not > arent; i am > im; id like > i "
    "would like; any more > anymore; opt out > optout; un subscribe > unsubscribe; x favor > "
    "por favor; thank u > thank you; no longer > nolonger; wrong no > wrong number"
)
# Small misspellings of long words are corrected to these (one edit: a letter added, missed, changed or
# two swapped). Short words are never guessed: "stop" is one edit from "step" and "shop".
_FUZZY_TARGETS = tuple(
    sorted(
        _set(
            "messages reminders notifications receive receiving anymore mensajes recordatorios "
            "notificaciones equivocado equivocada number numero contacting enviarme mandarme escribirme"
        )
    )
)
_NOT_MISSPELT = _set(
    "message messaged numbers numbed reminder reminded received receiver remainders "
    "numeros anyone massage massages messenger"
)


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or adjacent swap (O(len))."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i:] if len(a) > len(b) else a[i:] == b[i + 1 :]


def _correct(token: str) -> str:
    if token.startswith(("unsub", "unsus", "usubs")):
        return "unsubscribe"
    if len(token) < 6 or token in _NOT_MISSPELT or token in _FUZZY_TARGETS:
        return token
    return next((t for t in _FUZZY_TARGETS if _within_one_edit(token, t)), token)


def tokens(text: str) -> tuple[str, ...]:
    """The words of text, folded and normalised for keyword matching ("Pls STOP txting me!" ->
    ("please", "stop", "texting", "me"))."""
    # "#" is folded away as punctuation, but "wrong #" means "wrong number".
    words = fold(text.replace("#", " number ")).split()
    out: list[str] = []
    for word in words:
        word = word.replace("'", "")
        out.extend(_SPELLING.get(word, word).split())
    if len(out) <= _MAX_CORRECTED_WORDS:
        out = [_correct(w) for w in out]
    merged: list[str] = []
    i = 0
    while i < len(out):
        pair = tuple(out[i : i + 2])
        if pair in _MERGES:
            merged.extend(_MERGES[pair])
            i += 2
        else:
            merged.append(out[i])
            i += 1
    return tuple(merged)


# --- A tiny grammar over tokens ------------------------------------------------------------------


class _Slot:
    """One step of a phrase pattern: one of `phrases`, possibly skipped, possibly repeated."""

    __slots__ = ("by_first", "optional", "repeat")

    def __init__(self, phrases: Iterable[Phrase], *, optional: bool = False, repeat: bool = False) -> None:
        self.optional = optional
        self.repeat = repeat
        # Indexed by first word, so that a position is only compared with phrases that can start there.
        self.by_first: dict[str, list[Phrase]] = {}
        for phrase in sorted(phrases, key=len, reverse=True):  # longest first, for _strip_polite
            self.by_first.setdefault(phrase[0], []).append(phrase)

    def ends(self, words: Sequence[str], start: int) -> set[int]:
        """Where a phrase of this slot that starts at `start` ends."""
        if start >= len(words):
            return set()
        return {
            start + len(p)
            for p in self.by_first.get(words[start], ())
            if tuple(words[start : start + len(p)]) == p
        }


def _opt(*groups: Iterable[Phrase]) -> _Slot:
    return _Slot((p for g in groups for p in g), optional=True)


def _any(*groups: Iterable[Phrase]) -> _Slot:
    return _Slot((p for g in groups for p in g), optional=True, repeat=True)


def _one(*groups: Iterable[Phrase]) -> _Slot:
    return _Slot(p for g in groups for p in g)


def _matches(words: Sequence[str], pattern: Sequence[_Slot]) -> bool:
    """Whether the whole of words reads as pattern.

    Runs the pattern as a set of reachable positions (no backtracking): each slot looks at each
    position at most once, so the time is linear in the number of words.
    """
    reach = {0}
    for slot in pattern:
        out = set(reach) if slot.optional else set()
        frontier = reach
        while frontier:
            step: set[int] = set()
            for i in frontier:
                step |= slot.ends(words, i)
            frontier = step - out if slot.repeat else set()
            out |= step
        reach = out
        if not reach:
            return False
    return len(words) in reach


# Politeness and filler around a request, in either language.
POLITE = _p(
    "please, kindly, sorry but, please and thank you, please and thanks, thanks, thank you, "
    "thanks so much, thank you so much, thanks again, ok, hi, hello, hey, hi there, sorry, im "
    "sorry, excuse me, just, seriously, no thanks, no thank you, now, right now, asap, "
    "immediately, already, bye, goodbye, por favor, gracias, muchas gracias, hola, buenas, "
    "buenos dias, buenas tardes, buenas noches, disculpe, disculpa, perdon, oiga, oye, ya, "
    "ahora, ahora mismo, adios"
)
# Repeating the request around it ("stop, please stop texting me") or saying why.
_ECHO = _p(
    "stop, stopall, stop all, unsubscribe, optout, not interested, im not interested, nolonger "
    "interested, im done, no me interesa, ya no me interesa"
)
_INTENT = _p(
    "you can, i want to, i want you to, i would like to, i would like you to, i wish to, i need "
    "to, i need you to, i ask you to, im asking you to, i would like, can you, could you, would "
    "you, will you, can you please, i want, quiero, quisiera, deseo, necesito, me gustaria, me "
    "quiero, quiero que, necesito que, les pido que, le pido que, favor de, puede, pueden, "
    "podria, podrian, puedes, podrias, can you guys, could you guys, would you guys, will you "
    "guys, you guys, you guys can, guys"
)
_AFTER = _p(
    "anymore, no more, nada, nada mas, mas nada, again, ever again, never again, any longer, at "
    "all, for good, forever, permanently, altogether, from you, from you guys, from this number, "
    "from your number, from the clinic, from your clinic, from your office, from this clinic, to "
    "me, to my phone, to my number, to this number, to my cell, on my phone, mas, nunca mas, "
    "jamas, a mi, a este numero, a mi numero, a mi celular, a mi telefono, de ustedes, de su "
    "parte, de la clinica"
)

# English pieces
_STOP_V = _p("stop, quit, cease, halt, discontinue, end, cancel, stop all, stopall")
_SEND_GER = _p("sending, texting, messaging, contacting, spamming, sending out, blowing up")
_RECV_GER = _p("receiving, getting")
_RECV = _p("receive, get, be getting, be receiving, keep getting, keep receiving, be sent, have")
_SEND_BASE = _p("text, message, send, contact, sms, call or text, text or call, spam")
_ME = _p("me, us, my phone, my number, my cell, this number, this phone")
_DET = _p(
    "the, these, those, this, all, all the, all these, all those, all of the, all of these, all of "
    "your, all your, your, any, anymore, more, further, future, such, my, any of the, any of "
    "these, any of your"
)
# Only words that keep the request about every message: "the education texts" or "the check-ins" ask
# about some of them, which a person sorts out.
_MOD = _p(
    "text, sms, reminder, appointment, automated, auto, clinic, spam, annoying, stupid, damn, "
    "freaking, fucking, friggin, frickin"
)
_NOUN = _p(
    "texts, messages, sms, reminders, notifications, alerts, notices, updates, text messages, "
    "spam, subscription"
)
_THESE = _p(
    "these, those, them, this, these things, this stuff, all this, all of this, this crap, "
    "stuff, things, anything, all this stuff"
)
_NEG_WANT = _p(
    "dont want, nolonger want, dont need, nolonger need, dont wish, nolonger wish, never "
    "want, dont care for, dont like"
)
_NEG = _p("dont, never, please dont, do not")
_TO_BE = _p("to be, be")
_PASSIVE = _p("texted, contacted, messaged, sent texts, sent messages, bothered")
_HEAR = _p("to hear from you, to hear from you guys, to hear from this number, to hear from your clinic")
_NO_MORE = _p("no more, no further, enough, enough with, enough of, nothing more")
_REMOVE_V = _p("remove, delete, erase, drop, unsubscribe, unenroll, unregister, take out")
_WHO = _p(
    "me, us, my number, my phone, my phone number, my cell, my cell number, my cell phone, my "
    "mobile, my mobile number, this number, this phone, this phone number, my info, my "
    "information, my contact, my contact info, my details, my name"
)
_FROM = _p("from, off, off of, out of, on")
_LIST_DET = _p("the, your, this, that, our, all, all of your, any, all your, these")
_LIST_MOD = _p(
    "texting, text, sms, message, messaging, mailing, contact, call, calling, reminder, "
    "notification, distribution, subscription, patient, automated"
)
_LIST_NOUN = _p("list, lists, system, database, contacts, subscription, group")
_TAKE = _p("take, get, put")
_OFF = _p("off, off of, out of")
_OPTOUT = _p("optout, opt me out, opt us out, opt my number out")
_BE_REMOVED = _p("be removed, be unsubscribed, be taken off, be opted out, get removed, be deleted")
_REVOKE = _p(
    "revoke, revoke my consent, revoke consent, i revoke my consent, i revoke consent, i "
    "withdraw my consent, withdraw my consent, withdraw consent, revoke my permission"
)
_CONSENT_FOR = _p("to text me, to contact me, for texts, for messages, to send me texts")

# Spanish pieces
_ES_DET = _p(
    "los, las, estos, estas, esos, sus, tus, mas, ningun, ningunos, todos los, todos sus, todos "
    "estos, otro, otros, el, mi, la, este, ese"
)
_ES_NOUN = _p(
    "mensajes, textos, sms, mensajitos, recordatorios, notificaciones, alertas, avisos, suscripcion"
)
_ES_MOD = _p(
    "de texto, de textos, automaticos, de ustedes, de la clinica, de su parte, de recordatorio, de citas"
)
_ES_WANT = _p("quiero, deseo, necesito, me interesa, me interesan, quiero seguir, quiero que")
_ES_RECV = _p("recibir, seguir recibiendo, tener, recibiendo, que me lleguen, que me manden")
_ES_NEG = _p("no, nunca, nunca mas, ya no, no mas")
_ES_SEND_SUBJ = _p(
    "envien, manden, escriban, texteen, contacten, mande, envie, escriba, mandes, envies, "
    "escribas, molesten, sigan mandando, sigan enviando, mensajeen, enviar, mandar, "
    "escribir, textear, enviarme, mandarme, escribirme, contactar, contactarme"
)
_ES_DEJEN = _p(
    "dejen de, deje de, deja de, dejar de, paren de, pare de, para de, basta de, ya basta de, parar de"
)
_ES_SEND_INF = _p(
    "enviarme, mandarme, escribirme, textearme, contactarme, mensajearme, molestarme, "
    "enviar, mandar, escribir, enviarnos, mandarnos"
)
_ES_NO_MORE = _p("no mas, basta de, basta con, ya basta de, ya no mas, nada mas de")
_ES_BAJA = _p(
    "darme de baja, dar de baja, denme de baja, de baja, me doy de baja, baja, me den de baja, "
    "dar de baja mi numero, darme de baja de, la baja"
)
_ES_BAJA_FROM = _p(
    "de la lista, de los mensajes, de este servicio, de sus mensajes, de su lista, de los "
    "textos, del servicio, del programa, de esto"
)
_ES_STOP_V = _p(
    "parar, paren, pare, detener, detengan, cancelar, cancelen, cancela, cancele, suspender, "
    "suspendan, suspende, terminar, quitar, quiten, basta"
)
_ES_REMOVE_V = _p(
    "eliminen, borren, saquen, quiten, eliminar, borrar, sacar, quitar, me saquen, me "
    "quiten, me borren, me eliminen, saquenme, quitenme, borrenme, eliminenme, sacarme, "
    "quitarme, borrarme, eliminarme, sacame, quitame, borrame"
)
_ES_WHO = _p(
    "mi numero, mi celular, mi telefono, este numero, mi numero de telefono, mi numero de celular, mi nombre"
)
_ES_LIST = _p(
    "de la lista, de su lista, de sus listas, de la lista de mensajes, de su sistema, del "
    "sistema, de los mensajes, de sus mensajes, de la base de datos, de sus contactos, de los "
    "textos"
)

_PRE = _any(POLITE, _ECHO)
_TAIL = _any(POLITE, _ECHO, _AFTER)
_OBJ = (_any(_DET), _any(_MOD), _one(_NOUN))
_ES_OBJ = (_any(_ES_DET), _one(_ES_NOUN), _any(_ES_MOD))
_LIST = (_any(_LIST_DET), _any(_LIST_MOD), _one(_LIST_NOUN))


def _core(*slots: _Slot | tuple[_Slot, ...]) -> tuple[_Slot, ...]:
    flat: list[_Slot] = []
    for s in slots:
        flat.extend(s if isinstance(s, tuple) else (s,))
    return tuple(flat)


_I = _opt(_p("i, we"))
# Each pattern is a request about messages with an object; any politeness may come first.
_OBJECT_CORES: tuple[tuple[_Slot, ...], ...] = (
    _core(_one(_STOP_V), _OBJ),
    _core(_one(_STOP_V), _one(_p("it with, with")), _OBJ),
    _core(_I, _one(_p("want off, want out of")), _LIST),
    _core(_one(_p("get me off, get me out of, get my number off")), _LIST),
    _core(_one(_STOP_V), _one(_SEND_GER), _opt(_ME)),
    _core(_one(_STOP_V), _one(_SEND_GER), _opt(_ME), _one(_THESE)),
    _core(_one(_STOP_V), _one(_SEND_GER), _opt(_ME), _OBJ),
    _core(_one(_STOP_V), _one(_RECV_GER), _one(_THESE)),
    _core(_one(_STOP_V), _one(_RECV_GER), _OBJ),
    _core(_I, _one(_NEG_WANT), _opt(_p("to")), _opt(_RECV), _OBJ),
    _core(_I, _one(_NEG_WANT), _opt(_p("to")), _one(_RECV), _one(_THESE)),
    _core(_I, _one(_NEG_WANT), _one(_TO_BE), _one(_PASSIVE)),
    _core(_I, _one(_NEG_WANT), _one(_HEAR)),
    _core(_one(_NEG), _one(_SEND_BASE), _one(_ME), _opt(_THESE)),
    _core(_one(_NEG), _one(_SEND_BASE), _one(_ME), _OBJ),
    _core(_one(_NEG), _one(_p("send")), _OBJ),
    _core(_one(_NEG), _one(_p("send")), _one(_THESE)),
    _core(_one(_NO_MORE), _OBJ),
    _core(_one(_NO_MORE), _one(_p("texting, messaging, texting me, messaging me"))),
    _core(_one(_REMOVE_V), _one(_WHO), _opt(_FROM)),
    _core(_one(_REMOVE_V), _one(_WHO), _one(_FROM), _LIST),
    _core(_one(_REMOVE_V), _one(_WHO), _one(_FROM), _OBJ),
    _core(_one(_p("unsubscribe, optout, unsubscribe me")), _one(_p("from, of, to")), _LIST),
    _core(_one(_p("unsubscribe, optout, unsubscribe me")), _one(_p("from, of, to")), _OBJ),
    _core(
        _one(_p("unsubscribe, optout, unsubscribe me")),
        _one(_p("from, of")),
        _one(_p("this, all this, it, everything, all of it, all")),
    ),
    _core(_one(_TAKE), _one(_WHO), _one(_OFF)),
    _core(_one(_TAKE), _one(_WHO), _one(_OFF), _LIST),
    _core(_one(_p("take, take me, get me")), _one(_OFF), _one(_WHO), _opt(_FROM)),
    _core(_one(_OPTOUT), _opt(_p("of, from")), _LIST),
    _core(_one(_OPTOUT), _opt(_p("of, from")), _OBJ),
    _core(_one(_OPTOUT)),
    _core(_one(_BE_REMOVED), _opt(_FROM)),
    _core(_one(_BE_REMOVED), _one(_FROM), _LIST),
    _core(_one(_REVOKE), _opt(_CONSENT_FOR)),
    # Spanish
    _core(_opt(_p("ya")), _one(_p("no")), _one(_ES_WANT), _opt(_ES_RECV), _opt(_p("mas")), _ES_OBJ),
    _core(_one(_ES_NEG), _opt(_p("me, nos")), _one(_ES_SEND_SUBJ), _opt(_p("mas"))),
    _core(_one(_ES_NEG), _opt(_p("me, nos")), _one(_ES_SEND_SUBJ), _opt(_p("mas")), _ES_OBJ),
    _core(_one(_ES_DEJEN), _one(_ES_SEND_INF), _opt(_p("mas"))),
    _core(
        _opt(_p("ya")),
        _one(_p("no")),
        _one(_ES_WANT),
        _one(_p("que")),
        _opt(_p("me, nos")),
        _one(_ES_SEND_SUBJ),
    ),
    _core(_one(_ES_NEG), _one(_p("me, nos")), _one(_p("vuelvan a, vuelva a, vuelvas a")), _one(_ES_SEND_INF)),
    _core(
        _one(_ES_NEG),
        _one(_p("me, nos")),
        _one(_p("vuelvan a, vuelva a, vuelvas a")),
        _one(_ES_SEND_INF),
        _ES_OBJ,
    ),
    _core(_one(_ES_DEJEN), _one(_ES_SEND_INF), _opt(_p("mas")), _ES_OBJ),
    _core(_one(_ES_NO_MORE), _ES_OBJ),
    _core(_one(_ES_BAJA), _opt(_ES_BAJA_FROM)),
    _core(_one(_ES_STOP_V), _ES_OBJ),
    _core(_one(_ES_REMOVE_V), _one(_ES_WHO), _opt(_ES_LIST)),
    _core(_one(_ES_REMOVE_V), _opt(_ES_WHO), _one(_ES_LIST)),
)
# A bare keyword that is a revocation whatever comes before it ("I want to unsubscribe").
_EXPLICIT_BARE = _p("unsubscribe, unsubscribe me, optout, revoke, stopall, stop all")
# A bare keyword that could mean many things after "I want to" ("I want to stop" treatment?): only
# politeness may surround it.
_AMBIGUOUS_BARE = _p("stop, quit, end, stop now, parar, alto")

_PATTERNS: tuple[tuple[_Slot, ...], ...] = (
    *((_PRE, _opt(_INTENT), *core, _TAIL) for core in _OBJECT_CORES),
    (_PRE, _opt(_INTENT), _one(_EXPLICIT_BARE), _TAIL),
    (_PRE, _one(_AMBIGUOUS_BARE), _TAIL),
)


def _is_plain_word_opt_out(words: Sequence[str]) -> bool:
    return len(words) <= MAX_REVOCATION_WORDS and any(_matches(words, p) for p in _PATTERNS)


# --- Looking phrases up anywhere in a text -------------------------------------------------------


class _Words:
    """The words of a text with where each word and each pair of words occur, so that finding a phrase
    costs only the occurrences of its first two words."""

    __slots__ = ("at", "at2", "words")

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words
        self.at: dict[str, list[int]] = {}
        self.at2: dict[tuple[str, str], list[int]] = {}
        for i, word in enumerate(words):
            self.at.setdefault(word, []).append(i)
            if i + 1 < len(words):
                self.at2.setdefault((word, words[i + 1]), []).append(i)

    def find(self, phrase: Phrase) -> list[int]:
        """Start positions of phrase."""
        n = len(phrase)
        if n == 1:
            return self.at.get(phrase[0], [])
        starts = self.at2.get((phrase[0], phrase[1]), [])
        return starts if n == 2 else [i for i in starts if self.words[i : i + n] == phrase]

    def has(self, phrases: Iterable[Phrase]) -> bool:
        return any(self.find(p) for p in phrases)


# --- Single keywords -----------------------------------------------------------------------------


_POLITE_BY_FIRST = _Slot(POLITE).by_first
_POLITE_BY_LAST = _Slot(tuple(p[::-1] for p in POLITE)).by_first


def _strip_polite(words: tuple[str, ...]) -> tuple[str, ...]:
    """words without politeness at either end ("ayuda por favor" -> ("ayuda",)); never empty.

    Each step removes a phrase, and only phrases that start (or end) with the word there are tried."""
    start, end = 0, len(words)
    while True:
        cut = next(
            (len(p) for p in _POLITE_BY_FIRST.get(words[start], ()) if words[start : start + len(p)] == p), 0
        )
        if not cut:
            cut = -next(
                (
                    len(p)
                    for p in _POLITE_BY_LAST.get(words[end - 1], ())
                    if words[end - len(p) : end] == p[::-1]
                ),
                0,
            )
        if not cut or end - start <= abs(cut):
            return words[start:end]
        if cut > 0:
            start += cut
        else:
            end += cut


def _single_keyword(words: tuple[str, ...]) -> str | None:
    """The keyword a text is, give or take politeness ("STOP", "stop please", "ayuda por favor")."""
    if words == ("yes",):
        # Only the bare word: "yes please" answers a question, it is not a way back in.
        return "opt-in"
    core = _strip_polite(words)
    if len(core) > 3:
        return None
    joined = "".join(core)
    if joined in ("cancel", "cancelar") and core != words:
        # "please cancel" after a session reminder most likely means the session: a person asks.
        return "unclear-revocation"
    if joined in OPT_OUT_WORDS:
        return "opt-out"
    if joined in OPT_IN_WORDS or core in (("start", "again"), ("start", "texts", "again")):
        return "opt-in"
    if len(core) == 1 and joined in HELP_WORDS:
        return "help"
    return None


# --- Tips: the education texts only ----------------------------------------------------------------

# TIPS OFF / TIPS ON (CONSEJOS NO / CONSEJOS SI) turn the education texts off or on and leave visit
# reminders and safety check-ins alone, so that a patient tired of tips need not send STOP. The whole
# text (give or take politeness) must be about tips: "stop tips" is TIPS OFF, "stop" alone stays a full
# STOP, and "stop the tips and the reminders" is not a tips request (the other rules read it).
_TIPS = _p("tips, tip, consejos, consejo")
_TIPS_DET = _p("the, these, those, your, all, all the, all these, any, los, las, estos, sus, todos los")
_TIPS_OFF_AFTER = _p("off, stop, no, no more, no thanks, nolonger, please stop")
_TIPS_OFF_BEFORE = _p(
    "stop, stop all, stop sending, stop sending me, stop texting, stop texting me, turn off, no, no "
    "more, dont send, dont send me, dont text me, please dont send, i dont want, i dont want any, i "
    "dont want any more, nolonger want, i nolonger want, unsubscribe from, unsubscribe me from, "
    "optout of, cancel, sin, no mas, no quiero, no quiero mas, ya no quiero, ya no quiero mas, ya no "
    "mas, basta de, ya basta de, no me manden, no me manden mas, no me envien, no me envien mas, "
    "dejen de enviarme, dejen de mandarme, parar, paren, quitar, quiten"
)
_TIPS_ON_AFTER = _p("on, start, yes, si, again, back on, back, please again")
_TIPS_ON_BEFORE = _p(
    "start, restart, resume, turn on, yes, si, send, send me, start sending, start sending me, "
    "i want, quiero, quiero recibir, quiero volver a recibir, envienme, mandenme, enviar, mandar"
)
_TIPS_ON_TAIL = _p("again, back, back on, otra vez, de nuevo, again please")
_TIPS_TURN = _p("turn, put, switch")
_TIPS_PATTERNS = {
    "tips-off": (
        (_any(_TIPS_DET), _one(_TIPS), _one(_TIPS_OFF_AFTER)),
        (_one(_TIPS_OFF_BEFORE), _any(_TIPS_DET), _one(_TIPS)),
        (_one(_TIPS_TURN), _any(_TIPS_DET), _one(_TIPS), _one(_p("off"))),
    ),
    "tips-on": (
        (_any(_TIPS_DET), _one(_TIPS), _one(_TIPS_ON_AFTER)),
        (_one(_TIPS_ON_BEFORE), _any(_TIPS_DET), _one(_TIPS), _opt(_TIPS_ON_TAIL)),
        (_one(_TIPS_TURN), _any(_TIPS_DET), _one(_TIPS), _one(_p("on, back on"))),
    ),
}
# Long enough for "please stop sending me all the tips, thank you", short enough to say nothing else.
_MAX_TIPS_WORDS = 12


def _tips_keyword(words: tuple[str, ...]) -> str | None:
    """ "tips-off" or "tips-on" when the whole text, politeness aside, asks for that; else None."""
    if len(words) > _MAX_TIPS_WORDS or not any(w in ("tips", "tip", "consejos", "consejo") for w in words):
        return None
    core = _strip_polite(words)
    for label, patterns in _TIPS_PATTERNS.items():
        if any(_matches(core, pattern) for pattern in patterns):
            return label
    return None


# --- Wrong number --------------------------------------------------------------------------------

_WRONG_ANYWHERE = _p(
    "wrong number, wrong numbers, wrong phone, wrong phone number, wrong cell, wrong "
    "person, wrong guy, wrong girl, wrong lady, wrong contact, wrong patient, wrong "
    "recipient, wrong individual, wrong cell number, wrong mobile, wrong people, numero "
    "equivocado, numero incorrecto, numero erroneo, numero equivocada, equivocado de "
    "numero, equivocada de numero, equivoco de numero, equivocaron de numero, "
    "equivocaste de numero, equivocado numero, persona equivocada, persona incorrecta, "
    "equivoco de persona, equivocaron de persona, equivocado de persona, equivocada de "
    "persona, not your patient, not a patient, never been a patient, "
    "never been your patient, not one of your patients, not a client, not your client, "
    "never been to your clinic, never been to that clinic, never been a client, not a "
    "patient there, dont go to that clinic, dont go to your clinic, never been to your "
    "office, no soy paciente, no soy su paciente, no soy tu paciente, no soy la "
    "paciente, no soy el paciente, nunca he sido paciente, nunca fui paciente, no soy "
    "cliente, no soy su cliente, doesnt live here, dont live here, nolonger lives here, "
    "doesnt have this number, nolonger has this number, not her number, not his number, "
    "isnt her number, isnt his number, not her phone, not his phone, isnt her phone, "
    "isnt his phone, not their number, no vive aqui, no vive aca, aqui no vive, aca no "
    "vive, no tiene este numero, ya no es su numero, no es su numero, no es el numero "
    "de, este numero no es de, no conozco a ninguna, no conozco a ningun, no conozco a "
    "nadie, no conozco a esa persona, no conozco a esta persona, no se quien es esa "
    "persona, no conozco ninguna, no conozco ningun, no hay ninguna, no hay ningun, no "
    "hay nadie que se llame, no one here named, nobody here named, no one named, nobody "
    "named, nobody by that name, no one by that name, no one here by, nobody here by, "
    "number isnt hers, number isnt his, number isnt theirs, phone isnt hers, phone isnt "
    "his, dont know anyone named, dont know anybody named, dont know anyone by, my name "
    "isnt, mi nombre no es"
)
# Words after "this isn't" / "no soy" that are not a person's name ("this is not working").
_NOT_A_NAME = _set(
    "a an the my your our his her their me him them it that this what how who why when "
    "where here fun worth ideal awesome pleasant professional private secure confidential "
    "personal real there is are was be been am im so too very really just even only quite "
    "yet ever never always still anymore also about for to at in on of with from by up out "
    "over off down into like as if or and but because sure ok good well fine right wrong "
    "true correct clear fair funny normal real enough possible helpful useful sick better "
    "worse bad great easy hard safe ready able allowed available free busy awake asleep "
    "tired hungry alone scared afraid worried happy sad mad upset angry crazy dizzy "
    "nauseous comfortable alright aware positive certain convinced interested kidding "
    "joking lying done home late early gonna gotta supposed meant urgent serious spam "
    "necessary needed appropriate cool nice new old same different one mine yours ours hers "
    "myself yourself sorry lol haha yes no not today tomorrow tonight now much exactly what "
    "whats legit legal other another anyone anybody someone somebody pregnant drunk high "
    "dead ketamine treatment therapy you u yo el la lo los las un una su sus tu mi de del "
    "que bien mal seguro segura nada eso esto este esta aqui alla listo lista capaz loco "
    "loca enfermo enferma cansado cansada mejor peor tan muy ni paciente embarazada"
)
# Endings of adjectives and participles, never of the names that follow ("this isn't helpful").
_EN_NOT_NAME_ENDINGS = ("ing", "ous", "ful", "able", "ible", "ness")
_ES_NOT_NAME_ENDINGS = ("ico", "ica", "ado", "ada", "ido", "ble", "ante", "ente", "oso", "osa", "ista")
# Whole texts that say "wrong number" in one word.
_WRONG_WHOLE = frozenset(_p("equivocado, equivocada, equivocados, se equivoco, se equivocaron, wrong person"))
# (words before a name, endings no name has, how many words the name may have): "this isn't Maria
# Lopez", but only "I don't know any Maria" ("I don't know any other way").
_NAME_INTROS = (
    *(
        (intro, _EN_NOT_NAME_ENDINGS, 2)
        for intro in _p("this isnt, this aint, this number isnt, my name isnt")
    ),
    *((intro, _EN_NOT_NAME_ENDINGS, 1) for intro in _p("dont know a, dont know any")),
    *(
        (intro, _ES_NOT_NAME_ENDINGS, 2)
        for intro in _p("no soy, yo no soy, mi nombre no es, esta no es, este no es, aqui no es")
    ),
    *((intro, _ES_NOT_NAME_ENDINGS, 1) for intro in _p("no conozco a")),
)
# "I'm not Maria" only counts beside "who is this": "I'm not pregnant" is not about a wrong number.
_IM_NOT = ("im", "not")
_WHO_ARE_YOU = _p(
    "who is this, whos this, who this, who are you, quien es, quien eres, quien habla, "
    "dont know who this is, dont know you"
)
_AFTER_NAME = _set(
    "wrong sorry who whos lol please stop you your its this i im no here phone number cell "
    "celular numero anymore dont never and so thanks gracias por perdon disculpe"
)
_MISDIRECT_VERBS = _set(
    "gave give given put wrote write listed entered typed texted sent send called "
    "dialed dialled messaged used had have got mixed"
)
_MISDIRECT_SKIP = _set("have must might may probably accidentally just mistakenly think guess")
_FIRST_PERSON = frozenset({"i", "ive", "im", "id", "we"})


def _is_wrong_number(text: _Words) -> bool:
    if _strip_polite(text.words) in _WRONG_WHOLE:
        return True
    for phrase in _WRONG_ANYWHERE:
        for at in text.find(phrase):
            if phrase[0] != "wrong" or not _sender_misdirected(text.words, at):
                return True
    intros = _NAME_INTROS + (((_IM_NOT, _EN_NOT_NAME_ENDINGS, 2),) if text.has(_WHO_ARE_YOU) else ())
    return any(
        _names_someone(text.words, at + len(intro), endings, longest)
        for intro, endings, longest in intros
        for at in text.find(intro)
    )


def _sender_misdirected(words: tuple[str, ...], wrong_at: int) -> bool:
    """ "I gave you the wrong number", "did I text the wrong person", "is this the wrong number":
    the sender is not telling us that we reached someone else."""
    window = words[max(0, wrong_at - 6) : wrong_at]
    if window[-3:] in (("is", "this", "the"), ("is", "this", "a")):
        return True
    verbs = [i for i, w in enumerate(window) if w in _MISDIRECT_VERBS]
    if not verbs:
        return False
    j = verbs[-1] - 1
    while j >= 0 and window[j] in _MISDIRECT_SKIP:
        j -= 1
    return j >= 0 and window[j] in _FIRST_PERSON


def _names_someone(words: tuple[str, ...], start: int, endings: tuple[str, ...], longest: int) -> bool:
    """Whether a name (up to `longest` words) starts at `start` and ends the text or is followed by a word
    that goes with a wrong number ("this isn't Maria", "no soy Maria Lopez, perdon")."""
    for length in range(1, longest + 1):
        name = words[start : start + length]
        if len(name) < length or any(w in _NOT_A_NAME or w.isdigit() or w.endswith(endings) for w in name):
            return False
        follow = start + length
        if follow == len(words) or words[follow] in _AFTER_NAME:
            return True
    return False


# --- Unclear requests ----------------------------------------------------------------------------

_CUES = _p(
    "stop, stopall, quit, cancel, halt, cease, pause, unsubscribe, optout, revoke, remove, "
    "delete, block, no more, dont want, dont need, dont send, dont text, nolonger, too many, "
    "fewer, parar, pare, paren, detener, detengan, cancelar, cancelen, baja, no mas, no quiero, "
    "dejen de, deja de, dejo de, dejar de, eliminar, eliminen, quitar, quiten, borrar, borren, "
    "sacar, saquen, suspender, demasiados"
)
# Clear about messages even inside a longer text: a person decides ("stop texting me, who is this?").
_STRONG_CUES = _p(
    "unsubscribe, optout, revoke, remove me, remove my number, take me off, take my number "
    "off, opt me out, stop texting, stop messaging, stop sending, stop contacting, dont "
    "text me, dont contact me, dont message me, dont send me, darme de baja, dar de baja, "
    "dejen de enviarme, dejen de mandarme, dejen de escribirme, no me manden, no me "
    "envien, no me escriban"
)
_MESSAGING = _set(
    "texts text messages message sms reminders reminder notifications notification alerts "
    "emails email calls texting messaging sending contacting list subscription mensajes "
    "textos texto recordatorios recordatorio notificaciones correos llamadas lista enviarme "
    "mandarme escribirme contactarme suscripcion receiving getting"
)
# A cue within this many words of a messaging word is about messages.
_NEAR = 5
# "can't stop", "won't stop", "no puedo parar": a symptom or a feeling, not a request.
_MODAL_NEGATIONS = _set("cant couldnt wont wouldnt doesnt didnt dont never puedo puede podia")
# "make it stop", "I want everything to stop", "the pain to stop", "que todo pare".
_FEELING_SUBJECTS = _set(
    "it everything all pain nausea headache thoughts feeling feelings voices vomiting "
    "shaking crying spinning world life noise todo dolor nausea pensamientos mareo"
)
_LEADING_CUES = frozenset({"stop", "stopall", "quit", "unsubscribe", "optout", "revoke", "parar", "alto"})
_AFTER_LEADING_CUE = _set(
    "it this that who whos why what how i im id ive you your we they its wrong not "
    "no and ok lol omg damn already quien porque que por ya"
)


def _describes_a_feeling(words: tuple[str, ...], at: int, length: int) -> bool:
    """Whether the cue at words[at : at + length] describes a symptom or a feeling ("can't stop",
    "make it stop", "stop shaking") rather than asking for something."""
    before = words[max(0, at - 3) : at]
    if before and before[-1] in _MODAL_NEGATIONS:
        return True
    if any(w in _FEELING_SUBJECTS for w in before):
        return True
    after = words[at + length : at + length + 1]
    return bool(after) and after[0].endswith("ing") and after[0] not in _MESSAGING


def _is_unclear_request(text: _Words) -> bool:
    """A strong cue ("unsubscribe", "stop texting") anywhere, or another cue ("stop", "no more") within
    _NEAR words of a word about messages ("reminders"), or a leading "stop" followed by more."""
    words = text.words
    # How many words about messages come before each position, to ask "any near here?" in one step.
    seen = [0]
    for word in words:
        seen.append(seen[-1] + (word in _MESSAGING))
    for phrases, strong in ((_STRONG_CUES, True), (_CUES, False)):
        for phrase in phrases:
            for at in text.find(phrase):
                near = seen[min(len(words), at + len(phrase) + _NEAR)] - seen[max(0, at - _NEAR)]
                if (strong or near) and not _describes_a_feeling(words, at, len(phrase)):
                    return True
    rest = _strip_polite(words)
    return len(rest) > 1 and rest[0] in _LEADING_CUES and rest[1] in _AFTER_LEADING_CUE


def classify_keyword(text: str) -> str | None:
    """ "opt-out", "opt-in", "help", "tips-off", "tips-on", "unclear-revocation", "wrong-number", or None
    for anything else.

    A single keyword in any case with punctuation or spaces around it ("Stop.", " STOP ") counts, in
    English or Spanish (PARAR, ALTO, BAJA, CANCELAR; AYUDA for help). A plain-word request to stop
    messages is "opt-out" when it says nothing else, "unclear-revocation" (for a person) when it does.
    "yes" is reported as "opt-in": the caller decides whether it answers a question instead (it only
    opts in a patient who had opted out); "sí" is always an answer. TIPS OFF / TIPS ON (CONSEJOS NO /
    CONSEJOS SI, and plain words such as "stop tips" or "no más consejos") are about education texts
    only. A session cancellation ("cancel my
    appointment") is None: an ordinary message for the inbox.
    """
    words = tokens(text)
    if not words:
        return None
    keyword = _tips_keyword(words) or _single_keyword(words)
    if keyword is not None:
        return keyword
    indexed = _Words(words)
    if _is_wrong_number(indexed):
        return "wrong-number"
    if _is_plain_word_opt_out(words):
        return "opt-out"
    if _is_unclear_request(indexed):
        return "unclear-revocation"
    return None
