"""Followers: one fetcher per leader broker, copying the leader's batches byte for byte.

Before fetching a partition under a new leader epoch, the follower asks the leader where its own
latest epoch ends (OffsetForLeaderEpoch) and truncates there, so a tail written by a deposed
leader that never reached the ISR cannot survive. Then it fetches from its log end offset with
its replica id, which tells the leader how far it has got; the leader's high watermark comes back
with each response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kcli.server.cluster.kafka_connection import KafkaConnection
from kcli.server.partition import NO_LEADER, Partition

if TYPE_CHECKING:
    from kcli.server.broker import Broker

log = logging.getLogger("kafka.server.ReplicaFetcherThread")

FETCH_VERSION = 12
EPOCH_VERSION = 4
OFFSET_OUT_OF_RANGE = 1
RETRY_BACKOFF_S = 0.5
FETCH_MAX_WAIT_MS = 500
PARTITION_MAX_BYTES = 1024 * 1024
FETCH_MAX_BYTES = 10 * 1024 * 1024


@dataclass(eq=False)
class _Fetching:
    partition: Partition
    epoch: int
    truncated: bool = False
    paused_until: float = 0.0  # after a refusal: retry then, or sooner on new metadata

    @property
    def paused(self) -> bool:
        return time.monotonic() < self.paused_until


def truncation_offset(
    log_end_offset: int, high_watermark: int, latest_epoch: int, leader_end_offset: int
) -> int:
    """Where a follower cuts its log before fetching from a new leader.

    The leader answered where the follower's latest epoch ends in *its* log: anything the follower
    has beyond that was never committed under that epoch and must go. A log without epochs (or an
    epoch the leader no longer knows) falls back to the high watermark, the last offset known to
    be on every in-sync replica.
    """
    if latest_epoch < 0:
        return log_end_offset  # nothing written under any epoch yet: nothing to cut
    if leader_end_offset < 0:
        return min(high_watermark, log_end_offset)
    return min(leader_end_offset, log_end_offset)


class ReplicaFetcher:
    """Fetches every partition this broker follows from one leader."""

    def __init__(self, broker: Broker, leader_id: int):
        self.broker = broker
        self.leader_id = leader_id
        self.states: dict[tuple[str, int], _Fetching] = {}
        self._changed = asyncio.Event()
        self._conn: KafkaConnection | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    def set_partitions(self, partitions: list[Partition]) -> None:
        wanted = {(p.topic, p.index): p for p in partitions}
        for key in list(self.states):
            if key not in wanted:
                del self.states[key]
        for key, p in wanted.items():
            current = self.states.get(key)
            if current is None or current.epoch != p.leader_epoch or current.partition is not p:
                self.states[key] = _Fetching(p, p.leader_epoch)
        self._changed.set()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        if self._conn is not None:
            await self._conn.close()

    # --- the loop ----------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            active = [s for s in self.states.values() if not s.paused]
            if not active:
                # Everything is paused (or nothing to fetch): wait for new metadata, or until the
                # first pause ends - the leader may simply not have applied the same image yet.
                self._changed.clear()
                wake = min((s.paused_until for s in self.states.values()), default=None)
                timeout = None if wake is None else max(wake - time.monotonic(), 0.01)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
                continue
            try:
                conn = await self._connection()
                pending = [s for s in active if not s.truncated]
                if pending:
                    await self._truncate(conn, pending)
                ready = [s for s in self.states.values() if s.truncated and not s.paused]
                if ready:
                    await self._fetch(conn, ready)
            except asyncio.CancelledError:
                raise
            except (OSError, ConnectionError, TimeoutError, EOFError, asyncio.IncompleteReadError) as exc:
                log.info(
                    "[ReplicaFetcher broker=%d] Error fetching from broker %d: %s",
                    self.broker.node_id,
                    self.leader_id,
                    exc,
                )
                await self._reset()
                await self._pause_briefly()
            except Exception:
                log.exception("[ReplicaFetcher broker=%d] Unexpected error", self.broker.node_id)
                await self._reset()
                await self._pause_briefly()

    async def _pause_briefly(self) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), RETRY_BACKOFF_S)

    async def _reset(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _connection(self) -> KafkaConnection:
        if self._conn is None:
            node = self.broker.broker_node(self.leader_id)
            if node is None:
                raise ConnectionError(f"broker {self.leader_id} is not registered")
            conn = KafkaConnection(
                node.host, node.port, f"broker-{self.broker.node_id}-fetcher-{self.leader_id}"
            )
            await conn.open()
            self._conn = conn
        return self._conn

    def _by_topic(self, states: list[_Fetching]) -> dict[str, list[_Fetching]]:
        grouped: dict[str, list[_Fetching]] = {}
        for s in states:
            grouped.setdefault(s.partition.topic, []).append(s)
        return grouped

    # --- truncation --------------------------------------------------------------------------
    async def _truncate(self, conn: KafkaConnection, states: list[_Fetching]) -> None:
        grouped = self._by_topic(states)
        body = {
            "replica_id": self.broker.node_id,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": s.partition.index,
                            "current_leader_epoch": s.epoch,
                            "leader_epoch": s.partition.log.epoch_cache.latest_epoch,
                        }
                        for s in items
                    ],
                }
                for topic, items in grouped.items()
            ],
        }
        response = await conn.request(23, EPOCH_VERSION, body)
        for topic in response.topics:
            for answer in topic.partitions:
                state = self.states.get((topic.topic, answer.partition))
                if state is None or state.epoch != state.partition.leader_epoch:
                    continue
                if answer.error_code:
                    self._pause(state, answer.error_code)
                    continue
                self._truncate_one(state, int(answer.leader_epoch), int(answer.end_offset))

    def _truncate_one(self, state: _Fetching, leader_epoch: int, end_offset: int) -> None:
        plog = state.partition.log
        target = truncation_offset(
            plog.log_end_offset, plog.high_watermark, plog.epoch_cache.latest_epoch, end_offset
        )
        if target < plog.log_end_offset:
            log.info(
                "[ReplicaFetcher broker=%d] Truncating %s-%d to %d (leader epoch %d ends at %d; log end was %d)",
                self.broker.node_id, state.partition.topic, state.partition.index,
                target, leader_epoch, end_offset, plog.log_end_offset,
            )  # fmt: skip
            plog.truncate_to(target)
        state.truncated = True

    def _pause(self, state: _Fetching, code: int) -> None:
        """The leader refused (it lost leadership, or epochs disagree): back off, then retry -
        sooner if new metadata arrives."""
        log.info(
            "[ReplicaFetcher broker=%d] %s-%d: error %d from broker %d; retrying after new metadata or %.1f s",
            self.broker.node_id, state.partition.topic, state.partition.index, code, self.leader_id, RETRY_BACKOFF_S,
        )  # fmt: skip
        state.paused_until = time.monotonic() + RETRY_BACKOFF_S

    # --- fetching ----------------------------------------------------------------------------
    async def _fetch(self, conn: KafkaConnection, states: list[_Fetching]) -> None:
        grouped = self._by_topic(states)
        body: dict[str, Any] = {
            "replica_id": self.broker.node_id,
            "max_wait": FETCH_MAX_WAIT_MS,
            "min_bytes": 1,
            "max_bytes": FETCH_MAX_BYTES,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": s.partition.index,
                            "current_leader_epoch": s.epoch,
                            "fetch_offset": s.partition.log.log_end_offset,
                            "last_fetched_epoch": -1,
                            "log_start_offset": s.partition.log.log_start_offset,
                            "partition_max_bytes": PARTITION_MAX_BYTES,
                        }
                        for s in items
                    ],
                }
                for topic, items in grouped.items()
            ],
            "forgotten_topics_data": [],
            "rack_id": "",
        }
        response = await conn.request(1, FETCH_VERSION, body, timeout_s=FETCH_MAX_WAIT_MS / 1000 + 30)
        for topic in response.responses:
            for answer in topic.partitions:
                state = self.states.get((topic.topic, answer.partition_index))
                if state is None or state.paused or state.epoch != state.partition.leader_epoch:
                    continue
                self._apply_fetched(state, answer)

    def _apply_fetched(self, state: _Fetching, answer: Any) -> None:
        plog = state.partition.log
        code = answer.error_code
        if code == OFFSET_OUT_OF_RANGE:
            if plog.log_end_offset < answer.log_start_offset:
                plog.truncate_fully_and_start_at(answer.log_start_offset)
            else:
                state.truncated = False  # diverged beyond the leader's end: truncate again first
            return
        if code:
            self._pause(state, code)
            return
        records = answer.records
        if records:
            plog.append_as_follower(records)
        if answer.log_start_offset > plog.log_start_offset:
            plog.delete_records_before(min(answer.log_start_offset, plog.log_end_offset))
        hw = min(int(answer.high_watermark), plog.log_end_offset)
        if hw > plog.high_watermark:
            plog.high_watermark = hw


class ReplicaFetcherManager:
    """One fetcher per leader this broker follows, kept in line with the metadata image."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.fetchers: dict[int, ReplicaFetcher] = {}

    def update(self) -> None:
        wanted: dict[int, list[Partition]] = {}
        for p in self.broker.partitions.values():
            if not p.is_leader and p.leader != NO_LEADER:
                wanted.setdefault(p.leader, []).append(p)
        for leader_id in list(self.fetchers):
            if leader_id not in wanted:
                fetcher = self.fetchers.pop(leader_id)
                asyncio.get_running_loop().create_task(fetcher.close())
        for leader_id, parts in wanted.items():
            fetcher = self.fetchers.get(leader_id)
            if fetcher is None:
                fetcher = self.fetchers[leader_id] = ReplicaFetcher(self.broker, leader_id)
            fetcher.set_partitions(parts)

    async def close(self) -> None:
        fetchers, self.fetchers = list(self.fetchers.values()), {}
        for fetcher in fetchers:
            await fetcher.close()
