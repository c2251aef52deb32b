"""kafka-topics --describe formatting and option checks, from admin results (no broker needed)."""

from __future__ import annotations

import argparse
import io
from types import SimpleNamespace

import pytest
from confluent_kafka import Uuid

from kcli.tools.cli import ToolError, UsageError
from kcli.tools.topics import (
    build_parser,
    check_args,
    parse_replica_assignment,
    print_description,
    topic_id_text,
)


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
