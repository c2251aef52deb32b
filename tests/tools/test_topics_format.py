"""kafka-topics --describe formatting and option checks, from admin results (no broker needed)."""

from __future__ import annotations

import argparse
import io
from types import SimpleNamespace

import pytest
from confluent_kafka import Uuid

from kcli.tools.cli import ToolError, UsageError
from kcli.tools.topic_description import print_description, topic_id_text
from kcli.tools.topic_options import build_parser, check_args, parse_replica_assignment


def node(i: int) -> SimpleNamespace:
    return SimpleNamespace(id=i)


def partition(pid: int, leader: int | None, replicas: list[int], isr: list[int]) -> SimpleNamespace:
    return SimpleNamespace(
        id=pid,
        leader=None if leader is None else node(leader),
        replicas=[node(r) for r in replicas],
        isr=[node(r) for r in isr],
    )


def entry(value: str, source: int) -> SimpleNamespace:
    return SimpleNamespace(value=value, source=source)


def describe(argv: list[str], desc: SimpleNamespace, config: dict, live: set[int] | None = None) -> str:
    args = build_parser().parse_args(["--describe", "--bootstrap-server", "h:1", *argv])
    out = io.StringIO()
    print_description(args, desc, config, live, out)
    return out.getvalue()


DESC = SimpleNamespace(
    name="orders",
    topic_id=Uuid(0xFBFFFFFFFFFFFFFF - 2**64, 0x0123456789ABCDEF),
    partitions=[
        partition(1, 1, [1, 2, 0], [1, 2]),
        partition(0, None, [0, 1, 2], []),
        partition(2, 2, [2, 0, 1], [2, 0, 1]),
    ],
)
CONFIG = {
    "cleanup.policy": entry("compact", 1),
    "min.insync.replicas": entry("2", 1),
    "retention.ms": entry("604800000", 5),
    "segment.bytes": entry("1073741824", 4),
}


def test_topic_id_is_url_safe_base64_without_padding() -> None:
    assert topic_id_text(Uuid(0xFBFFFFFFFFFFFFFF - 2**64, 0x0123456789ABCDEF)) == "-_________8BI0VniavN7w"
    assert topic_id_text(Uuid(0, 0)) is None


def test_full_describe_sorted_partitions_and_non_default_configs() -> None:
    assert describe([], DESC, CONFIG).splitlines() == [
        "Topic: orders\tTopicId: -_________8BI0VniavN7w\tPartitionCount: 3\tReplicationFactor: 3\t"
        "Configs: cleanup.policy=compact,min.insync.replicas=2,segment.bytes=1073741824",
        "\tTopic: orders\tPartition: 0\tLeader: none\tReplicas: 0,1,2\tIsr: \tElr: N/A\tLastKnownElr: N/A",
        "\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1,2,0\tIsr: 1,2\tElr: N/A\tLastKnownElr: N/A",
        "\tTopic: orders\tPartition: 2\tLeader: 2\tReplicas: 2,0,1\tIsr: 2,0,1\tElr: N/A\tLastKnownElr: N/A",
    ]


def test_report_filters_print_only_matching_partitions() -> None:
    def partitions(flag: str, live: set[int] | None = None) -> list[str]:
        return [line.split("\t")[2] for line in describe([flag], DESC, CONFIG, live).splitlines()]

    assert partitions("--under-replicated-partitions") == ["Partition: 0", "Partition: 1"]
    assert partitions("--under-min-isr-partitions") == ["Partition: 0"]
    assert partitions("--at-min-isr-partitions") == ["Partition: 1"]
    assert partitions("--unavailable-partitions", {0, 1}) == ["Partition: 0", "Partition: 2"]


def test_topics_with_overrides() -> None:
    assert describe(["--topics-with-overrides"], DESC, CONFIG).count("\n") == 1
    defaults = {"retention.ms": entry("604800000", 5)}
    assert describe(["--topics-with-overrides"], DESC, defaults) == ""


def test_replica_assignment_parsing() -> None:
    assert parse_replica_assignment("0:1, 1:2,2:0") == [[0, 1], [1, 2], [2, 0]]
    with pytest.raises(ToolError, match="Partition replica lists may not contain duplicate entries: 1"):
        parse_replica_assignment("1:1")
    with pytest.raises(ToolError, match=r"Partition 1 has different replication factor: \[1\]"):
        parse_replica_assignment("0:1,1")


