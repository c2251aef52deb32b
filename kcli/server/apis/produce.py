"""Produce: validate each partition's record batches and append them as they are.

The storage layer checks batch headers and CRCs, assigns offsets by rewriting the header and
writes the bytes; records are never decoded here. With acks=0 no response is sent, as in Kafka.
"""

from __future__ import annotations

import logging
from typing import Any

from kcli.server.apis.registry import RequestContext, api

log = logging.getLogger("kafka.server.ReplicaManager")

UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_SERVER_ERROR = -1
INVALID_REQUIRED_ACKS = 21
TRANSACTIONAL_ID_NOT_FOUND = 105


def _partition_error(index: int, code: int, message: str | None = None) -> dict[str, Any]:
    return {
        "index": index,
        "error_code": code,
        "base_offset": -1,
        "log_append_time": -1,
        "log_start_offset": -1,
        "record_errors": [],
        "error_message": message,
    }


@api(0, "Produce", 3, 12)
async def produce(ctx: RequestContext, request: Any) -> dict | None:
    broker = ctx.broker
    responses = []
    valid_acks = request.acks in (-1, 0, 1)
    for topic in request.topic_data:
        parts = []
        for pd in topic.partition_data:
            if not valid_acks:
                parts.append(_partition_error(pd.index, INVALID_REQUIRED_ACKS))
                continue
            partition = broker.partition(topic.name, pd.index)
            if partition is None:
                parts.append(_partition_error(pd.index, UNKNOWN_TOPIC_OR_PARTITION))
                continue
            try:
                result = partition.append(pd.records or b"", now_ms=ctx.received_ms)
            except Exception as exc:
                code = getattr(exc, "error_code", None)
                if code is None:
                    log.exception("Error appending to %s-%d", topic.name, pd.index)
                    code = UNKNOWN_SERVER_ERROR
                parts.append(_partition_error(pd.index, code, str(exc) or None))
                continue
            parts.append(
                {
                    "index": pd.index,
                    "error_code": 0,
                    "base_offset": result.base_offset,
                    "log_append_time": result.log_append_time,
                    "log_start_offset": result.log_start_offset,
                    "record_errors": [],
                    "error_message": None,
                }
            )
        responses.append({"name": topic.name, "partition_responses": parts})
    if request.acks == 0:
        return None
    return {"responses": responses, "throttle_time": 0}
