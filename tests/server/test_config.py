"""Broker settings: Java properties syntax, Kafka's key names and defaults, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcli.properties import parse_properties
from kcli.server.base.config import BrokerConfig, ConfigError, Listener


def test_java_properties_syntax() -> None:
    text = "a=1\nb : 2\nc 3\n# comment\n! comment\nd=multi\\\n    line\ne=\\u0041\\tq\nf=\nlisteners=PLAINTEXT://:9092\n"
    assert parse_properties(text) == {
        "a": "1",
        "b": "2",
        "c": "3",
        "d": "multiline",
        "e": "A\tq",
        "f": "",
        "listeners": "PLAINTEXT://:9092",
    }


def test_confluent_zookeeper_mode_file(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_text(
        "broker.id=0\n#listeners=PLAINTEXT://:9092\nnum.network.threads=3\nlog.dirs=/tmp/kafka-logs\n"
        "num.partitions=1\noffsets.topic.replication.factor=1\nlog.retention.hours=168\n"
        "log.segment.bytes=1073741824\nzookeeper.connect=localhost:2181\n"
        "group.initial.rebalance.delay.ms=0\n"
    )
    config = BrokerConfig.load(path)
    assert config.node_id == 0 and not config.kraft
    assert config.listeners == [Listener("PLAINTEXT", "", 9092)]
    assert config.advertised()[0].host == "localhost"
    assert config.log_dirs == [Path("/tmp/kafka-logs")]
    assert config.log_retention_ms == 168 * 3600 * 1000
    assert config.offsets_topic_replication_factor == 1
    assert config.group_initial_rebalance_delay_ms == 0
    assert config.zookeeper_connect == "localhost:2181"
    assert config.unknown_keys() == []


def test_kraft_file_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_text(
        "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n"
        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n"
        "log.dirs=/tmp/kraft-combined-logs\nlog.retention.ms=1000\nmade.up.key=1\n"
    )
    config = BrokerConfig.load(
        path, ["listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://:9093", "num.partitions=4"]
    )
    assert config.kraft and config.node_id == 1
    assert [ls.port for ls in config.client_listeners] == [19092]
    assert config.num_partitions == 4
    assert config.log_retention_ms == 1000
    assert config.unknown_keys() == ["made.up.key"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("num.partitions=many", "Invalid value many for configuration num.partitions"),
        ("auto.create.topics.enable=yes", "auto.create.topics.enable"),
        ("listeners=localhost:9092", "Invalid listeners entry"),
        ("process.roles=broker,worker", "process.roles"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "server.properties"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError, match=message):
        BrokerConfig.load(path)


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read configuration file"):
        BrokerConfig.load(tmp_path / "nope.properties")


def test_generated_ids_never_start_with_a_dash() -> None:
    """Like Kafka's Uuid.randomUuid: an id such as ``-x3...`` would read as an option on a command line."""
    from kcli.protocol.uuids import encode_cluster_id, random_uuid

    assert not any(encode_cluster_id(random_uuid()).startswith("-") for _ in range(5000))


def test_log_lines_use_log4j_level_names() -> None:
    """Unit test: Kafka's logs say WARN and FATAL (log4j), never Python's WARNING and CRITICAL."""
    import logging

    from kcli.server.base.logging_setup import KafkaFormatter

    def line(level: int) -> str:
        record = logging.LogRecord("kafka.log.LogManager", level, __file__, 1, "disk %s", ("full",), None)
        return KafkaFormatter().format(record)

    assert " WARN disk full (kafka.log.LogManager)" in line(logging.WARNING)
    assert " FATAL disk full " in line(logging.CRITICAL)
    assert " INFO disk full " in line(logging.INFO)
