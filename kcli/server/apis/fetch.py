"""Fetch: whole record batches served from the segment files, with long polling.

Records are served zero-copy: a partition's batches come back from the log as a pinned region
of its segment file (:meth:`PartitionLog.read_records`), the response encoder frames them, and
the network layer sends the region with ``sendfile`` on plaintext listeners (read into Python
only for TLS, or when the region is small). Batches nothing has CRC-checked yet (written by an
earlier run and not recovered) are read and checked once before they are served, as before.

The response is ready when it holds ``min_bytes`` or ``max_wait`` has passed. In between the
request waits in the purgatory (:mod:`kcli.server.base.purgatory`) as Kafka's DelayedFetch: each
append, high-watermark move or leadership change of a partition it asked for runs a check of
offsets and byte positions only, and the data is read once, when the check passes or the time is
up. Fetch sessions (KIP-227) are declined by answering session id 0, which every client accepts
by sending full requests; versions 13+ name topics by id.

Follower fetching (KIP-392), as Kafka's ReplicaManager.readFromLog: a consumer's Fetch of v11+
may be served by any replica this broker holds, a follower reading up to its own high watermark
(learnt from the leader's fetch responses), with the leader's errors for the rest (an older or
newer leader epoch is FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, an offset past the follower's
log end OFFSET_OUT_OF_RANGE, on which clients go back to the leader); followers' and older
consumers' fetches stay leader-only (NOT_LEADER_OR_FOLLOWER). With ``replica.selector.class``
set, the leader asks the selector (:mod:`kcli.server.base.replica_selector`) which replica a consumer
should read from, among the in-sync followers that hold the fetch offset; when it is another
broker the partition answers ``preferred_read_replica`` with no records, at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.base.partition import Partition
from kcli.server.base.purgatory import DelayedOperation
from kcli.server.base.replica_selector import ReplicaSelector, ReplicaView, replica_selector
from kcli.server.base.replication_quota import leader_throttled, record_leader_fetch
from kcli.server.protocol.fast_responses import (
    SENDFILE_MIN,
    Region,
    encode_fetch_response,
    is_region,
    release_regions,
)
from kcli.server.state.broker import Broker, BrokerNode

log = logging.getLogger("kafka.server.ReplicaManager")

OFFSET_OUT_OF_RANGE = ErrorCode.offset_out_of_range
UNKNOWN_TOPIC_OR_PARTITION = ErrorCode.unknown_topic_or_partition
UNKNOWN_TOPIC_ID = ErrorCode.unknown_topic_id
UNKNOWN_SERVER_ERROR = ErrorCode.unknown_server_error

# Batches served zero-copy cost the broker no memory, so a consumer gets what it asks for, as from
# Kafka (partition_max_bytes, within fetch.max.bytes). Batches that must be read into memory first
# (not CRC-checked yet, see PartitionLog.read_records) are read at most this much per partition
# for a consumer (still at least one whole batch): the clients' own default max.partition.fetch.bytes
# (Java and librdkafka, 1 MiB), which bounds the broker's memory per waiting response; the client
# simply fetches again from where the response ended. Followers (replica_id >= 0) get what they ask.
CONSUMER_PARTITION_MAX_BYTES = 1 << 20


READ_COMMITTED = 1


def _partition_result(
    index: int,
    code: int,
    partition: Partition | None,
    records: bytes | Region | None,
    isolation: int,
    aborted: list[dict[str, int]] | None = None,
    preferred_read_replica: int = -1,
) -> dict[str, Any]:
    return {
        "partition_index": index,
        "error_code": code,
        "high_watermark": partition.log.high_watermark if partition else -1,
        "last_stable_offset": partition.log.last_stable_offset if partition else -1,
        "log_start_offset": partition.log.log_start_offset if partition else -1,
        "aborted_transactions": (aborted or []) if isolation == READ_COMMITTED else None,
        "preferred_read_replica": preferred_read_replica,
        # Empty, never null, on an error, as Kafka answers (MemoryRecords.EMPTY): librdkafka
        # rejects a null record set as a parse failure of the whole response.
        "records": b"" if records is None else records,
    }


def _aborted_in(partition: Partition, fetch_offset: int, end_offset: int) -> list[dict[str, int]]:
    """read_committed: the aborted transactions overlapping [fetch_offset, end_offset), the
    batches returned, which the consumer drops (Kafka's LocalLog.addAbortedTransactions)."""
    if end_offset <= fetch_offset:
        return []
    return [
        {"producer_id": t.producer_id, "first_offset": t.first_offset}
        for t in partition.log.collect_aborted(fetch_offset, end_offset)
    ]


def _replica_id(request: Any) -> int:
    """The fetching follower's broker id (v15+ carry it in replica_state); -1 for consumers."""
    state = getattr(request, "replica_state", None)
    return int(state.replica_id if state is not None else getattr(request, "replica_id", -1))


def _readable_partition(broker: Broker, name: str | None, index: int) -> tuple[Partition | None, ErrorCode]:
    """For a consumer's Fetch v11+: any replica this broker holds, leader or follower (Kafka's
    getLocalLog with requireLeader=false); else the leader-only answer and its errors."""
    partition = broker.partitions.get((name, index)) if name is not None else None
    if partition is not None:
        return partition, ErrorCode.none
    return broker.leader_partition(name, index)


def _preferred_read_replica(
    broker: Broker,
    selector: ReplicaSelector,
    live: dict[int, BrokerNode],
    partition: Partition,
    client_rack: str | None,
    fetch_offset: int,
) -> int:
    """The replica ``replica.selector.class`` prefers for this consumer, or -1 for this leader
    (Kafka's ReplicaManager.findPreferredReadReplica). Candidates are the live (``live``: on the
    client's listener) in-sync followers whose log holds ``fetch_offset``: a lagging follower
    would only make the consumer lag."""
    if partition.local_id is None or not partition.is_leader:
        return -1
    now = time.monotonic()
    leader = ReplicaView(partition.local_id, broker.config.broker_rack, partition.log.log_end_offset)
    candidates = [leader]
    for replica in partition.isr:
        state = partition.followers.get(replica)
        node = live.get(replica)
        if replica == partition.local_id or state is None or node is None:
            continue
        if state.log_end_offset >= fetch_offset and state.log_start_offset <= fetch_offset:
            since_ms = int(max(now - state.caught_up_at, 0.0) * 1000)
            candidates.append(ReplicaView(replica, node.rack, state.log_end_offset, since_ms))
    chosen = selector.select(client_rack, leader, candidates)
    if chosen.node_id == leader.node_id:
        return -1
    log.debug(
        "Replica selector returned preferred replica %d for %s-%d (client rack %s)",
        chosen.node_id, partition.topic, partition.index, client_rack,
    )  # fmt: skip
    return chosen.node_id


def _epoch_error(partition: Partition, current_leader_epoch: int) -> int:
    """KIP-320: a fetcher that knows an older leader epoch is fenced; a newer one is ahead of us."""
    return partition.epoch_error(current_leader_epoch)


def response_max_bytes(broker: Broker, request: Any) -> int:
    """Kafka's cap on one response: the request's max_bytes, at most the broker's
    ``fetch.max.bytes`` (55 MiB by default), for consumers and followers alike. Partitions then
    read within what is left (and their own partition_max_bytes), except that the first partition
    with data always returns at least one whole batch, so a consumer is never stuck behind a batch
    larger than its limits (ReplicaManager.readFromLog's minOneMessage)."""
    return max(0, min(request.max_bytes, broker.config.fetch_max_bytes))


@dataclass(slots=True)
class _Watched:
    """A partition a waiting fetch reads: where it reads from and up to which offset."""

    partition: Partition
    fetch_offset: int
    max_bytes: int  # what the partition may contribute (its partition_max_bytes, capped)
    bound: int  # 0: high watermark, 1: last stable offset, 2: log end offset (followers)
    leader_epoch: int
    is_leader: bool  # read as the leader (else a consumer reading this follower)
    position: tuple[int, int] | None = None  # (segment base, byte position) of fetch_offset


_HIGH_WATERMARK, _LAST_STABLE, _LOG_END = 0, 1, 2


def _bound_offset(partition: Partition, bound: int) -> int:
    plog = partition.log
    if bound == _LOG_END:
        return plog.log_end_offset
    if bound == _LAST_STABLE:
        return plog.last_stable_offset  # never past an undecided transaction
    return plog.high_watermark


def _read_all(
    broker: Broker, request: Any, by_id: bool, version: int = 16, listener: str = "PLAINTEXT"
) -> tuple[list[dict[str, Any]], int, list[_Watched], bool]:
    """One pass over the requested partitions: (topic responses, bytes, partitions read, whether
    the response must go at once: a partition answered an error or a preferred read replica)."""
    remaining = response_max_bytes(broker, request)
    isolation = getattr(request, "isolation_level", 0)
    total = 0
    has_error = False
    watched: list[_Watched] = []
    topics = []
    replica_id = _replica_id(request)
    kind = _LOG_END if replica_id >= 0 else _LAST_STABLE if isolation == READ_COMMITTED else _HIGH_WATERMARK
    # Kafka's clientMetadata: a consumer's Fetch v11+ may read from a follower, and names its rack.
    from_any_replica = replica_id < 0 and version >= 11
    client_rack = getattr(request, "rack_id", None) if from_any_replica else None
    selector = replica_selector(broker.config.replica_selector_class) if from_any_replica else None
    live = {b.node_id: b for b in broker.live_brokers(listener)} if selector is not None else {}
    for topic in request.topics:
        if by_id:
            record = broker.topics_by_id.get(topic.topic_id)
            name = record.name if record else None
            missing = UNKNOWN_TOPIC_ID
        else:
            name = topic.topic
            missing = UNKNOWN_TOPIC_OR_PARTITION
        parts = []
        for fp in topic.partitions:
            if from_any_replica:
                partition, error = _readable_partition(broker, name, fp.partition)
            else:
                partition, error = broker.leader_partition(name, fp.partition)
            if partition is None:
                code = missing if error == UNKNOWN_TOPIC_OR_PARTITION else error
                parts.append(_partition_result(fp.partition, code, None, None, isolation))
                has_error = True
                continue
            epoch_error = _epoch_error(partition, getattr(fp, "current_leader_epoch", -1))
            if epoch_error:
                parts.append(_partition_result(fp.partition, epoch_error, partition, None, isolation))
                has_error = True
                continue
            if selector is not None and partition.is_leader:
                preferred = _preferred_read_replica(
                    broker, selector, live, partition, client_rack, fp.fetch_offset
                )
                if preferred >= 0:  # no records: the client fetches from the preferred replica
                    parts.append(
                        _partition_result(fp.partition, 0, partition, None, isolation, None, preferred)
                    )
                    has_error = True  # answered at once, as Kafka's hasPreferredReadReplica
                    continue
            plog = partition.log
            if replica_id >= 0:
                partition.record_follower_fetch(
                    replica_id, fp.fetch_offset, getattr(fp, "log_start_offset", -1)
                )
            if fp.fetch_offset < plog.log_start_offset or fp.fetch_offset > plog.log_end_offset:
                parts.append(_partition_result(fp.partition, OFFSET_OUT_OF_RANGE, partition, None, isolation))
                has_error = True
                continue
            cap = max(fp.partition_max_bytes, 0)
            # KIP-73: a throttled replica over the leader quota gets no data and adds no bytes
            throttled = replica_id >= 0 and leader_throttled(broker, partition, replica_id)
            watched.append(
                _Watched(
                    partition,
                    fp.fetch_offset,
                    0 if throttled else cap,
                    kind,
                    partition.leader_epoch,
                    partition.is_leader,
                )
            )
            limit = min(cap, remaining)
            records: bytes | Region = b""
            end_offset = fp.fetch_offset
            if not throttled and (limit > 0 or total == 0):
                try:
                    records, end_offset = plog.read_records(
                        fp.fetch_offset,
                        max(limit, 0),
                        upper_bound=_bound_offset(partition, kind),
                        min_one_batch=total == 0,
                        copy_max_bytes=None if replica_id >= 0 else CONSUMER_PARTITION_MAX_BYTES,
                    )
                    if is_region(records) and len(records) < SENDFILE_MIN:
                        region = records  # the encoder would read it: read it now and unpin
                        try:
                            records = region.read()
                        finally:
                            region.release()
                except Exception as exc:
                    code = getattr(exc, "error_code", None)
                    if code is None:
                        log.exception("Error reading %s-%d", name, fp.partition)
                        code = UNKNOWN_SERVER_ERROR
                    parts.append(_partition_result(fp.partition, code, partition, None, isolation))
                    has_error = True
                    continue
            size = len(records)
            total += size
            remaining -= size
            aborted = (
                _aborted_in(partition, fp.fetch_offset, end_offset)
                if isolation == READ_COMMITTED and size
                else None
            )
            parts.append(_partition_result(fp.partition, 0, partition, records, isolation, aborted))
        entry: dict[str, Any] = {"partitions": parts}
        if by_id:
            entry["topic_id"] = topic.topic_id
        else:
            entry["topic"] = topic.topic
        topics.append(entry)
    return topics, total, watched, has_error


class DelayedFetch(DelayedOperation):
    """A Fetch waiting for ``min_bytes``: complete when the bytes between each partition's fetch
    position and its bound (high watermark, last stable offset, or log end for followers) add up
    to ``min_bytes``, or when a partition changes in a way the response must report (deleted,
    leadership or epoch moved, the log was cut below the fetch offset, the data moved to a newer
    segment). The cases are Kafka's DelayedFetch.tryComplete; positions come from the log's
    bookkeeping of its end and high watermark, so a check reads nothing (a last stable offset
    short of both is looked up in the index and a batch header, as Kafka's
    fetchLastStableOffsetMetadata does)."""

    __slots__ = ("min_bytes", "partitions", "watched")

    def __init__(
        self,
        watched: list[_Watched],
        min_bytes: int,
        timeout_s: float,
        partitions: dict[tuple[str, int], Partition],
    ):
        super().__init__(timeout_s)
        self.watched = watched
        self.min_bytes = min_bytes
        self.partitions = partitions
        for w in watched:
            w.position = w.partition.log.position_of(w.fetch_offset, look_up=True)

    def try_complete(self) -> bool:
        accumulated = 0
        for w in self.watched:
            partition = w.partition
            if self.partitions.get((partition.topic, partition.index)) is not partition:
                return True  # deleted (or re-created): the response reports it
            if partition.is_leader != w.is_leader or partition.leader_epoch != w.leader_epoch:
                return True  # the response reports the change
            plog = partition.log
            if w.fetch_offset > plog.log_end_offset or w.fetch_offset < plog.log_start_offset:
                return True  # truncated, or deleted below it: OFFSET_OUT_OF_RANGE now
            end = _bound_offset(partition, w.bound)
            if end <= w.fetch_offset:
                continue
            end_position = plog.position_of(end, look_up=w.bound == _LAST_STABLE)
            if end_position is None or w.position is None or end_position[0] != w.position[0]:
                return True  # not measurable here, or on a newer segment: read what there is
            accumulated += min(end_position[1] - w.position[1], w.max_bytes)
            if accumulated >= self.min_bytes:
                return True
        return False


@api(1, "Fetch", 4, 16, encoder=encode_fetch_response)
async def fetch(ctx: RequestContext, request: Any) -> dict:
    by_id = ctx.version >= 13
    max_wait_s = max(request.max_wait.total_seconds(), 0.0)
    min_bytes = max(min(request.min_bytes, response_max_bytes(ctx.broker, request)), 1)
    topics, total, watched, has_error = _read_all(ctx.broker, request, by_id, ctx.version, ctx.listener)
    if total < min_bytes and not has_error and max_wait_s > 0 and watched:
        release_regions({"responses": topics})  # not enough yet: read again, once, when there is
        delayed = DelayedFetch(watched, min_bytes, max_wait_s, ctx.broker.partitions)
        if not delayed.try_complete():
            delayed.watch(w.partition for w in watched)
            await delayed.wait()
        else:
            delayed.force_complete()
        topics, total, watched, has_error = _read_all(ctx.broker, request, by_id, ctx.version, ctx.listener)
    if _replica_id(request) >= 0:
        record_leader_fetch(ctx.broker, topics)
    return {"throttle_time": 0, "error_code": 0, "session_id": 0, "responses": topics, "node_endpoints": []}
