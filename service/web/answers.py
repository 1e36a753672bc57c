"""/r/<token>: the one-tap answer links of check-in and clearance questions sent by email.

GET only shows the question with a button per answer: mail scanners and previews open every
link in an email, so opening one must record nothing. The button POSTs to the link of its
answer; the signed token is what authorises it (no cookie, no login), and an answer counts once.
A link that is not ours, damaged, made for another purpose or past its window gets a page that
says so, with the clinic's number and 911 and 988, never an error.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from markupsafe import escape

from ..services.replies.answer_links import PATH, Use, answer, look
from ..template_context import display_phone
from .access import services

bp = Blueprint("answers", __name__)

# Answers a minute per client: far above what a patient taps, low enough that a flood of forged
# tokens cannot keep the web process busy. Counted in each process's memory.
ANSWERS_PER_CLIENT = "30/minute"

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your answer",
        "checkin": "How are you after your visit? Tap the answer that fits.",
        "scale": "How are you feeling, from {low} (very bad) to {high} (very good)?",
        "clearance": "Is your ride home arranged, and can you follow the food and drink times?",
        "confirmation": "Please confirm.",
        "visit": "About your visit on {date}.",
        "tapped": "You chose: {label}. Press the button to send your answer.",
        "send": "Send",
        "other": "Or choose another answer:",
        "recorded": "Thank you: your answer is recorded.",
        "already": "Your answer to this question is already recorded. Nothing more is needed here.",
        "closed": "This question is closed and the link no longer works.",
        "invalid": "This link is not valid.",
        "call": "Please call us at {phone} (after hours: {after}).",
        "safety": "In an emergency call {emergency}. If you are thinking about harming yourself, call or text {crisis}, any time.",
    },
    "es": {
        "title": "Su respuesta",
        "checkin": "¿Cómo está tras la visita? Pulse la respuesta que corresponda.",
        "scale": "¿Cómo se siente, de {low} (muy mal) a {high} (muy bien)?",
        "clearance": "¿Tiene organizado quién le lleva a casa y puede cumplir los horarios de comida y bebida?",
        "confirmation": "Por favor, confirme.",
        "visit": "Sobre su visita del {date}.",
        "tapped": "Ha elegido: {label}. Pulse el botón para enviar su respuesta.",
        "send": "Enviar",
        "other": "O elija otra respuesta:",
        "recorded": "Gracias: hemos recibido su respuesta.",
        "already": "Ya tenemos su respuesta a esta pregunta. No necesita hacer nada más aquí.",
        "closed": "Esta pregunta ya está cerrada y el enlace ya no funciona.",
        "invalid": "Este enlace no es válido.",
        "call": "Llámenos al {phone} (fuera de horario: {after}).",
        "safety": "En una emergencia llame al {emergency}. Si piensa en hacerse daño, llame o envíe un mensaje de texto al {crisis}, a cualquier hora.",
    },
}

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{clinic}: {title}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222">
<h1 style="font-size:1.3rem">{clinic}</h1>
{content}
<p style="color:#555;font-size:.9rem">{call}<br>{safety}</p>
</body></html>"""
_BUTTON = (
    '<form method="post" action="{action}" style="margin:.5rem 0"><button type="submit" '
    'style="font-size:1rem;padding:.6rem 1rem;width:100%;text-align:left{weight}">{label}</button></form>'
)
_STATUS = {"open": 200, "recorded": 200, "already": 200, "closed": 410, "invalid": 400}


def _words(use: Use) -> dict[str, str]:
    return _WORDS.get(use.language, _WORDS["en"])


def _page(use: Use, content: str) -> Response:
    config = services().config
    words = _words(use)
    clinic = config.clinic
    html = _PAGE.format(
        lang=escape(use.language if use.language in _WORDS else "en"),
        clinic=escape(clinic.name),
        title=escape(words["title"]),
        content=content,
        call=escape(
            words["call"].format(
                phone=display_phone(clinic.phone), after=display_phone(clinic.after_hours_phone)
            )
        ),
        safety=escape(words["safety"].format(emergency=clinic.emergency, crisis=clinic.crisis)),
    )
    return credential_page(html, _STATUS[use.status])


def credential_page(html: str, status: int) -> Response:
    """A patient page whose URL is its credential (an answer link, a questionnaire link): never
    cached, never sent on as a referrer, never framed (another site must not trick a tap on a
    button), and nothing loaded from anywhere."""
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    )
    return response


def _question(use: Use) -> str:
    words = _words(use)
    if use.scale is not None:
        text = words["scale"].format(low=use.scale[0], high=use.scale[1])
    else:
        text = words.get(use.kind, words["checkin"])
    parts = [f"<p><strong>{escape(text)}</strong></p>"]
    if use.session_date:
        parts.append(f"<p>{escape(words['visit'].format(date=use.session_date))}</p>")
    return "".join(parts)


def _ask(use: Use) -> str:
    words = _words(use)
    tapped = next((c for c in use.choices if c[2]), None)
    parts = [_question(use)]
    if tapped is not None:
        parts.append(f"<p>{escape(words['tapped'].format(label=tapped[0]))}</p>")
        parts.append(_button(tapped[1], f"{words['send']}: {tapped[0]}", strong=True))
        parts.append(f"<p>{escape(words['other'])}</p>")
    parts.extend(_button(token, label) for label, token, chosen in use.choices if not chosen)
    return "".join(parts)


def _button(token: str, label: str, strong: bool = False) -> str:
    return _BUTTON.format(
        action=escape(PATH + token), label=escape(label), weight=";font-weight:bold" if strong else ""
    )


def _outcome(use: Use) -> str:
    words = _words(use)
    if use.status == "recorded":
        reply = f"<p>{escape(use.reply)}</p>" if use.reply else ""
        return f"<p><strong>{escape(words['recorded'])}</strong></p>{reply}"
    return f"<p><strong>{escape(words[use.status])}</strong></p>"


@bp.get(PATH + "<token>")
def show(token: str) -> Any:
    use = look(services(), token)
    return _page(use, _ask(use) if use.status == "open" else _outcome(use))


@bp.post(PATH + "<token>")
def record(token: str) -> Any:
    return _page(use := answer(services(), token), _outcome(use))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", default_limits=[])
    view: Any = app.view_functions["answers.record"]
    app.view_functions["answers.record"] = limiter.limit(ANSWERS_PER_CLIENT, scope="answer-links")(view)
