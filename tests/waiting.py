"""Waiting on a condition with a deadline: the tests' one polling helper (never a sleep to synchronise).

Two shapes, because tests ask two questions:

- :func:`wait_until` answers "did it happen in time?" (``assert wait_until(lambda: ...)``);
- :func:`wait_for` returns what the check found and fails the test at the deadline, naming what
  was awaited and the last answer seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout_s: float = 30.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or the deadline passes; its last answer, as a bool."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy and return it; at the deadline raise
    AssertionError naming ``what`` and the last answer. An exception from ``check`` (a broker
    between states) counts as a falsy answer and is shown as the last one."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
