"""Waiting on what the interface shows, never on the clock alone."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from kcli.tui.screens.widgets import table_rows


async def wait_for(
    pilot: Pilot, predicate: Callable[[], object], timeout: float = 20.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # widgets not mounted yet: keep waiting
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.05)


def rows(pilot: Pilot, selector: str) -> list[list[str]]:
    """Plain text of a DataTable's rows on the current screen."""
    return table_rows(pilot.app.screen.query_one(selector, DataTable))


def column(pilot: Pilot, selector: str, index: int = 0) -> list[str]:
    return [r[index] for r in rows(pilot, selector)]


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body with asyncio.run (the suite has no asyncio pytest plugin).

    ``functools.wraps`` keeps the signature, so pytest still injects the fixtures.
    """

    @functools.wraps(test)
    def runner(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return runner
