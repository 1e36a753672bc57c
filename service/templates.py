"""Message templates in `messages/`: Jinja2 with StrictUndefined, per template and language.

Layout: `messages/<template>/<lang>/sms.txt` (discreet SMS), optional `sms.detailed.txt` (for
patients who agreed to detailed messages), `subject.txt`, `body.txt` and `body.html` (email).
Shared pieces live in `messages/_partials/`. A missing language falls back to the default one.

Edits saved in the staff pages are overlays: "<template>/<lang>/<file>" -> text, used in place
of (or in addition to) the shipped file, which is never written. Errors in an edited file say
"file:line (edited)".
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .domain.tips_line import sms_with_line
from .template_sandbox import LimitedSandbox, budget

SMS_FILES = ("sms.txt",)
EMAIL_FILES = ("subject.txt", "body.txt", "body.html")
ALL_FILES = ("sms.txt", "sms.detailed.txt", "subject.txt", "body.txt", "body.html")
_BLANK_RUNS = re.compile(r"\n{3,}")
EDITED = " (edited)"


class TemplateError(ValueError):
    """A template that cannot be used; the message starts with "file:line:".

    `name` is the template file it is about ("prep_ahead/en/sms.txt") and `line` its line, when known.
    """

    def __init__(self, message: str, *, name: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.line = line


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


def _where(display: str, line: int | str | None) -> str:
    """ "file:line", or "file:line (edited)" for an overlay's display name."""
    suffix = ""
    if display.endswith(EDITED):
        display, suffix = display[: -len(EDITED)], EDITED
    return f"{display}:{line}{suffix}" if line else f"{display}{suffix}"


class _OverlayLoader(jinja2.BaseLoader):
    """Edited texts by template name; each is compiled under its display name so that tracebacks
    (and so error lines) point at it."""

    def __init__(self, texts: Mapping[str, str], display: Callable[[str], str]) -> None:
        self.texts = dict(texts)
        self.display = display

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if template not in self.texts:
            raise jinja2.TemplateNotFound(template)
        return self.texts[template], self.display(template), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.texts)


def _clean_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


