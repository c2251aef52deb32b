"""Option errors, help, version and an unreachable broker, as students meet them (subprocesses)."""

from __future__ import annotations

import time

import pytest

from tests.broker_process import free_port
from tests.tools.helpers import run_tool

TOOLS = [
    "topics",
    "console_producer",
    "console_consumer",
    "configs",
    "get_offsets",
    "delete_records",
    "producer_perf_test",
    "consumer_perf_test",
    "dump_log",
]


@pytest.mark.parametrize("tool", TOOLS)
def test_help_exits_zero_and_parser_is_constructible(tool: str) -> None:
    import importlib

    module = importlib.import_module(f"kcli.tools.{tool}")
    assert module.build_parser().prog.startswith("kafka-")
    result = run_tool(tool, ["--help"])
    assert result.returncode == 0
    assert result.stdout.startswith("usage: kafka-")
    assert "Traceback" not in result.stderr


def test_version() -> None:
    from kcli import __version__

    result = run_tool("topics", ["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == __version__


def test_unknown_option_one_line_then_usage() -> None:
    result = run_tool("topics", ["--list", "--bootstrap-server", "h:1", "--bogus"])
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "--bogus is not a recognized option"
    assert lines[1].startswith("usage: kafka-topics")
    assert result.stdout == ""


def test_missing_action_and_missing_topic() -> None:
    result = run_tool("topics", ["--bootstrap-server", "h:1"])
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
    )
    result = run_tool("topics", ["--create", "--bootstrap-server", "h:1"])
    assert result.stderr.splitlines()[0] == 'Missing required argument "topic"'
    result = run_tool("console_producer", ["--bootstrap-server", "h:1"])
    assert result.stderr.splitlines()[0] == 'Missing required argument "topic"'
    result = run_tool("console_consumer", ["--bootstrap-server", "h:1"])
    assert result.stderr.splitlines()[0] == "Exactly one of --include/--topic is required. "


def test_bad_value_names_the_option() -> None:
    result = run_tool(
        "topics", ["--create", "--topic", "t", "--partitions", "three", "--bootstrap-server", "h:1"]
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "Cannot parse argument 'three' of option partitions"
    result = run_tool("topics", ["--create", "--bootstrap-server", "h:1", "--topic"])
    assert result.stderr.splitlines()[0] == "Option topic requires an argument"


def test_invalid_combinations_use_kafka_texts() -> None:
    result = run_tool("console_consumer", ["--topic", "t", "--offset", "5", "--bootstrap-server", "h:1"])
    assert result.stderr.splitlines()[0] == "The partition is required when offset is specified."
    result = run_tool(
        "console_consumer", ["--topic", "t", "--partition", "0", "--offset", "x", "--bootstrap-server", "h:1"]
    )
    assert result.stderr.splitlines()[0] == (
        "The provided offset value 'x' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
    )
    result = run_tool("topics", ["--list", "--if-not-exists", "--bootstrap-server", "h:1"])
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == 'Option "if-not-exists" can\'t be used with option "list"'


@pytest.mark.parametrize(
    ("tool", "args", "stdin"),
    [
        ("topics", ["--list"], ""),
        ("topics", ["--describe", "--topic", "x"], ""),
        ("console_producer", ["--topic", "x"], "a\n"),
        ("console_consumer", ["--topic", "x"], ""),
        ("get_offsets", ["--topic", "x"], ""),
        ("configs", ["--describe", "--entity-type", "topics", "--entity-name", "x"], ""),
    ],
)
def test_unreachable_broker_is_one_line_naming_the_address(tool: str, args: list[str], stdin: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    # an unambiguous prefix of --bootstrap-server, as joptsimple accepts (kafka-configs also has
    # --bootstrap-controller, so there the prefix must be longer)
    result = run_tool(tool, [*args, "--bootstrap-s", address], stdin=stdin, timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Processed a total")]
    assert len(lines) == 1, result.stderr
    assert address in lines[0]
    assert "Traceback" not in result.stderr


def test_zookeeper_option_is_accepted_and_fails_in_one_line() -> None:
    """--zookeeper (removed in Kafka 3.0) resolves through kcli.zookeeper; nothing listens here."""
    port = free_port()
    result = run_tool("topics", ["--list", "--zookeeper", f"127.0.0.1:{port}"], timeout=60)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_avro_deserializer_without_a_registry_url_is_one_line() -> None:
    result = run_tool(
        "console_consumer",
        [
            "--topic",
            "t",
            "--bootstrap-server",
            f"127.0.0.1:{free_port()}",
            "--property",
            "value.deserializer=io.confluent.kafka.serializers.KafkaAvroDeserializer",
        ],
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0]
