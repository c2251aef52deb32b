"""Followers: one fetcher per leader broker, copying the leader's batches byte for byte.

Before fetching a partition under a new leader epoch, the follower asks the leader where its own
latest epoch ends (OffsetForLeaderEpoch) and truncates there, so a tail written by a deposed
leader that never reached the ISR cannot survive. Then it fetches from its log end offset with
its replica id, which tells the leader how far it has got; the leader's high watermark and log
start offset (moved by DeleteRecords or retention) come back with each response and are applied
as Kafka's follower applies them: high watermark first, then the log start offset, bounded by the
follower's own log.

As Kafka's AbstractFetcherThread, errors are handled per partition: an error code backs that
partition off, and an unexpected failure applying one partition's data marks that partition
failed (logged once, with the traceback) until its leadership changes - it never aborts the
response for the other partitions of the same leader. Repeating errors are logged when they
start and then summarised periodically, never retried silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from kcli.protocol.records import CorruptRecordError, InvalidRecordError
from kcli.server.base.partition import NO_LEADER, Partition
from kcli.server.base.replication_quota import follower_fetchable, record_follower_fetch
from kcli.server.cluster.kafka_connection import KafkaConnection
from kcli.server.security import inter_broker_client

if TYPE_CHECKING:
    from kcli.server.base.broker_view import BrokerView as Broker

log = logging.getLogger("kafka.server.ReplicaFetcherThread")

FETCH_VERSION = 12
EPOCH_VERSION = 4
RETRY_BACKOFF_S = 0.5
REPEAT_LOG_INTERVAL_S = 30.0
FETCH_MAX_WAIT_MS = 500
PARTITION_MAX_BYTES = 1024 * 1024
FETCH_MAX_BYTES = 10 * 1024 * 1024
OFFLOAD_BYTES = 64 * 1024  # a response with at least this much data is written in a worker thread


@dataclass(eq=False)
class _Fetching:
    partition: Partition
    epoch: int
    truncated: bool = False
    paused_until: float = 0.0  # after a refusal: retry then, or sooner on new metadata
    last_error: int = 0  # the error code the leader last answered (0 once it answers data)
    error_since: float = 0.0
    error_repeats: int = 0

    @property
    def paused(self) -> bool:
        return time.monotonic() < self.paused_until


class RepeatingLog:
    """Logs an error when it starts (or changes), then once per ``REPEAT_LOG_INTERVAL_S`` with how
    often it recurred meanwhile: a fault that persists stays visible without flooding the log."""

    def __init__(self) -> None:
        self.last: str | None = None
        self.logged_at = 0.0
        self.repeats = 0

    def report(self, message: str, exc_info: bool = False) -> None:
        now = time.monotonic()
        if message != self.last:
            self.last, self.logged_at, self.repeats = message, now, 0
            log.warning("%s", message, exc_info=exc_info)
        elif now - self.logged_at >= REPEAT_LOG_INTERVAL_S:
            log.warning(
                "%s (%d more time(s) in the last %.0f s)", message, self.repeats + 1, now - self.logged_at
            )
            self.logged_at, self.repeats = now, 0
        else:
            self.repeats += 1

    def clear(self) -> None:
        if self.last is not None:
            log.info("Recovered from: %s", self.last)
        self.last = None


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
        # Partitions whose data could not be applied, with the leader epoch they failed under:
        # not fetched again until their leadership changes (Kafka's failedPartitions).
        self.failed: dict[tuple[str, int], int] = {}
        self._errors = RepeatingLog()
        self._changed = asyncio.Event()
        self._conn: KafkaConnection | None = None
        # Set before the task is cancelled: Python 3.11's wait_for can swallow a cancellation that
        # races with the event it waits for, and a fetcher still looping would then keep the
        # broker's shutdown (asyncio.run cancels remaining tasks once) from ever finishing.
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    def set_partitions(self, partitions: list[Partition]) -> None:
        wanted = {(p.topic, p.index): p for p in partitions}
        for key in list(self.states):
            if key not in wanted:
                del self.states[key]
        for key in list(self.failed):
            if key not in wanted or wanted[key].leader_epoch != self.failed[key]:
                del self.failed[key]  # a new leadership gets a fresh start
        for key, p in wanted.items():
            if key in self.failed:
                continue
            current = self.states.get(key)
            if current is None or current.epoch != p.leader_epoch or current.partition is not p:
                self.states[key] = _Fetching(p, p.leader_epoch)
        self._changed.set()

    async def close(self) -> None:
        self._closing = True
        self._changed.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        if self._conn is not None:
            await self._conn.close()

    # --- the loop ----------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._closing:
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
                self._errors.report(
                    f"[ReplicaFetcher broker={self.broker.node_id}] Error fetching from broker "
                    f"{self.leader_id}: {exc or type(exc).__name__}"
                )
                await self._reset()
                await self._pause_briefly()
            except Exception as exc:
                self._errors.report(
                    f"[ReplicaFetcher broker={self.broker.node_id}] Unexpected error in a request to broker "
                    f"{self.leader_id}: {exc!r}",
                    exc_info=True,
                )
                await self._reset()
                await self._pause_briefly()
            else:
                self._errors.clear()

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
                node.host,
                node.port,
                f"broker-{self.broker.node_id}-fetcher-{self.leader_id}",
                inter_broker_client(self.broker),
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
                try:
                    self._truncate_one(state, int(answer.leader_epoch), int(answer.end_offset))
                except Exception:
                    self._fail(state, "truncating")

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
        sooner if new metadata arrives. Logged when the error starts, then summarised."""
        now = time.monotonic()
        p = state.partition
        name = ErrorCode(code).name.upper() if code in ErrorCode._value2member_map_ else str(code)
        if code != state.last_error:
            state.last_error, state.error_since, state.error_repeats = code, now, 0
            log.warning(
                "[ReplicaFetcher broker=%d] %s-%d: error %s from broker %d; retrying after new metadata or %.1f s",
                self.broker.node_id, p.topic, p.index, name, self.leader_id, RETRY_BACKOFF_S,
            )  # fmt: skip
        else:
            state.error_repeats += 1
            if now - state.error_since >= REPEAT_LOG_INTERVAL_S:
                log.warning(
                    "[ReplicaFetcher broker=%d] %s-%d: still error %s from broker %d (%d retries in %.0f s)",
                    self.broker.node_id, p.topic, p.index, name, self.leader_id,
                    state.error_repeats, now - state.error_since,
                )  # fmt: skip
                state.error_since, state.error_repeats = now, 0
        state.paused_until = now + RETRY_BACKOFF_S

    def _fail(self, state: _Fetching, doing: str) -> None:
        """An unexpected error applying one partition: stop fetching it until its leadership
        changes (Kafka marks it failed), logged once with the traceback; the others go on."""
        p = state.partition
        log.error(
            "[ReplicaFetcher broker=%d] Unexpected error %s %s-%d from broker %d at offset %d; "
            "partition marked as failed until its leadership changes",
            self.broker.node_id, doing, p.topic, p.index, self.leader_id, p.log.log_end_offset,
            exc_info=True,
        )  # fmt: skip
        self.failed[(p.topic, p.index)] = state.epoch
        self.states.pop((p.topic, p.index), None)

    # --- fetching ----------------------------------------------------------------------------
    async def _fetch(self, conn: KafkaConnection, states: list[_Fetching]) -> None:
        states = follower_fetchable(self.broker, states)  # KIP-73: throttled replicas wait when over
        if not states:
            await self._pause_briefly()
            return
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
        record_follower_fetch(self.broker, response)
        answers: list[tuple[_Fetching, Any]] = []
        for topic in response.responses:
            for answer in topic.partitions:
                state = self.states.get((topic.topic, answer.partition_index))
                if state is None or state.paused or state.epoch != state.partition.leader_epoch:
                    continue
                try:
                    if self._check_fetched(state, answer):
                        answers.append((state, answer))
                except Exception:
                    self._fail(state, "applying the data of")
        size = sum(len(answer.records or b"") for _, answer in answers)
        if size >= OFFLOAD_BYTES:
            # Writing a megabyte into pages the page cache has not used yet takes milliseconds
            # here (see the README's replication figures): in a worker thread, which releases the
            # GIL in write(), the broker meanwhile serves its own leaders' produces and fetches.
            errors = await asyncio.to_thread(self._append_all, answers)
        else:
            errors = self._append_all(answers)
        for (state, answer), error in zip(answers, errors, strict=True):
            key = (state.partition.topic, state.partition.index)
            if self.states.get(key) is not state or state.epoch != state.partition.leader_epoch:
                continue  # the leadership moved while the batches were written: fetched anew
            try:
                if error is not None:
                    raise error
                self._apply_watermarks(state, answer)
            except (CorruptRecordError, InvalidRecordError) as exc:
                # Kafka logs and retries these: a partial or corrupt read may be transient.
                log.error(
                    "[ReplicaFetcher broker=%d] Found invalid records fetching %s-%d at offset %d: %s",
                    self.broker.node_id, key[0], key[1], state.partition.log.log_end_offset, exc,
                )  # fmt: skip
                self._pause(state, getattr(exc, "error_code", ErrorCode.corrupt_message))
            except Exception:
                self._fail(state, "applying the data of")

    @staticmethod
    def _append_all(answers: list[tuple[_Fetching, Any]]) -> list[BaseException | None]:
        """Append each partition's fetched batches (:meth:`Partition.append_fetched`, which
        writes nothing once the leadership moved); the error of each (None when written or
        skipped), so one partition's failure never stops the others'."""
        errors: list[BaseException | None] = []
        for state, answer in answers:
            try:
                if answer.records:
                    state.partition.append_fetched(answer.records, state.epoch)
                errors.append(None)
            except Exception as exc:
                errors.append(exc)
        return errors

    def _apply_fetched(self, state: _Fetching, answer: Any) -> None:
        """One partition's answer, applied at once: its error, its batches, its watermarks."""
        if self._check_fetched(state, answer):
            if answer.records:
                state.partition.append_fetched(answer.records, state.epoch)
            self._apply_watermarks(state, answer)

    def _check_fetched(self, state: _Fetching, answer: Any) -> bool:
        """Handle the answer's error code; True when it carries data (or none) to apply."""
        plog = state.partition.log
        code = answer.error_code
        if code == ErrorCode.offset_out_of_range:
            if plog.log_end_offset < answer.log_start_offset:
                plog.truncate_fully_and_start_at(answer.log_start_offset)
            else:
                state.truncated = False  # diverged beyond the leader's end: truncate again first
            return False
        if code:
            self._pause(state, code)
            return False
        state.last_error = 0
        return True

    def _apply_watermarks(self, state: _Fetching, answer: Any) -> None:
        plog = state.partition.log
        # As Kafka's ReplicaFetcherThread.processPartitionData: the high watermark first (the
        # leader's, bounded by this log's end), then the leader's log start offset, which never
        # exceeds the leader's high watermark and so never this replica's new one.
        hw = min(int(answer.high_watermark), plog.log_end_offset)
        if hw > plog.high_watermark:
            plog.high_watermark = hw
            state.partition.wake_fetchers()  # consumers long-polling this follower (KIP-392)
        start = min(int(answer.log_start_offset), plog.high_watermark)
        if start > plog.log_start_offset:
            plog.delete_records_before(start)


class ReplicaFetcherManager:
    """One fetcher per leader this broker follows, kept in line with the metadata image."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.fetchers: dict[int, ReplicaFetcher] = {}
        self._closed = False

    def update(self) -> None:
        if self._closed:  # shutting down: metadata applied late starts no new fetcher
            return
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
        self._closed = True
        fetchers, self.fetchers = list(self.fetchers.values()), {}
        for fetcher in fetchers:
            await fetcher.close()
