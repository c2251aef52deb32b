"""The classic group coordinator's timers on the event loop: each deadline is one handle.

Every deadline of the classic coordinator (session, rebalance, initial delay, pending member,
pending sync, offset retention) is a ``loop.call_later`` handle made here, so nothing blocks.
A callback that raises is logged and the broker keeps going; once the coordinator is closed
(shutdown, or it lost its partitions) no callback runs any more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")


class CoordinatorTimers:
    """Timer handles that stop firing once :attr:`closed` is set."""

    def __init__(self) -> None:
        self.closed = False

    @staticmethod
    def loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def later(self, delay_ms: int, callback: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
        return self.loop().call_later(max(delay_ms, 0) / 1000, self.guard, callback, args)

    def guard(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        """Timer callbacks must not raise into the loop; a bug is logged, the broker keeps going."""
        if self.closed:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("Group coordinator timer %s failed", getattr(callback, "__name__", callback))

    @staticmethod
    def cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()
