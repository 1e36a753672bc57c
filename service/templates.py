"""Message templates in `messages/`: Jinja2 with StrictUndefined, per template and language.

Layout: `messages/<template>/<lang>/sms.txt` (discreet SMS), optional `sms.detailed.txt` (for
patients who agreed to detailed messages), `subject.txt`, `body.txt` and `body.html` (email).
Shared pieces live in `messages/_partials/`. A missing language falls back to the default one.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

SMS_FILES = ("sms.txt",)
EMAIL_FILES = ("subject.txt", "body.txt", "body.html")
_BLANK_RUNS = re.compile(r"\n{3,}")


class TemplateError(ValueError):
    """A template that cannot be used; the message starts with "file:line:"."""


@dataclass(frozen=True)
class Rendered:
    channel: str
    body: str
    subject: str | None = None
    html: str | None = None
    language: str = "en"
    source: str = ""


def _error_line(exc: BaseException, file: str) -> int | None:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(file) or frame.filename.endswith(Path(file).name):
            line = frame.lineno
    return line


def _clean_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


class MessageTemplates:
    """Finds and renders the templates of one `messages/` folder."""

    def __init__(self, folder: str | Path, default_language: str = "en") -> None:
        self.folder = Path(folder)
        self.default_language = default_language
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def names(self) -> list[str]:
        """Every template folder (those starting with "_" are shared pieces, not messages)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith("_"))

    def languages(self, template: str) -> list[str]:
        base = self.folder / template
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def has(self, template: str, channel: str, language: str | None = None, *, exact: bool = False) -> bool:
        """True when the template can be rendered for this channel in this language (or, unless
        `exact`, in the fallback language)."""
        lang = language or self.default_language
        if not exact:
            lang = self.resolve_language(template, lang)
        files = SMS_FILES if channel == "sms" else EMAIL_FILES
        return all((self.folder / template / lang / f).is_file() for f in files)

    def resolve_language(self, template: str, language: str) -> str:
        """The patient's language if the template has it, else the default language."""
        if (self.folder / template / language).is_dir():
            return language
        return self.default_language

    def _render_file(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{self.folder / name}: template not found") from exc
        except jinja2.TemplateError as exc:
            file = str(self.folder / name)
            inner = getattr(exc, "filename", None) or file
            line = _error_line(exc, inner)
            where = f"{inner}:{line}" if line else inner
            raise TemplateError(f"{where}: {exc.message or exc}") from exc
        except Exception as exc:  # a filter or value raised while rendering: still name the file
            file = str(self.folder / name)
            line = _error_line(exc, file)
            raise TemplateError(f"{file}:{line or '?'}: {type(exc).__name__}: {exc}") from exc

    def render(
        self,
        template: str,
        channel: str,
        language: str,
        context: dict[str, Any],
        *,
        detailed: bool = False,
    ) -> Rendered:
        """Render one message. Raises TemplateError naming file and line on any problem."""
        lang = self.resolve_language(template, language)
        base = f"{template}/{lang}"
        if channel == "sms":
            name = f"{base}/sms.txt"
            if detailed and (self.folder / base / "sms.detailed.txt").is_file():
                name = f"{base}/sms.detailed.txt"
            body = _clean_text(self._render_file(name, context))
            return Rendered("sms", body, language=lang, source=name)
        subject = " ".join(self._render_file(f"{base}/subject.txt", context).split())
        body = _clean_text(self._render_file(f"{base}/body.txt", context))
        html = self._render_file(f"{base}/body.html", context).strip()
        return Rendered("email", body, subject=subject, html=html, language=lang, source=base)
