"""``wait_for``: poll a condition until it holds or a deadline passes (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["wait_for"]


def wait_for(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Return the first truthy value of ``predicate()``; AssertionError after ``timeout``
    seconds, naming the last value seen."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
        time.sleep(interval)
        last = predicate()
    return last
