"""DescribeLogDirs and AlterReplicaLogDirs: the log dirs of this broker and moving replicas
between them (:mod:`kcli.server.storage.log_dir_mover`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api

IO_RATE_CONFIG = "replica.alter.log.dirs.io.max.bytes.per.second"


def _dir_error(broker: Any, log_dir: Path) -> ErrorCode:
    """KAFKA_STORAGE_ERROR for a dir that cannot be used now (Kafka's offline log dir)."""
    return ErrorCode.kafka_storage_error if broker.logs.dir_offline(log_dir) else ErrorCode.none


@api(35, "DescribeLogDirs", 1, 4)
async def describe_log_dirs(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    wanted = None
    if request.topics is not None:
        wanted = {(t.topic, p) for t in request.topics for p in t.partitions}
    moves = broker.logs.moves
    results = []
    for log_dir in broker.config.log_dirs:
        by_topic: dict[str, list[dict]] = {}
        for (topic, index), partition in sorted(broker.partitions.items()):
            if wanted is not None and (topic, index) not in wanted:
                continue
            if partition.log.directory.parent == log_dir:
                by_topic.setdefault(topic, []).append(
                    {
                        "partition_index": index,
                        "partition_size": partition.log.size_bytes,
                        "offset_lag": 0,
                        "is_future_key": False,
                    }
                )
            move = moves.get((topic, index))
            if move is not None and move.target_dir == log_dir and not move.cancelled:
                by_topic.setdefault(topic, []).append(
                    {
                        "partition_index": index,
                        "partition_size": move.copied_bytes,
                        "offset_lag": move.offset_lag,
                        "is_future_key": True,
                    }
                )
        error = _dir_error(broker, log_dir)
        try:
            usage = shutil.disk_usage(log_dir)
            total, usable = usage.total, usage.free
        except OSError:
            total = usable = -1
        if error:
            # As Kafka answers for an offline log dir: the error, no partitions, no sizes. (kcli
            # still serves reads of a dir whose writes fail, see dir_health.)
            by_topic, total, usable = {}, -1, -1
        results.append(
            {
                "error_code": error,
                "log_dir": str(log_dir),
                "topics": [{"name": n, "partitions": ps} for n, ps in by_topic.items()],
                "total_bytes": total,
                "usable_bytes": usable,
            }
        )
    return {"throttle_time": 0, "error_code": ErrorCode.none, "results": results}


@api(34, "AlterReplicaLogDirs", 1, 2)
async def alter_replica_log_dirs(ctx: RequestContext, request: Any) -> dict:
    """Start moving each replica to its dir, answered at once (the move goes on in the background;
    DescribeLogDirs shows it as a future replica). Errors as Kafka's ReplicaManager: a dir not in
    ``log.dirs`` is LOG_DIR_NOT_FOUND, one that cannot be written KAFKA_STORAGE_ERROR, a replica
    this broker does not host REPLICA_NOT_AVAILABLE (the tool retries those), a topic name too
    long for the future dir's name INVALID_TOPIC_EXCEPTION."""
    broker = ctx.broker
    dirs = {os.path.abspath(d): Path(d) for d in broker.config.log_dirs}
    results: dict[str, list[dict]] = {}
    for entry in request.dirs:
        target = dirs.get(os.path.abspath(entry.path)) if entry.path else None
        for t in entry.topics:
            for index in t.partitions:
                code = _alter_one(broker, t.name, int(index), target)
                results.setdefault(t.name, []).append({"partition_index": index, "error_code": code})
    return {
        "throttle_time": 0,
        "results": [{"topic_name": name, "partitions": parts} for name, parts in results.items()],
    }


def _io_rate(broker: Any) -> int | None:
    """The copy's ``replica.alter.log.dirs.io.max.bytes.per.second``: the dynamic broker config
    (``kafka-configs --entity-type brokers`` or ``kafka-reassign-partitions
    --replica-alter-log-dirs-throttle``) when set, else the static setting; unset is unlimited, as
    Kafka's default. The mover asks again each round, so a change applies to a running move, as
    a changed quota does in Kafka."""
    dynamic = getattr(broker.catalog, "broker_configs", {}).get(IO_RATE_CONFIG)
    text = dynamic if dynamic is not None else broker.config.raw.get(IO_RATE_CONFIG, "")
    try:
        rate = int(text)
    except ValueError:
        return None
    return rate if 0 < rate < (1 << 62) else None


def _alter_one(broker: Any, topic: str, index: int, target: Path | None) -> ErrorCode:
    if not broker.logs.movable_name(topic, index):
        return ErrorCode.invalid_topic_exception
    if target is None:
        return ErrorCode.log_dir_not_found
    if _dir_error(broker, target):
        return ErrorCode.kafka_storage_error
    partition = broker.partitions.get((topic, index))
    if partition is None or broker.logs.get(topic, index) is None:
        return ErrorCode.replica_not_available
    if _dir_error(broker, partition.log.directory.parent):
        return ErrorCode.kafka_storage_error

    def on_moved(moved: Any) -> None:
        current = broker.partitions.get((topic, index))
        if current is not None:
            current.log = moved

    try:
        broker.logs.move(topic, index, target, on_moved, lambda: _io_rate(broker))
    except OSError:  # the future replica's directory could not be created (logged for the dir)
        return ErrorCode.kafka_storage_error
    return ErrorCode.none
