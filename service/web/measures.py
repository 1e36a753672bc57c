"""/q/<token>: the questionnaire (PHQ-9, GAD-7, PCL-5) a measure step's link opens.

One accessible form (a fieldset with a radio group per item), no login, no outside assets, in
the patient's language. GET shows it with the answers saved so far and records nothing (link
scanners open every link); each POST saves what was answered, and the last one shows the
score. PHQ-9 item 9 above 0 shows 988 and 911 at once. A forged link gets 403, an expired one
410, with the clinic's number; never an error.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from markupsafe import escape

from ..services.measures import PATH, Page, look, submit
from ..template_context import display_phone
from .access import services
from .answers import credential_page

bp = Blueprint("measures", __name__)

SUBMITS_PER_CLIENT = "30/minute"

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Questionnaire",
        "intro": "Your care team asked you to fill in this short questionnaire. Your answers are saved each time you press Save, so you can come back to this link later.",
        "item": "Question {n} of {count}",
        "save": "Save my answers",
        "saved": "Your answers so far are saved. Please answer the questions that are left.",
        "errors": "Some answers could not be read: please choose one option for each question marked.",
        "completed": "Thank you: your answers are recorded.",
        "score": "Your {name} score: {total} of {max} ({band}). Your care team will go over it with you.",
        "expired": "This link has expired. Please call us if you would like to fill in the questionnaire.",
        "invalid": "This link is not valid.",
        "english_only": "",
        "urgent": "If you are thinking about hurting yourself, please reach out now: call or text {crisis} (Suicide and Crisis Lifeline), any time. In an emergency call {emergency}. We have let your care team know.",
        "call": "Please call us at {phone} (after hours: {after}).",
        "safety": "In an emergency call {emergency}. If you are thinking about harming yourself, call or text {crisis}, any time.",
    },
    "es": {
        "title": "Cuestionario",
        "intro": "Su equipo de atención le pidió completar este breve cuestionario. Sus respuestas se guardan cada vez que pulsa Guardar, así que puede volver a este enlace más tarde.",
        "item": "Pregunta {n} de {count}",
        "save": "Guardar mis respuestas",
        "saved": "Hemos guardado sus respuestas. Por favor, conteste las preguntas que faltan.",
        "errors": "No pudimos leer algunas respuestas: elija una opción en cada pregunta marcada.",
        "completed": "Gracias: hemos recibido sus respuestas.",
        "score": "Su puntuación {name}: {total} de {max} ({band}). Su equipo de atención la revisará con usted.",
        "expired": "Este enlace ha caducado. Llámenos si desea completar el cuestionario.",
        "invalid": "Este enlace no es válido.",
        "english_only": "Este cuestionario solo está disponible en inglés.",
        "urgent": "Si piensa en hacerse daño, busque ayuda ahora: llame o envíe un mensaje de texto al {crisis} (Línea de Prevención del Suicidio y Crisis), a cualquier hora. En una emergencia llame al {emergency}. Hemos avisado a su equipo de atención.",
        "call": "Llámenos al {phone} (fuera de horario: {after}).",
        "safety": "En una emergencia llame al {emergency}. Si piensa en hacerse daño, llame o envíe un mensaje de texto al {crisis}, a cualquier hora.",
    },
}
_BANDS_ES = {
    "minimal": "mínima",
    "mild": "leve",
    "moderate": "moderada",
    "moderately severe": "moderadamente grave",
    "severe": "grave",
    "below cut point": "por debajo del punto de corte",
    "probable PTSD": "probable TEPT",
}
_STATUS = {"open": 200, "saved": 200, "completed": 200, "expired": 410, "invalid": 403}

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{clinic}: {title}</title>
<style>body{{font-family:Arial,Helvetica,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}}
fieldset{{border:1px solid #767676;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}}legend{{font-weight:bold;padding:0 .3rem}}
label{{display:block;padding:.45rem 0;min-height:24px}}input[type=radio]{{width:24px;height:24px;vertical-align:middle;margin-right:.5rem}}
.err{{border:2px solid #b00020}}.urgent{{border:3px solid #b00020;padding:1rem;font-size:1.1rem}}
button{{font-size:1rem;padding:.7rem 1rem;width:100%}}:focus{{outline:3px solid #1a1a8c;outline-offset:2px}}</style></head>
<body><h1 style="font-size:1.3rem">{clinic}</h1>
{content}
<p style="color:#555;font-size:.9rem">{call}<br>{safety}</p>
</body></html>"""


