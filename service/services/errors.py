"""Errors of the use-case layer; the web and CLI map them to 4xx answers and error lines."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the use-case errors."""


class InvalidInput(ServiceError):
    """Input refused; `errors` maps each field name to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(ServiceError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")
        self.what = what
        self.ident = ident


class Conflict(ServiceError):
    """The request is valid but not in the current state (e.g. rescheduling a cancelled session)."""
