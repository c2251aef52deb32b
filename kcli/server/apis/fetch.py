"""Fetch: whole record batches served as slices of the segment files, with long polling.

The response is ready when it holds ``min_bytes`` or ``max_wait`` has passed; in between the
request sleeps on the partitions it reads and an append wakes it at once, so an idle consumer
costs nothing and a waiting one sees a new record within the append's own event-loop turn.
Fetch sessions (KIP-227) are declined by answering session id 0, which every client accepts by
sending full requests; versions 13+ name topics by id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.broker import Broker
from kcli.server.partition import Partition
from kcli.server.protocol.fast_responses import encode_fetch_response

log = logging.getLogger("kafka.server.ReplicaManager")

OFFSET_OUT_OF_RANGE = ErrorCode.offset_out_of_range
UNKNOWN_TOPIC_OR_PARTITION = ErrorCode.unknown_topic_or_partition
UNKNOWN_TOPIC_ID = ErrorCode.unknown_topic_id
UNKNOWN_SERVER_ERROR = ErrorCode.unknown_server_error

# A consumer gets at most this much of one partition per response (still at least one whole
# batch), whatever larger partition_max_bytes it asks for: it is the clients' own default (Java
# and librdkafka, 1 MiB). Every answer is a fresh buffer read from the segment, so this bounds
# the broker's memory per waiting response and the time one fetch holds the event loop, and the
# client gets its first records after reading 1 MiB rather than 10. The client simply fetches
# again from where the response ended. Followers (replica_id >= 0) get what they ask for.
CONSUMER_PARTITION_MAX_BYTES = 1 << 20


READ_COMMITTED = 1


def _partition_result(
    index: int,
    code: int,
    partition: Partition | None,
    records: bytes | None,
    isolation: int,
    aborted: list[dict[str, int]] | None = None,
) -> dict[str, Any]:
    return {
        "partition_index": index,
        "error_code": code,
        "high_watermark": partition.log.high_watermark if partition else -1,
        "last_stable_offset": partition.log.last_stable_offset if partition else -1,
        "log_start_offset": partition.log.log_start_offset if partition else -1,
        "aborted_transactions": (aborted or []) if isolation == READ_COMMITTED else None,
        "preferred_read_replica": -1,
        # Empty, never null, on an error, as Kafka answers (MemoryRecords.EMPTY): librdkafka
        # rejects a null record set as a parse failure of the whole response.
        "records": b"" if records is None else records,
    }


def _aborted_in(partition: Partition, fetch_offset: int, data: bytes) -> list[dict[str, int]]:
    """read_committed: the aborted transactions overlapping the batches returned, which the
    consumer drops (Kafka's LocalLog.addAbortedTransactions)."""
    from kcli.server.protocol.records import iter_batches

    end = fetch_offset
    for _, h in iter_batches(data):
        end = h.next_offset
    if end <= fetch_offset:
        return []
    return [
        {"producer_id": t.producer_id, "first_offset": t.first_offset}
        for t in partition.log.collect_aborted(fetch_offset, end)
    ]


def _replica_id(request: Any) -> int:
    """The fetching follower's broker id (v15+ carry it in replica_state); -1 for consumers."""
    state = getattr(request, "replica_state", None)
    return int(state.replica_id if state is not None else getattr(request, "replica_id", -1))


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


def _read_all(broker: Broker, request: Any, by_id: bool) -> tuple[list[dict[str, Any]], int, list[Partition]]:
    """One pass over the requested partitions: (topic responses, bytes, partitions read)."""
    remaining = response_max_bytes(broker, request)
    isolation = getattr(request, "isolation_level", 0)
    total = 0
    watched: list[Partition] = []
    topics = []
    replica_id = _replica_id(request)
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
            partition, error = broker.leader_partition(name, fp.partition)
            if partition is None:
                code = missing if error == UNKNOWN_TOPIC_OR_PARTITION else error
                parts.append(_partition_result(fp.partition, code, None, None, isolation))
                continue
            epoch_error = _epoch_error(partition, getattr(fp, "current_leader_epoch", -1))
            if epoch_error:
                parts.append(_partition_result(fp.partition, epoch_error, partition, None, isolation))
                continue
            watched.append(partition)
            plog = partition.log
            if replica_id >= 0:
                partition.record_follower_fetch(
                    replica_id, fp.fetch_offset, getattr(fp, "log_start_offset", -1)
                )
            if fp.fetch_offset < plog.log_start_offset or fp.fetch_offset > plog.log_end_offset:
                parts.append(_partition_result(fp.partition, OFFSET_OUT_OF_RANGE, partition, None, isolation))
                continue
            limit = min(fp.partition_max_bytes, remaining)
            if replica_id < 0:
                limit = min(limit, CONSUMER_PARTITION_MAX_BYTES)
            data = b""
            if replica_id >= 0:
                bound = plog.log_end_offset
            elif isolation == READ_COMMITTED:
                bound = plog.last_stable_offset  # never past an undecided transaction
            else:
                bound = plog.high_watermark
            if limit > 0 or total == 0:
                try:
                    data = plog.read(
                        fp.fetch_offset, max(limit, 0), upper_bound=bound, min_one_batch=total == 0
                    )
                except Exception as exc:
                    code = getattr(exc, "error_code", None)
                    if code is None:
                        log.exception("Error reading %s-%d", name, fp.partition)
                        code = UNKNOWN_SERVER_ERROR
                    parts.append(_partition_result(fp.partition, code, partition, None, isolation))
                    continue
            total += len(data)
            remaining -= len(data)
            aborted = (
                _aborted_in(partition, fp.fetch_offset, data)
                if isolation == READ_COMMITTED and data
                else None
            )
            parts.append(_partition_result(fp.partition, 0, partition, data, isolation, aborted))
        entry: dict[str, Any] = {"partitions": parts}
        if by_id:
            entry["topic_id"] = topic.topic_id
        else:
            entry["topic"] = topic.topic
        topics.append(entry)
    return topics, total, watched


@api(1, "Fetch", 4, 16, encoder=encode_fetch_response)
async def fetch(ctx: RequestContext, request: Any) -> dict:
    by_id = ctx.version >= 13
    loop = asyncio.get_running_loop()
    max_wait_s = max(request.max_wait.total_seconds(), 0.0)
    deadline = loop.time() + max_wait_s
    min_bytes = max(min(request.min_bytes, response_max_bytes(ctx.broker, request)), 1)
    if _replica_id(request) < 0:
        min_bytes = min(min_bytes, CONSUMER_PARTITION_MAX_BYTES)  # reachable with one partition
    while True:
        topics, total, watched = _read_all(ctx.broker, request, by_id)
        has_error = any(p["error_code"] for t in topics for p in t["partitions"])
        remaining = deadline - loop.time()
        if total >= min_bytes or has_error or remaining <= 0 or not watched:
            break
        waiter: asyncio.Future[None] = loop.create_future()
        for partition in watched:
            partition.add_waiter(waiter)
        try:
            await asyncio.wait_for(waiter, remaining)
        except TimeoutError:
            pass
        finally:
            for partition in watched:
                partition.remove_waiter(waiter)
    return {"throttle_time": 0, "error_code": 0, "session_id": 0, "responses": topics, "node_endpoints": []}
