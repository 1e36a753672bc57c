"""Errors raised by the pure domain."""


class DomainError(ValueError):
    """Bad input to a domain rule; the message names what is wrong."""
