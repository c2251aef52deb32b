"""One partition as the broker serves it: its log, its leadership and the fetchers waiting on it.

Leadership (leader id, leader epoch, replicas, ISR) is a property of the partition, not of the
process, so the multi-broker issue can move it without touching the APIs. The high watermark is
kept apart from the log end offset for the same reason: on one broker it follows every append,
with replication it will follow the slowest in-sync replica.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from kcli.server.storage.partition_log import AppendResult, PartitionLog


@dataclass(eq=False)
class Partition:
    topic: str
    index: int
    topic_id: uuid.UUID
    log: PartitionLog
    leader: int
    replicas: list[int]
    isr: list[int]
    leader_epoch: int = 0
    _waiters: set[asyncio.Future[None]] = field(default_factory=set)

    def append(self, records: bytes, now_ms: int | None = None) -> AppendResult:
        """Append validated-by-storage batches; the high watermark follows on a single replica."""
        result = self.log.append(records, leader_epoch=self.leader_epoch, now_ms=now_ms)
        if not result.duplicate:
            self.advance_high_watermark()
        return result

    def advance_high_watermark(self) -> None:
        if len(self.isr) <= 1 and self.log.high_watermark != self.log.log_end_offset:
            self.log.high_watermark = self.log.log_end_offset
            self.wake_fetchers()

    def wake_fetchers(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def add_waiter(self, fut: asyncio.Future[None]) -> None:
        self._waiters.add(fut)

    def remove_waiter(self, fut: asyncio.Future[None]) -> None:
        self._waiters.discard(fut)
