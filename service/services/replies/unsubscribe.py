"""One-click unsubscribe from education email (RFC 8058): signed links, and the opt-out they make.

The link carries an opaque token: the patient's id signed with INTERLUDE_SECRET_KEY. It never
expires (an unsubscribe link must keep working long after the email was sent) and it survives
restarts, which is why a real secret key is required once email really leaves (bootstrap refuses
`[email] transport = "smtp"` without one): a per-process random key would break every link in
every email already sent at the next restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, select

from ...config import Config
from ...db.engine import reader
from ...db.tables import patients
from ...domain.consent import allows
from ...runtime import Interlude
from .. import consent

_SALT = "interlude.email-unsubscribe.v1"
PATH = "/email/unsubscribe/"
LABELS = {
    "en": "Unsubscribe from these educational emails",
    "es": "Darse de baja de estos correos educativos",
}


def _signer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def make_token(secret_key: str, patient_id: int) -> str:
    """The opaque token naming this patient's education-email subscription."""
    return str(_signer(secret_key).dumps(patient_id))


def read_token(secret_key: str | None, token: str) -> int | None:
    """The patient id a token names, or None when it is forged, damaged or no key is set."""
    if not secret_key or len(token) > 200:
        return None
    try:
        value = _signer(secret_key).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Link:
    url: str
    mailto: str
    label: str


class UnsubscribeLinks:
    """Builds each education email's unsubscribe link, labelled in the patient's language."""

    def __init__(self, config: Config, engine: Engine) -> None:
        if not config.secrets.secret_key:
            raise ValueError("INTERLUDE_SECRET_KEY is required to sign unsubscribe links")
        self.secret_key = config.secrets.secret_key
        self.base = config.web.public_base_url.rstrip("/")
        self.mailbox = config.smtp.education_from
        self.default_language = config.messages.default_language
        self.engine = engine

    def __call__(self, patient_id: int) -> Link:
        token = make_token(self.secret_key, patient_id)
        with reader(self.engine).connect() as conn:
            language = conn.execute(select(patients.c.language).where(patients.c.id == patient_id)).scalar()
        label = LABELS.get(language or "", LABELS.get(self.default_language, LABELS["en"]))
        address = parseaddr(self.mailbox)[1]
        return Link(
            url=f"{self.base}{PATH}{token}",
            mailto=f"mailto:{address}?subject={quote('unsubscribe ' + token)}",
            label=label,
        )


def unsubscribe(app: Interlude, token: str, now: datetime | None = None) -> str | None:
    """Opt the token's patient out of education email, once.

    Returns "unsubscribed", "already" (nothing new recorded), or None for a token that is not ours.
    """
    patient_id = read_token(app.config.secrets.secret_key, token)
    if patient_id is None:
        return None
    now = now or app.clock()
    with app.engine.begin() as conn:
        if conn.execute(select(patients.c.id).where(patients.c.id == patient_id)).first() is None:
            return None
        if not allows(consent.events(conn, patient_id), "email", "education"):
            return "already"
        consent.record(
            conn,
            patient_id=patient_id,
            channel="email",
            purpose="education",
            action="opt_out",
            source="email-link",
            now=now,
        )
    return "unsubscribed"


def is_valid(app: Interlude, token: str) -> bool:
    """True when the token is ours and names a patient (for the confirmation page; it changes nothing)."""
    patient_id = read_token(app.config.secrets.secret_key, token)
    if patient_id is None:
        return False
    with app.reader.connect() as conn:
        return conn.execute(select(patients.c.id).where(patients.c.id == patient_id)).first() is not None