def _words(page: Page) -> dict[str, str]:
    return _WORDS.get(page.language, _WORDS["en"])


def _render(page: Page, token: str) -> Response:
    config = services().config
    clinic = config.clinic
    words = _words(page)
    parts = []
    if "item9" in page.flags:
        urgent = words["urgent"].format(crisis=clinic.crisis, emergency=clinic.emergency)
        parts.append(f'<p class="urgent" role="alert"><strong>{escape(urgent)}</strong></p>')
    if page.status in ("open", "saved"):
        parts.append(_form(page, token))
    elif page.status == "completed":
        parts.append(f"<p><strong>{escape(words['completed'])}</strong></p>")
        if page.instrument is not None and page.total is not None:
            band = page.band or ""
            if page.language == "es":
                band = _BANDS_ES.get(band, band)
            score = words["score"].format(
                name=page.instrument.name, total=page.total, max=page.instrument.max_total, band=band
            )
            parts.append(f"<p>{escape(score)}</p>")
    else:
        parts.append(f"<p><strong>{escape(words[page.status])}</strong></p>")
    html = _PAGE.format(
        lang=escape(page.language),
        clinic=escape(clinic.name),
        title=escape(words["title"]),
        content="".join(parts),
        call=escape(
            words["call"].format(
                phone=display_phone(clinic.phone), after=display_phone(clinic.after_hours_phone)
            )
        ),
        safety=escape(words["safety"].format(emergency=clinic.emergency, crisis=clinic.crisis)),
    )
    return credential_page(html, _STATUS[page.status])


def _form(page: Page, token: str) -> str:
    instrument = page.instrument
    assert instrument is not None
    words = _words(page)
    lang = instrument.language_for(page.language)
    items = instrument.items[lang]
    parts = [f'<h2 style="font-size:1.15rem">{escape(instrument.name)}</h2>']
    if lang != page.language and words["english_only"]:
        parts.append(
            f'<p lang="{escape(page.language)}"><strong>{escape(words["english_only"])}</strong></p>'
        )
    parts.append(f"<p>{escape(words['intro'])}</p>")
    if page.status == "saved":
        parts.append(f'<p role="status">{escape(words["saved"])}</p>')
    if page.errors:
        parts.append(f'<p role="alert">{escape(words["errors"])}</p>')
    parts.append(f'<form method="post" action="{escape(PATH + token)}" lang="{escape(lang)}">')
    parts.append(f"<p><strong>{escape(instrument.stem[lang])}</strong></p>")
    for n, text in enumerate(items, 1):
        bad = f"item{n}" in page.errors
        heading = words["item"].format(n=n, count=len(items))
        err = ' class="err"' if bad else ""
        parts.append(f"<fieldset{err}><legend>{escape(heading)}: {escape(text)}</legend>")
        for value, label in enumerate(instrument.options[lang]):
            ident = f"i{n}v{value}"
            checked = " checked" if page.answers.get(n) == value else ""
            parts.append(
                f'<label for="{ident}"><input type="radio" id="{ident}" name="item{n}" '
                f'value="{value}"{checked}>{escape(label)}</label>'
            )
        parts.append("</fieldset>")
    parts.append(f'<button type="submit">{escape(words["save"])}</button></form>')
    return "".join(parts)


@bp.get(PATH + "<token>")
def show(token: str) -> Any:
    return _render(look(services(), token), token)


@bp.post(PATH + "<token>")
def record(token: str) -> Any:
    form = {k: v for k, v in request.form.items() if isinstance(v, str) and len(v) <= 4}
    return _render(submit(services(), token, form), token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", default_limits=[])
    view: Any = app.view_functions["measures.record"]
    app.view_functions["measures.record"] = limiter.limit(SUBMITS_PER_CLIENT, scope="measure-links")(view)
