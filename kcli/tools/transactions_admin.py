"""kafka-transactions' admin requests: what Java's Admin sends for it, with its retries and error texts.

Metadata, ListTransactions, FindCoordinator then DescribeTransactions, DescribeProducers, sent over
PLAINTEXT with kio (:mod:`kcli.tools.admin_wire`; confluent-kafka has none of them). The
subcommands that print their answers are :mod:`kcli.tools.transactions`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, NoReturn

from kio.schema.errors import ErrorCode

from kcli.tools.admin_wire import Connection, Node, Reader
from kcli.tools.cli import ToolError

TIMEOUT_S = 30.0  # the admin client's default.api.timeout.ms (60 s) would feel hung in a lab


RETRIABLE = {
    ErrorCode.coordinator_load_in_progress,
    ErrorCode.coordinator_not_available,
    ErrorCode.not_coordinator,
}


MESSAGES = {  # Kafka's Errors messages for what these requests answer
    ErrorCode.unknown_topic_or_partition: "This server does not host this topic-partition.",
    ErrorCode.not_leader_or_follower: "For requests intended only for the leader, this error indicates that the broker is not the current "
    "leader. For requests intended for any replica, this error indicates that the broker is not a replica of "
    "the topic partition.",
    ErrorCode.coordinator_not_available: "The coordinator is not available.",
    ErrorCode.not_coordinator: "This is not the correct coordinator.",
    ErrorCode.invalid_producer_epoch: "Producer attempted to produce with an old epoch.",
    ErrorCode.invalid_txn_state: "The producer attempted a transactional operation in an invalid state.",
    ErrorCode.transaction_coordinator_fenced: "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current "
    "coordinator for a given producer.",
    ErrorCode.transactional_id_not_found: "The transactionalId could not be found.",
}


def fail_because(what: str, reason: str) -> NoReturn:
    """Kafka's printErrorAndExit(message, cause)."""
    raise ToolError(f"{what}: {reason}. Enable debug logging for additional detail.")


def error_message(code: int) -> str:
    if code in MESSAGES:
        return MESSAGES[code]
    try:
        from kio.schema.errors import ErrorCode

        return ErrorCode(code).name.upper()
    except ValueError:
        return f"error code {code}"


@dataclass
class PartitionInfo:
    leader: int
    replicas: list[int]


class Cluster:
    """Metadata from a bootstrap broker and connections to the brokers it names."""

    def __init__(self, bootstrap: str):
        from kcli.client import split_bootstrap

        self.bootstrap = split_bootstrap(bootstrap)
        self.nodes: dict[int, Node] = {}
        self.topics: dict[str, dict[int, PartitionInfo]] = {}
        self.topic_errors: dict[str, int] = {}
        self._conns: dict[tuple[str, int], Connection] = {}

    def connection(self, host: str, port: int) -> Connection:
        key = (host, port)
        if key not in self._conns:
            self._conns[key] = Connection(host, port, TIMEOUT_S)
        return self._conns[key]

    def to_node(self, node_id: int) -> Connection:
        node = self.nodes.get(node_id)
        if node is None:
            raise ToolError(f"Broker {node_id} is not in the cluster's metadata")
        return self.connection(node.host, node.port)

    def any_broker(self) -> Connection:
        last: ToolError | None = None
        for host, port in self.bootstrap:
            conn = self.connection(host, port)
            try:
                conn.open()
                return conn
            except ToolError as exc:
                last = exc
        raise last or ToolError("No bootstrap server given")

    def load(self, topics: list[str] | None) -> None:
        """Metadata v9: brokers, and the partitions of ``topics`` (None = every topic)."""
        body = {
            "topics": None if topics is None else [{"name": t} for t in topics],
            "allow_auto_topic_creation": False,
            "include_cluster_authorized_operations": False,
            "include_topic_authorized_operations": False,
        }
        response = self.any_broker().request(3, 9, body)
        self.nodes = {int(b.node_id): Node(int(b.node_id), b.host, int(b.port)) for b in response.brokers}
        for t in response.topics:
            code = int(t.error_code)
            if code:
                self.topic_errors[t.name] = code
                continue
            self.topics[t.name] = {
                int(p.partition_index): PartitionInfo(int(p.leader_id), [int(r) for r in p.replica_nodes])
                for p in t.partitions
            }

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()


