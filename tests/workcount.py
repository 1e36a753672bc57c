"""Work counted, not timed: the number of function calls a pure function makes for one input.

The count is the same on every run and on every machine, busy or idle, so a test can say
"an adversarial body costs at most a few times an ordinary one" and "ten times the text costs
about ten times the work" without a clock. Seconds are measured by `make bench`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any


def calls_made(function: Callable[[str], Any], text: str) -> int:
    """Python and C function calls made while `function(text)` runs (the call itself included)."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        function(text)
    finally:
        sys.setprofile(previous)
    return count
