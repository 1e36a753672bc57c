"""What the schedule-step and template pages share: their blueprint, the version a form was
based on, the history of an edit and the words of a rollback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from werkzeug.datastructures import MultiDict

from ....services.content import edits as content
from ....services.errors import InvalidInput
from ....services.views import content_pages
from ...access import services

bp = Blueprint("content", __name__)

# The key under which a failed rollback keeps its error for the page (common.kept_form).
ROLLBACK = "rollback:"
CONFLICT = "Someone else saved a newer version; reload the page and make your change again."


def base_version_of(data: MultiDict[str, str]) -> int | None:
    value = data.get("base_version", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def history_of(kind: str, name: str) -> list[dict[str, Any]]:
    entries = content.history(services(), kind, name)
    for entry in entries:
        entry["at"] = datetime.fromisoformat(entry["created_at"])
        entry["by"] = content_pages.who(entry["actor"])
    return entries


def read_version(data: MultiDict[str, str]) -> int:
    """The version a rollback form asks for. Raises InvalidInput."""
    value = data.get("version", "")
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput({"version": "choose a version from the history"})
    return int(value)


def rollback_reason(version: int) -> str:
    return "back to the shipped version" if version == 0 else f"back to version {version}"
