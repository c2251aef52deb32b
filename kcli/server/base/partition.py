"""One partition as the broker serves it: its log, its leadership and the fetchers waiting on it.

Leadership (leader id, leader epoch, replicas, ISR) is a property of the partition, not of the
process: the controller moves it and the broker applies it here. As leader, the partition tracks
each follower's log end offset from the offsets its followers fetch at, advances the high
watermark to the smallest log end offset in the ISR, and proposes ISR changes (a follower that
caught up joins, one that lags for ``replica.lag.time.max.ms`` leaves). With a single replica the
high watermark simply follows every append.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.storage.partition_log import AppendResult, PartitionLog

NO_LEADER = -1


@dataclass
class FollowerState:
    log_end_offset: int = -1
    caught_up_at: float = 0.0  # monotonic time the follower was last known to be caught up
    last_fetch_leader_leo: int = -1
    last_fetch_at: float = 0.0
    log_start_offset: int = -1  # as the follower last reported it (-1: not yet known)


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
    partition_epoch: int = 0
    local_id: int | None = None  # this broker's id; None = single broker, always the leader
    min_isr: int = 1
    propose_isr: Callable[[Partition, list[int]], None] | None = None
    followers: dict[int, FollowerState] = field(default_factory=dict)
    pending_isr: list[int] | None = None
    _waiters: set[asyncio.Future[None]] = field(default_factory=set)
    # Held by a follower's write (which may run in the replica fetcher's worker thread) and by
    # apply_state, so a leadership change never interleaves with a write of fetched batches.
    _role_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_leader(self) -> bool:
        return self.local_id is None or self.leader == self.local_id

    def epoch_error(self, current_leader_epoch: int) -> ErrorCode:
        """KIP-320, as Kafka's Partition.checkCurrentLeaderEpoch: a client that knows an older
        leader epoch is fenced (it refreshes its metadata), one that knows a newer epoch is ahead
        of this broker; -1 means the client does not say."""
        if current_leader_epoch < 0 or current_leader_epoch == self.leader_epoch:
            return ErrorCode.none
        if current_leader_epoch < self.leader_epoch:
            return ErrorCode.fenced_leader_epoch
        return ErrorCode.unknown_leader_epoch

    def append(self, records: bytes, now_ms: int | None = None, **options: Any) -> AppendResult:
        """Append a producer's batches as leader; the high watermark follows the ISR.

        ``options`` go to :meth:`PartitionLog.append` (control batches, coordinator origin,
        transaction verification)."""
        result = self.log.append(records, leader_epoch=self.leader_epoch, now_ms=now_ms, **options)
        # Followers wait on the log end offset, not the high watermark: wake them either way.
        if not result.duplicate and not self.advance_high_watermark():
            self.wake_fetchers()
        return result

    def advance_high_watermark(self) -> bool:
        """Move the high watermark to the smallest log end offset in the ISR; True if it moved."""
        if not self.is_leader:
            return False
        hw = self.log.log_end_offset
        for replica in self.isr:
            if replica != self.local_id and self.local_id is not None:
                hw = min(hw, self.followers.get(replica, FollowerState()).log_end_offset)
        if hw > self.log.high_watermark:
            self.log.high_watermark = hw
            self.wake_fetchers()
            return True
        return False

    # --- leader side of replication ---------------------------------------------------------
    def record_follower_fetch(self, replica: int, fetch_offset: int, log_start_offset: int = -1) -> None:
        """A follower fetched at ``fetch_offset``: everything before it is on the follower, whose
        log now starts at ``log_start_offset`` (DeleteRecords waits for every replica's)."""
        now = time.monotonic()
        state = self.followers.setdefault(replica, FollowerState())
        if log_start_offset > state.log_start_offset:
            state.log_start_offset = log_start_offset
            self.wake_fetchers()  # a DeleteRecords may be waiting for this replica
        leo = self.log.log_end_offset
        if fetch_offset >= leo:
            state.caught_up_at = now
        elif fetch_offset >= state.last_fetch_leader_leo >= 0:
            state.caught_up_at = max(state.caught_up_at, state.last_fetch_at)
        state.log_end_offset = fetch_offset
        state.last_fetch_leader_leo = leo
        state.last_fetch_at = now
        self.advance_high_watermark()
        if (
            replica not in self.isr
            and replica in self.replicas
            and fetch_offset >= self.log.high_watermark
            and fetch_offset >= self._current_epoch_start()
        ):
            self._propose([*self.isr, replica])

    def _current_epoch_start(self) -> int:
        entries = self.log.epoch_cache.entries
        return entries[-1][1] if entries and entries[-1][0] == self.leader_epoch else self.log.log_end_offset

    def shrink_lagging(self, max_lag_s: float) -> None:
        """Drop followers that have not caught up for ``replica.lag.time.max.ms``."""
        if not self.is_leader or self.local_id is None:
            return
        now = time.monotonic()
        lagging = [
            r
            for r in self.isr
            if r != self.local_id
            and now - self.followers.get(r, FollowerState(caught_up_at=now)).caught_up_at > max_lag_s
        ]
        if lagging:
            self._propose([r for r in self.isr if r not in lagging])

    def _propose(self, isr: list[int]) -> None:
        if self.propose_isr is not None and self.pending_isr is None and isr != self.isr:
            self.pending_isr = isr
            self.propose_isr(self, isr)

    # --- follower side -------------------------------------------------------------------------
    def append_fetched(self, records: bytes | memoryview, leader_epoch: int) -> bool:
        """Write batches a follower fetched under ``leader_epoch``, as they are; False, writing
        nothing, when this broker leads now or the epoch moved on. The replica fetcher may call
        it from a worker thread: :meth:`apply_state` waits for a write in progress, as Kafka's
        makeLeader first takes the partition away from its fetcher, so a new leader's epoch
        always starts after the batches its previous leader sent."""
        with self._role_lock:
            if self.is_leader or self.leader_epoch != leader_epoch:
                return False
            self.log.append_as_follower(records)
            return True

    # --- leadership changes from the controller ---------------------------------------------
    def apply_state(
        self, leader: int, leader_epoch: int, partition_epoch: int, replicas: list[int], isr: list[int]
    ) -> bool:
        """Take the controller's view; True when this broker has just become leader or follower
        under a new epoch (the caller then starts or restarts fetching)."""
        with self._role_lock:
            return self._apply_state(leader, leader_epoch, partition_epoch, replicas, isr)

    def _apply_state(
        self, leader: int, leader_epoch: int, partition_epoch: int, replicas: list[int], isr: list[int]
    ) -> bool:
        changed = leader != self.leader or leader_epoch != self.leader_epoch
        was_leader = self.is_leader and self.leader != NO_LEADER
        self.leader, self.leader_epoch, self.partition_epoch = leader, leader_epoch, partition_epoch
        self.replicas, self.isr = list(replicas), list(isr)
        self.pending_isr = None
        if self.is_leader and (changed or not was_leader):
            now = time.monotonic()
            self.followers = {r: FollowerState(caught_up_at=now) for r in self.replicas if r != self.local_id}
            if self.log.log_end_offset > self.log.log_start_offset:
                # An empty log records the epoch with its first batch (PartitionLog.append): a
                # restart with thousands of empty partitions writes no epoch file for them.
                self.log.epoch_cache.assign(leader_epoch, self.log.log_end_offset)
        if self.is_leader:
            self.advance_high_watermark()
        self.wake_fetchers()  # waiting requests re-check leadership
        return changed

    async def wait_for_high_watermark(self, offset: int, timeout_s: float) -> bool:
        """acks=all: wait until ``offset`` is below the high watermark; False on timeout or when
        this broker stops leading."""
        return await self._wait_while(lambda: self.log.high_watermark <= offset, timeout_s)

    def low_watermark(self, alive: Callable[[int], bool]) -> int:
        """The smallest log start offset among this leader and its live followers (Kafka's
        Partition.lowWatermarkIfLeader): below it, records are gone from every live replica."""
        low = self.log.log_start_offset
        for replica in self.replicas:
            if replica != self.local_id and self.local_id is not None and alive(replica):
                low = min(low, self.followers.get(replica, FollowerState()).log_start_offset)
        return low

    async def wait_for_low_watermark(
        self, offset: int, alive: Callable[[int], bool], timeout_s: float
    ) -> bool:
        """DeleteRecords: wait until every live replica's log starts at ``offset`` or later; False
        on timeout or when this broker stops leading."""
        return await self._wait_while(lambda: self.low_watermark(alive) < offset, timeout_s)

    async def _wait_while(self, pending: Callable[[], bool], timeout_s: float) -> bool:
        """Wait, woken by each append, watermark move or leadership change, until ``pending()`` is
        false; False on timeout or when this broker stops leading (Kafka's delayed operations)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending():
            remaining = deadline - loop.time()
            if remaining <= 0 or not self.is_leader:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self.add_waiter(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self.remove_waiter(waiter)
        return True

    # --- waiting fetches ---------------------------------------------------------------------
    def wake_fetchers(self) -> None:
        if not self._waiters:
            return
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def add_waiter(self, fut: asyncio.Future[None]) -> None:
        self._waiters.add(fut)

    def remove_waiter(self, fut: asyncio.Future[None]) -> None:
        self._waiters.discard(fut)
