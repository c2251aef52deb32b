"""kafka-reassign-partitions' moves between log dirs: the ``log_dirs`` of the plan, as Kafka's tool.

``--execute`` sends AlterReplicaLogDirs to each broker (retrying, until ``--timeout``, the replicas
a broker does not host yet); ``--verify`` reports each move from DescribeLogDirs.
"""

from __future__ import annotations

import time
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.tools.cli import ToolError
from kcli.tools.reassignment_calls import (
    Failed,
)

Replica = tuple[str, int, int]  # topic, partition, broker: Kafka's TopicPartitionReplica

ALTER_REPLICA_LOG_DIRS_VERSION = 1  # every broker since Kafka 1.1; kcli's answer 1 and 2

DESCRIBE_LOG_DIRS_VERSION = 1

REPLICA_NOT_AVAILABLE = int(ErrorCode.replica_not_available)

# The exception Kafka's admin client raises for each error AlterReplicaLogDirs answers, with its message.
LOG_DIR_ERRORS = {
    int(ErrorCode.log_dir_not_found): (
        "LogDirNotFoundException",
        "The user-specified log directory is not found in the broker config.",
    ),
    int(ErrorCode.kafka_storage_error): (
        "KafkaStorageException",
        "Disk error when trying to access log file on the disk.",
    ),
    int(ErrorCode.invalid_topic_exception): (
        "InvalidTopicException",
        "The request attempted to perform an operation on an invalid topic.",
    ),
    int(ErrorCode.cluster_authorization_failed): (
        "ClusterAuthorizationException",
        "Cluster authorization failed.",
    ),
}


def replica_text(r: Replica) -> str:
    """TopicPartitionReplica.toString: ``topic-partition-broker``."""
    return f"{r[0]}-{r[1]}-{r[2]}"


def replica_order(r: Replica) -> tuple[int, str, int]:
    """Kafka's compareTopicPartitionReplicas: broker, then topic, then partition."""
    return (r[2], r[0], r[1])


def alter_replica_log_dirs(view: Any, moves: dict[Replica, str]) -> set[Replica]:
    """AlterReplicaLogDirs to each broker; the replicas whose move started. A replica its broker
    does not host yet (REPLICA_NOT_AVAILABLE) is left for the next try, as Kafka's tool does;
    any other error fails the command."""
    started: set[Replica] = set()
    by_broker: dict[int, dict[str, dict[str, list[int]]]] = {}
    for (topic, partition, broker), path in moves.items():
        by_broker.setdefault(broker, {}).setdefault(path, {}).setdefault(topic, []).append(partition)
    for broker in sorted(by_broker):
        body = {
            "dirs": [
                {"path": path, "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()]}
                for path, topics in by_broker[broker].items()
            ]
        }
        response = view.request(34, ALTER_REPLICA_LOG_DIRS_VERSION, body, node_id=broker)
        for t in response.results:
            for p in t.partitions:
                replica = (t.topic_name, int(p.partition_index), broker)
                code = int(p.error_code)
                if code == 0:
                    started.add(replica)
                elif code != REPLICA_NOT_AVAILABLE:
                    name, message = LOG_DIR_ERRORS.get(code, ("ApiException", f"error code {code}"))
                    raise Failed(
                        f"Failed to alter dir for {replica_text(replica)}\nCaused by: "
                        f"org.apache.kafka.common.errors.{name}: {message}"
                    )
    return started


def execute_moves(view: Any, moves: dict[Replica, str], timeout_ms: int) -> None:
    """Kafka's executeMoves: start every move, retrying those not yet possible until the timeout."""

    deadline = time.monotonic() + timeout_ms / 1000
    pending = dict(moves)
    while True:
        started = alter_replica_log_dirs(view, pending)
        for r in sorted(started, key=replica_order):
            print(
                f"Successfully started moving log directory to {pending[r]} for replica {r[0]}-{r[1]} "
                f"with broker {r[2]} "
            )
        for r in started:
            del pending[r]
        if not pending:
            return
        if time.monotonic() >= deadline:
            names = ",".join(replica_text(r) for r in sorted(pending, key=replica_order))
            raise Failed(
                f"Timed out before log directory move{'' if len(pending) == 1 else 's'} could be started "
                f"for: {names}",
                terse=True,
            )
        time.sleep(0.1)  # a replica a reassignment brings to this broker appears meanwhile


def log_dir_move_states(view: Any, moves: dict[Replica, str]) -> dict[Replica, tuple[str, ...]]:
    """Kafka's findLogDirMoveStates from DescribeLogDirs (describeReplicaLogDirs): per replica
    ("missing-replica",), ("missing-dir",), ("completed",), ("cancelled", current) or
    ("active", current, future)."""
    by_broker: dict[int, list[Replica]] = {}
    for r in moves:
        by_broker.setdefault(r[2], []).append(r)
    states: dict[Replica, tuple[str, ...]] = {}
    for broker, replicas in by_broker.items():
        topics: dict[str, list[int]] = {}
        for t, p, _ in replicas:
            topics.setdefault(t, []).append(p)
        body = {"topics": [{"topic": t, "partitions": ps} for t, ps in topics.items()]}
        try:
            response = view.request(35, DESCRIBE_LOG_DIRS_VERSION, body, node_id=broker)
        except ToolError:
            for r in replicas:
                states[r] = ("missing-replica",)
            continue
        current: dict[tuple[str, int], str] = {}
        future: dict[tuple[str, int], str] = {}
        for result in response.results:
            if int(result.error_code):
                continue
            for t in result.topics:
                for p in t.partitions:
                    where = future if p.is_future_key else current
                    where[(t.name, int(p.partition_index))] = str(result.log_dir)
        for r in replicas:
            tp, target = (r[0], r[1]), moves[r]
            if tp not in current and tp not in future:
                states[r] = ("missing-replica",)
            elif tp not in current:
                states[r] = ("missing-dir",)
            elif tp not in future:
                states[r] = ("completed",) if current[tp] == target else ("cancelled", current[tp])
            else:
                states[r] = ("active", current[tp], future[tp])
    return states


def format_move_states(states: dict[Replica, tuple[str, ...]], moves: dict[Replica, str]) -> str:
    """Kafka's replicaMoveStatesToString (an empty line when no log_dirs were given)."""
    lines = []
    for r in sorted(states, key=replica_order):
        state, target, tp = states[r], moves[r], f"{r[0]}-{r[1]}"
        kind = state[0]
        if kind == "missing-dir":
            lines.append(
                f"Partition {tp} is not found in any live log dir on broker {r[2]}. There is likely an "
                "offline log directory on the broker."
            )
        elif kind == "missing-replica":
            lines.append(f"Partition {tp} cannot be found in any live log directory on broker {r[2]}.")
        elif kind == "active":
            if state[2] == target:
                lines.append(f"Reassignment of replica {replica_text(r)} is still in progress.")
            else:
                lines.append(
                    f"Partition {tp} on broker {r[2]} is being moved to log dir {state[2]} instead of {target}."
                )
        elif kind == "cancelled":
            lines.append(
                f"Partition {tp} on broker {r[2]} is not being moved from log dir {state[1]} to {target}."
            )
        else:
            lines.append(f"Reassignment of replica {replica_text(r)} completed successfully.")
    return "\n".join(lines)
