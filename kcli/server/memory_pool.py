"""``queued.max.request.bytes``: one budget for the bytes of requests received but not yet handled.

Kafka's SocketServer takes every request's buffer from a SimpleMemoryPool of that size (when it
is set; -1, the default, means no pool): a connection whose next request finds the pool empty is
muted (not read) until handled requests give their bytes back. Like Kafka's pool for requests it
is not strict: any request fits while the pool has a byte left, so one request larger than the
pool still gets through once the others are done, and a request never waits half-received.

kcli reserves the request's advertised size when its length prefix arrives, as Kafka does, but
(unlike Kafka) allocates memory only as the bytes come, so the budget bounds what clients may
make the broker hold, and a prefix alone costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable


class MemoryPool:
    def __init__(self, size: int):
        self.size = size
        self.available = size
        self._waiting: dict[int, Callable[[], None]] = {}

    def try_reserve(self, nbytes: int) -> bool:
        """Take ``nbytes`` if any memory is left (the pool may go below zero, as Kafka's does)."""
        if self.available <= 0:
            return False
        self.available -= nbytes
        return True

    def release(self, nbytes: int) -> None:
        self.available += nbytes
        while self.available > 0 and self._waiting:
            key = next(iter(self._waiting))
            self._waiting.pop(key)()

    def wait(self, key: int, wake: Callable[[], None]) -> None:
        """Call ``wake`` once memory is available again (in arrival order); ``key`` cancels it."""
        self._waiting[key] = wake

    def forget(self, key: int) -> None:
        self._waiting.pop(key, None)

    @property
    def waiting(self) -> int:
        return len(self._waiting)