class MessageTemplates:
    """Finds and renders the templates of one `messages/` folder, with optional edited overlays.

    An instance never changes: new edits make a new instance (see runtime.Interlude.refresh_content).
    """

    def __init__(
        self, folder: str | Path, default_language: str = "en", overlays: Mapping[str, str] | None = None
    ) -> None:
        self.folder = Path(folder)
        self.default_language = default_language
        self.overlays: dict[str, str] = dict(overlays or {})
        # What the folder holds, looked up once per path: the dispatcher asks for every message,
        # and the shipped files change only with a deploy (edits come as a new set of overlays).
        self._disk: dict[tuple[str, bool], bool] = {}
        # Sandboxed: admins edit templates from the staff pages, and a template must never
        # reach Python internals (`{{ x.__class__ }}`, unsafe methods), change its context, or
        # spend the process's time and memory, whoever wrote it.
        self.env = LimitedSandbox(
            loader=jinja2.ChoiceLoader(
                [
                    _OverlayLoader(self.overlays, self.display),
                    jinja2.FileSystemLoader(str(self.folder)),
                ]
            ),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def display(self, path: str) -> str:
        """The file's path as errors name it; an edited file's ends in " (edited)"."""
        return str(self.folder / path) + (EDITED if path in self.overlays else "")

    def where(self, path: str, line: int | str | None) -> str:
        """ "file:line" for a problem in `path` ("prep_ahead/en/sms.txt")."""
        return _where(self.display(path), line)

    def exists(self, path: str) -> bool:
        return path in self.overlays or self._on_disk(path, folder=False)

    def _on_disk(self, path: str, *, folder: bool) -> bool:
        """True when the folder holds `path` as a file (or, with `folder`, as a folder)."""
        key = (path, folder)
        found = self._disk.get(key)
        if found is None:
            target = self.folder / path
            found = self._disk[key] = target.is_dir() if folder else target.is_file()
        return found

    def is_edited(self, path: str) -> bool:
        """True when an edit saved in the database replaces (or adds) this file."""
        return path in self.overlays

    def source(self, path: str) -> str:
        """The text in effect for `path`: the edit if there is one, else the file.
        Raises TemplateError when there is neither."""
        if path in self.overlays:
            return self.overlays[path]
        try:
            return (self.folder / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"{self.folder / path}: cannot read: {exc}", name=path) from exc

    def _edited_parts(self, depth: int) -> list[list[str]]:
        return [p.split("/") for p in self.overlays if p.count("/") >= depth]

    def names(self) -> list[str]:
        """Every template folder (those starting with "_" are shared pieces, not messages)."""
        found = {p[0] for p in self._edited_parts(2)}
        if self.folder.is_dir():
            found.update(p.name for p in self.folder.iterdir() if p.is_dir())
        return sorted(n for n in found if not n.startswith("_"))

    def languages(self, template: str) -> list[str]:
        base = self.folder / template
        found = {p[1] for p in self._edited_parts(2) if p[0] == template}
        if base.is_dir():
            found.update(p.name for p in base.iterdir() if p.is_dir())
        return sorted(found)

    def files(self, template: str) -> list[str]:
        """Every file of the template in effect, as "<template>/<lang>/<file>"."""
        found = {p for p in self.overlays if p.startswith(f"{template}/") and p.count("/") == 2}
        for lang in self.languages(template):
            folder = self.folder / template / lang
            if folder.is_dir():
                found.update(f"{template}/{lang}/{f.name}" for f in folder.iterdir() if f.is_file())
        return sorted(found)

    def has(self, template: str, channel: str, language: str | None = None, *, exact: bool = False) -> bool:
        """True when the template can be rendered for this channel in this language (or, unless
        `exact`, in the fallback language)."""
        lang = language or self.default_language
        if not exact:
            lang = self.resolve_language(template, lang)
        files = SMS_FILES if channel == "sms" else EMAIL_FILES
        return all(self.exists(f"{template}/{lang}/{f}") for f in files)

    def resolve_language(self, template: str, language: str) -> str:
        """The patient's language if the template has it, else the default language."""
        if self._on_disk(f"{template}/{language}", folder=True) or any(
            p.startswith(f"{template}/{language}/") for p in self.overlays
        ):
            return language
        return self.default_language

    def _failure(self, name: str, exc: Exception) -> TemplateError:
        """A TemplateError naming the file and line where `exc` happened (rendering `name`)."""
        if isinstance(exc, jinja2.TemplateNotFound):
            return TemplateError(f"{self.folder / name}: template not found", name=name)
        file = self.display(name)
        if isinstance(exc, jinja2.TemplateError):
            inner = getattr(exc, "filename", None) or file
            line = _error_line(exc, inner)
            inner_name = getattr(exc, "name", None) or name
            return TemplateError(f"{_where(inner, line)}: {exc.message or exc}", name=inner_name, line=line)
        # a filter or value raised while rendering: still name the file
        line = _error_line(exc, file)
        message = f"{_where(file, line or '?')}: {type(exc).__name__}: {exc}"
        return TemplateError(message, name=name, line=line)

    def compile(self, name: str) -> None:
        """Parse one file. Raises TemplateError naming file and line on a syntax error."""
        try:
            self.env.get_template(name)
        except Exception as exc:  # anything jinja raises while loading: name the file
            raise self._failure(name, exc) from exc

    def _render_file(self, name: str, context: dict[str, Any]) -> str:
        try:
            with budget():
                return self.env.get_template(name).render(context)
        except Exception as exc:  # a filter or value may raise anything: still name the file
            raise self._failure(name, exc) from exc

    def render(
        self,
        template: str,
        channel: str,
        language: str,
        context: dict[str, Any],
        *,
        detailed: bool = False,
        category: str | None = None,
    ) -> Rendered:
        """Render one message. Raises TemplateError naming file and line on any problem.

        `category` is the message's (its step's): an education SMS ends with the TIPS OFF line
        when it fits (domain.tips_line), so the check and the previews show what is sent."""
        lang = self.resolve_language(template, language)
        base = f"{template}/{lang}"
        if channel == "sms":
            name = f"{base}/sms.txt"
            if detailed and self.exists(f"{base}/sms.detailed.txt"):
                name = f"{base}/sms.detailed.txt"
            body = sms_with_line(_clean_text(self._render_file(name, context)), lang, category)
            return Rendered("sms", body, language=lang, source=name)
        subject = " ".join(self._render_file(f"{base}/subject.txt", context).split())
        body = _clean_text(self._render_file(f"{base}/body.txt", context))
        html = self._render_file(f"{base}/body.html", context).strip()
        return Rendered("email", body, subject=subject, html=html, language=lang, source=base)
