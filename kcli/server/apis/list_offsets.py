"""ListOffsets: earliest, latest, max-timestamp, and the first offset at or after a timestamp.

From version 4 a client names the leader epoch it knows (KIP-320); a stale one is answered
FENCED_LEADER_EPOCH and a newer one UNKNOWN_LEADER_EPOCH, as Kafka answers, so a client never
takes offsets from a leader it should no longer (or not yet) trust.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5


@api(2, "ListOffsets", 1, 9)
async def list_offsets(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    # read_committed (isolation level 1) sees up to the last stable offset, as Kafka answers it.
    read_committed = getattr(request, "isolation_level", 0) == 1
    topics = []
    for topic in request.topics:
        parts = []
        for lp in topic.partitions:
            partition, error = broker.leader_partition(topic.name, lp.partition_index)
            result = {
                "partition_index": lp.partition_index,
                "error_code": ErrorCode.none,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": -1,
                "old_style_offsets": [],
            }
            if partition is None:
                result["error_code"] = error
                parts.append(result)
                continue
            epoch_error = partition.epoch_error(getattr(lp, "current_leader_epoch", -1))
            if epoch_error:
                result["error_code"] = epoch_error
                parts.append(result)
                continue
            plog = partition.log
            result["leader_epoch"] = partition.leader_epoch
            ts = lp.timestamp
            fetchable = plog.last_stable_offset if read_committed else plog.high_watermark
            if ts == LATEST:
                result["offset"] = fetchable
            elif ts in (EARLIEST, EARLIEST_LOCAL):
                result["offset"] = plog.log_start_offset
            elif ts == LATEST_TIERED:
                result["offset"] = plog.log_start_offset - 1
            elif ts == MAX_TIMESTAMP:
                offset, timestamp = plog.max_timestamp()
                result["offset"], result["timestamp"] = offset, timestamp
            elif ts >= 0:
                found = plog.offset_for_timestamp(ts)
                if found is not None and found[0] < fetchable:
                    result["offset"], result["timestamp"] = found
            else:
                result["error_code"] = ErrorCode.invalid_request  # no such special timestamp
            parts.append(result)
        topics.append({"name": topic.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
