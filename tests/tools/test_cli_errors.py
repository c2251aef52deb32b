"""Option errors, help, version and an unreachable broker, as students meet them (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


@pytest.mark.parametrize("tool", [*TOOLS, "consumer_groups", "leader_election", "avro_console_producer"])
def test_version_is_the_kafka_version_kcli_matches(tool: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CONFLUENT_HOME"}
    result = subprocess.run(
        [sys.executable, "-m", f"kcli.tools.{tool}", "--version"], capture_output=True, text=True, env=env
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "3.9.0\n", "")


@pytest.mark.parametrize(
    "module, args",
    [
        ("kcli.server.start", ["--version"]),
        ("kcli.server.start", ["server.properties", "--version"]),  # Kafka.scala looks for it anywhere
        ("kcli.server.storage_tool", ["--version"]),
    ],
)
def test_server_commands_print_the_kafka_version(module: str, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CONFLUENT_HOME"}
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "3.9.0\n", "")


def test_version_under_confluent_home_is_confluent_platforms(tmp_path: Path) -> None:
    """``$CONFLUENT_HOME/bin/kafka-topics`` is Confluent Platform 7.9's tool (Kafka 3.9 as 7.9.0-ccs);
    the Apache name ``kafka-topics.sh`` in the same directory prints Apache Kafka's version."""
    from kcli.home import layout

    home = layout(tmp_path / "confluent")
    env = dict(os.environ, CONFLUENT_HOME=str(home))
    confluent = subprocess.run(
        [str(home / "bin" / "kafka-topics"), "--version"], capture_output=True, text=True, env=env
    )
    apache = subprocess.run(
        [str(home / "bin" / "kafka-topics.sh"), "--version"], capture_output=True, text=True, env=env
    )
    assert (confluent.returncode, confluent.stdout) == (0, "7.9.0-ccs\n")
    assert (apache.returncode, apache.stdout) == (0, "3.9.0\n")


def test_kcli_version_is_its_own() -> None:
    from kcli import __version__

    result = subprocess.run(
        [sys.executable, "-m", "kcli.cli.main", "--version"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, f"kcli {__version__}\n")


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


#: (tool, its arguments, stdin, the option naming a client config file, the timeout it waits within)
UNREACHABLE = [
    ("topics", ["--list"], "", "--command-config", "default.api.timeout.ms"),
    ("topics", ["--describe", "--topic", "x"], "", "--command-config", "default.api.timeout.ms"),
    ("console_producer", ["--topic", "x"], "a\n", "--producer.config", "max.block.ms"),
    ("console_consumer", ["--topic", "x"], "", "--consumer.config", "default.api.timeout.ms"),
    ("get_offsets", ["--topic", "x"], "", "--command-config", "default.api.timeout.ms"),
    (
        "configs",
        ["--describe", "--entity-type", "topics", "--entity-name", "x"],
        "",
        "--command-config",
        "default.api.timeout.ms",
    ),
    ("consumer_groups", ["--list"], "", "--command-config", "default.api.timeout.ms"),
    ("delete_records", ["--offset-json-file", "PLAN"], "", "--command-config", "default.api.timeout.ms"),
    (
        "leader_election",
        ["--election-type", "PREFERRED", "--all-topic-partitions"],
        "",
        "--admin.config",
        "default.api.timeout.ms",
    ),
    (
        "producer_perf_test",
        ["--topic", "x", "--num-records", "1", "--record-size", "10", "--throughput", "-1"],
        "",
        "--producer.config",
        "max.block.ms",
    ),
    (
        "consumer_perf_test",
        ["--topic", "x", "--messages", "1"],
        "",
        "--consumer.config",
        "default.api.timeout.ms",
    ),
    (
        "avro_console_producer",
        ["--topic", "x", "--property", 'value.schema="string"'],
        '"a"\n',
        "--producer.config",
        "max.block.ms",
    ),
    ("avro_console_consumer", ["--topic", "x"], "", "--consumer.config", "default.api.timeout.ms"),
]


@pytest.mark.parametrize(("tool", "args", "stdin", "config_option", "setting"), UNREACHABLE)
def test_unreachable_broker_is_retried_then_one_line_naming_the_address(
    tool: str, args: list[str], stdin: str, config_option: str, setting: str, tmp_path: Path
) -> None:
    """Every tool retries a broker that refuses connections within Java's timeout (here shortened
    in the client config), says so once, then fails with one line naming the address."""
    address = f"127.0.0.1:{free_port()}"
    config = tmp_path / "client.properties"
    config.write_text(f"{setting}=1500\n")
    plan = tmp_path / "plan.json"
    plan.write_text('{"partitions": [{"topic": "x", "partition": 0, "offset": 1}], "version": 1}')
    args = [str(plan) if a == "PLAN" else a for a in args]
    started = time.monotonic()
    # an unambiguous prefix of --bootstrap-server, as joptsimple accepts (kafka-configs also has
    # --bootstrap-controller, so there the prefix must be longer)
    result = run_tool(
        tool, [*args, "--bootstrap-s", address, config_option, str(config)], stdin=stdin, timeout=60
    )
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 15, elapsed
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Processed a total")]
    assert lines[0] == (
        f"WARN Connection to {address} could not be established. Broker may not be available: "
        f"retrying for up to 1500 ms ({setting})."
    ), result.stderr
    assert len(lines) == 2, result.stderr
    assert f"Could not connect to any Kafka broker at {address}" in lines[1]
    assert "Traceback" not in result.stderr


def test_unresolvable_bootstrap_fails_at_once() -> None:
    """As Java's ClientUtils: no address resolves, nothing to wait for."""
    result = run_tool("topics", ["--list", "--bootstrap-server", "no-such-host.invalid:9092"], timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error while executing topic command : No resolvable bootstrap urls given in bootstrap.servers: "
        "no-such-host.invalid:9092"
    )


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
