"""Requests that wait for a partition to change: Kafka's DelayedOperation and its purgatory.

A delayed operation (a Fetch waiting for ``min_bytes``) watches the partitions it depends on.
Whatever changes a partition - an append, the high watermark moving, a leadership change - calls
``Partition.wake_fetchers``, which hands the change to each watcher *synchronously*, in the
appending request's own turn: the operation then runs its ``try_complete`` check (offsets and
positions only, never reading data) and either completes, waking the waiting request, or goes
on watching. So a consumer waiting for a megabyte costs a few comparisons per small append
instead of a re-read of every partition it asked for, and its data is read exactly once, when the
request completes (Kafka's DelayedFetch.tryComplete and DelayedOperationPurgatory.checkAndComplete).

The watchers plug into the partition's waiter set with the two methods ``wake_fetchers`` uses on
the futures it holds, ``done()`` and ``set_result()``, so acks=all produces waiting as futures and
delayed operations share one mechanism.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kcli.server.base.partition import Partition

log = logging.getLogger("kafka.server.DelayedOperationPurgatory")


class DelayedOperation:
    """Completes once :meth:`try_complete` says so after a watched partition changed, or when
    its time is up; :meth:`wait` returns then. Subclasses implement ``try_complete``."""

    __slots__ = ("_timer", "_watches", "future")

    def __init__(self, timeout_s: float):
        loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = loop.create_future()
        self._watches: list[_Watch] = []
        self._timer: asyncio.TimerHandle | None = loop.call_later(max(timeout_s, 0.0), self.force_complete)

    def try_complete(self) -> bool:
        """Whether the operation can complete now; called after each change of a watched
        partition, so it must be cheap and must not read data."""
        raise NotImplementedError

    def watch(self, partitions: Iterable[Partition]) -> None:
        for partition in partitions:
            w = _Watch(self, partition)
            self._watches.append(w)
            partition.add_waiter(w)  # type: ignore[arg-type]

    def force_complete(self) -> None:
        """Complete now (satisfied, expired or abandoned) and stop watching."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        watches, self._watches = self._watches, []
        for w in watches:
            w.partition.remove_waiter(w)  # type: ignore[arg-type]
        if not self.future.done():
            self.future.set_result(None)

    @property
    def completed(self) -> bool:
        return self.future.done()

    async def wait(self) -> None:
        try:
            await self.future
        finally:
            self.force_complete()


class _Watch:
    """One operation's entry in one partition's waiter set (a partition wakes and drops every
    entry on a change; an operation not yet satisfied puts its entry back)."""

    __slots__ = ("op", "partition")

    def __init__(self, op: DelayedOperation, partition: Partition):
        self.op = op
        self.partition = partition

    def done(self) -> bool:
        return self.op.future.done()

    def set_result(self, _result: object) -> None:
        op = self.op
        if op.future.done():
            return
        try:
            satisfied = op.try_complete()
        except Exception:  # never fail the append that woke us: complete, the request reports
            log.exception("Error checking a delayed operation; completing it")
            satisfied = True
        if satisfied:
            op.force_complete()
        else:
            self.partition.add_waiter(self)  # type: ignore[arg-type]