def find_coordinator(cluster: Cluster, transactional_id: str) -> Node:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        r = cluster.any_broker().request(10, 3, {"key": transactional_id, "key_type": 1})
        code = int(r.error_code)
        if code == 0:
            return Node(int(r.node_id), r.host, int(r.port))
        if code not in RETRIABLE or time.monotonic() > deadline:
            fail_because(
                f"Failed to describe transaction state of transactional-id `{transactional_id}`",
                error_message(code),
            )
        time.sleep(0.2)


def decode_describe_transactions(frame: bytes, pos: int) -> list[dict[str, Any]]:
    """DescribeTransactions v0's body, read by hand: TransactionStartTimeMs is -1 when the id has
    no transaction (kio's reader refuses a negative timestamp)."""
    r = Reader(frame, pos)
    r.int32()  # throttle time
    states = []
    for _ in range(r.compact_array_len()):
        state: dict[str, Any] = {
            "error_code": r.int16(),
            "transactional_id": r.compact_string(),
            "transaction_state": r.compact_string(),
            "transaction_timeout_ms": r.int32(),
            "transaction_start_time_ms": r.int64(),
            "producer_id": r.int64(),
            "producer_epoch": r.int16(),
            "partitions": [],
        }
        for _ in range(r.compact_array_len()):
            topic = r.compact_string()
            for _ in range(r.compact_array_len()):
                state["partitions"].append((topic, r.int32()))
            r.skip_tagged()
        r.skip_tagged()
        states.append(state)
    return states


def describe_transaction(cluster: Cluster, transactional_id: str) -> dict[str, Any]:
    """(coordinator id, the DescribeTransactions answer) after Kafka's retries and errors."""
    what = f"Failed to describe transaction state of transactional-id `{transactional_id}`"
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        node = find_coordinator(cluster, transactional_id)
        frame, pos = cluster.connection(node.host, node.port).raw(
            65, 0, {"transactional_ids": [transactional_id]}
        )
        (state,) = decode_describe_transactions(frame, pos)
        code = state["error_code"]
        if code == 0:
            state["coordinator_id"] = node.node_id
            return state
        if code == ErrorCode.transactional_id_not_found:
            fail_because(
                what,
                f"DescribeTransactions request for transactionalId `{transactional_id}` failed because the ID "
                "could not be found",
            )
        if code not in RETRIABLE or time.monotonic() > deadline:
            fail_because(
                what,
                f"DescribeTransactions request for transactionalId `{transactional_id}` failed due to unexpected "
                f"error: {error_message(code)}",
            )
        time.sleep(0.2)


@dataclass
class ProducerState:
    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int
    current_txn_start_offset: int


def partition_leader(cluster: Cluster, topic: str, partition: int) -> int:
    info = cluster.topics.get(topic, {}).get(partition)
    if info is None:
        code = cluster.topic_errors.get(topic, 3)
        raise PartitionError(code)
    return info.leader


class PartitionError(Exception):
    """A partition's error code from Metadata or DescribeProducers, with Kafka's message."""

    def __init__(self, code: int):
        super().__init__(error_message(code))
        self.code = code


def producers_of(
    cluster: Cluster, partitions: list[tuple[str, int]], broker_id: int | None
) -> dict[tuple[str, int], list[ProducerState]]:
    """DescribeProducers to each partition's leader (or ``broker_id``)."""
    by_node: dict[int, list[tuple[str, int]]] = {}
    for tp in partitions:
        node = broker_id if broker_id is not None else partition_leader(cluster, *tp)
        by_node.setdefault(node, []).append(tp)
    out: dict[tuple[str, int], list[ProducerState]] = {}
    for node, tps in by_node.items():
        topics: dict[str, list[int]] = {}
        for t, p in tps:
            topics.setdefault(t, []).append(p)
        body = {"topics": [{"name": t, "partition_indexes": ps} for t, ps in topics.items()]}
        response = cluster.to_node(node).request(61, 0, body)
        for t in response.topics:
            for p in t.partitions:
                code = int(p.error_code)
                if code:
                    raise PartitionError(code)
                out[(t.name, int(p.partition_index))] = [
                    ProducerState(
                        int(a.producer_id),
                        int(a.producer_epoch),
                        int(a.last_sequence),
                        int(a.last_timestamp),
                        int(a.coordinator_epoch),
                        int(a.current_txn_start_offset),
                    )
                    for a in p.active_producers
                ]
    return out
