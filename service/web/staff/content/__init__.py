"""The Schedules and Templates pages (admins edit, everyone reads): one blueprint, its routes in
steps.py and templates.py."""

from __future__ import annotations

from . import steps, templates
from .shared import bp

__all__ = ["bp", "steps", "templates"]