def _check(argv: list[str]) -> str:
    return check_args(build_parser().parse_args(argv))


def test_option_checks() -> None:
    assert _check(["--list", "--bootstrap-server", "h:1"]) == "list"
    with pytest.raises(UsageError, match='Missing required argument "partitions"'):
        _check(["--alter", "--topic", "t", "--bootstrap-server", "h:1"])
    with pytest.raises(UsageError, match='Option "replication-factor" can\'t be used with option "alter"'):
        _check(
            [
                "--alter",
                "--topic",
                "t",
                "--partitions",
                "2",
                "--replication-factor",
                "1",
                "--bootstrap-server",
                "h:1",
            ]
        )
    with pytest.raises(
        UsageError, match='Option "replica-assignment" can\'t be used with option "partitions"'
    ):
        _check(
            [
                "--create",
                "--topic",
                "t",
                "--partitions",
                "2",
                "--replica-assignment",
                "0",
                "--bootstrap-server",
                "h:1",
            ]
        )
    with pytest.raises(UsageError, match="exactly one action"):
        _check(["--list", "--describe", "--bootstrap-server", "h:1"])
    args = build_parser().parse_args(["--lis", "--bootstrap", "h:1"])  # unambiguous prefixes
    assert isinstance(args, argparse.Namespace) and args.list and args.bootstrap_server == "h:1"


def test_elr_as_kafka_4_prints_it() -> None:
    """Unit test: with DescribeTopicPartitions (a 4.x cluster) the ELR ids print, an empty list as
    nothing; without it (older brokers, kcli's) N/A, as Java's admin client falls back to Metadata.
    The response goes through kio's decoder exactly as the tool reads it off the wire."""
    import struct

    from kio.index import load_response_schema
    from kio.serial import entity_writer

    from kcli.protocol.frames import decode_response, read_size, recv_exactly
    from kcli.protocol.messages import build

    response_cls = load_response_schema(75, 0)
    partitions = [
        {"error_code": 0, "partition_index": 0, "leader_id": 0, "leader_epoch": 0, "replica_nodes": [0, 1, 2],
         "isr_nodes": [0], "eligible_leader_replicas": [1], "last_known_elr": [2], "offline_replicas": []},
        {"error_code": 0, "partition_index": 1, "leader_id": 1, "leader_epoch": 0, "replica_nodes": [1, 2, 0],
         "isr_nodes": [1, 2, 0], "eligible_leader_replicas": [], "last_known_elr": [], "offline_replicas": []},
    ]  # fmt: skip
    body = build(
        response_cls,
        {
            "throttle_time": 0,
            "topics": [{"error_code": 0, "name": "orders", "topic_id": None, "is_internal": False,
                        "partitions": partitions, "topic_authorized_operations": -2147483648}],
            "next_cursor": None,
        },
    )  # fmt: skip
    frame = io.BytesIO()
    entity_writer(response_cls.__header_schema__)(frame, response_cls.__header_schema__(correlation_id=1))
    entity_writer(response_cls)(frame, body)
    payload = frame.getvalue()

    class Wire:
        data = struct.pack(">i", len(payload)) + payload

        def recv(self, size: int) -> bytes:
            chunk, self.data = self.data[:size], self.data[size:]
            return chunk

    wire = Wire()
    correlation_id, decoded = decode_response(75, 0, recv_exactly(wire, read_size(wire)))  # type: ignore[arg-type]
    assert correlation_id == 1
    elr = {
        p.partition_index: (p.eligible_leader_replicas, p.last_known_elr)
        for p in decoded.topics[0].partitions
    }
    desc = SimpleNamespace(name="orders", topic_id=None, partitions=[partition(0, 0, [0, 1, 2], [0]),
                                                                     partition(1, 1, [1, 2, 0], [1, 2, 0])])  # fmt: skip
    args = build_parser().parse_args(["--describe", "--bootstrap-server", "h:1"])
    out = io.StringIO()
    print_description(args, desc, {}, None, out, elr)
    assert out.getvalue().splitlines()[1:] == [
        "\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0,1,2\tIsr: 0\tElr: 1\tLastKnownElr: 2",
        "\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1,2,0\tIsr: 1,2,0\tElr: \tLastKnownElr: ",
    ]
    assert describe([], desc, {}).splitlines()[1].endswith("\tElr: N/A\tLastKnownElr: N/A")
