"""The Jinja2 environment templates render in: immutable, bounded in size and in time.

Admins edit templates from the staff pages, so a template is untrusted code. Jinja's sandbox
already keeps it away from Python internals; this one also
- refuses to change what it is given (`clinic.update(...)` would change the context shared by
  every message: Jinja's ImmutableSandboxedEnvironment);
- refuses arithmetic whose result would be huge (`9**(9**8)` is minutes of CPU, `"x" * 10**9` a
  gigabyte): powers with an exponent over 64, products and repetitions over 100,000 units;
- caps `range()` at 10,000 items and stops a render that runs past its time budget. The clock is
  read at every call and every intercepted operator, which bounds nested loops:
  each inner loop is at most 10,000 steps between two readings.
"""

from __future__ import annotations

import contextvars
import math
import operator
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jinja2
import jinja2.sandbox

MAX_EXPONENT = 64
MAX_SIZE = 100_000
MAX_RANGE = 10_000
DEFAULT_BUDGET = 1.0  # seconds: a message renders in well under a millisecond

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("template_deadline", default=None)


class TemplateLimit(jinja2.sandbox.SecurityError):
    """A template asked for more than a message may take (size or time)."""


@contextmanager
def budget(seconds: float = DEFAULT_BUDGET) -> Iterator[None]:
    """Renders inside this block stop with TemplateLimit once `seconds` have passed."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimit("the template took too long to render")


def _size(value: Any) -> float:
    """How big a value is for the limits: its length for a sequence, its magnitude for a number."""
    if isinstance(value, str | bytes | list | tuple):
        return len(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return abs(value)
    return 0


def _power(left: Any, right: Any) -> Any:
    if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
        raise TemplateLimit(f"an exponent above {MAX_EXPONENT}")
    big_int = isinstance(left, int) and abs(left) > 1 and isinstance(right, int) and right > 0
    if big_int and math.log2(abs(left)) * right > 4096:
        raise TemplateLimit("a power with more than 4096 bits")
    return operator.pow(left, right)


def _times(left: Any, right: Any) -> Any:
    repeats_text = isinstance(left, str | bytes | list | tuple) or isinstance(
        right, str | bytes | list | tuple
    )
    if repeats_text and _size(left) * _size(right) > MAX_SIZE:
        raise TemplateLimit(f"a repetition longer than {MAX_SIZE}")
    ints = isinstance(left, int) and isinstance(right, int) and left != 0 and right != 0
    if ints and math.log2(abs(left)) + math.log2(abs(right)) > 4096:
        raise TemplateLimit("a product with more than 4096 bits")
    return operator.mul(left, right)


def _range(*args: int) -> range:
    _check_time()
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise TemplateLimit(f"a range of more than {MAX_RANGE} items")
    return items


class LimitedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded arithmetic, ranges and render time."""

    intercepted_binops = frozenset({"**", "*"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _range

    def call_binop(self, context: jinja2.runtime.Context, op: str, left: Any, right: Any) -> Any:
        _check_time()
        if op == "**":
            return _power(left, right)
        if op == "*":
            return _times(left, right)
        return super().call_binop(context, op, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        return super().call(__context, __obj, *args, **kwargs)
