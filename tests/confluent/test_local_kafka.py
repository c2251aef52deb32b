"""``confluent local kafka start|stop`` and ``confluent local kafka topic ...``: a KRaft broker and a
REST Proxy as processes (Confluent runs them in Docker), found again by the saved ports."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator

import pytest

from tests.confluent.helpers import CONFLUENT, Stack
from tests.e2e.helpers import free_port, isolated_env, live_pid_files, terminate_recorded


def two_free_ports() -> int:
    """A free port whose two successors are free too (a second broker's, the controller's)."""
    while True:
        port = free_port()
        if all(_bindable(port + i) for i in (1, 2)):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


@pytest.fixture
def cli(tmp_path) -> Iterator[Stack]:
    env = isolated_env(tmp_path)
    made = Stack(env, tmp_path, 0, two_free_ports(), 0, free_port())
    try:
        yield made
    finally:
        made.run("local", "kafka", "stop")
        home = tmp_path / "kcli-home"
        leftovers = live_pid_files(home)
        terminate_recorded(home)
        assert leftovers == []


def test_local_kafka_lifecycle_and_topics(cli: Stack) -> None:
    assert CONFLUENT
    before = cli.run("local", "kafka", "topic", "list")
    assert before.returncode == 1 and before.stderr.startswith(
        "Error: failed to read local ports from config\n"
    )
    started = cli.ok(
        "local", "kafka", "start", "--plaintext-ports", str(cli.kafka), "--kafka-rest-ports", str(cli.rest)
    )
    rest_cell = f"{cli.rest:<5}"
    assert started.stdout.startswith(
        f"+-----------------+-------+\n| Kafka REST Port | {rest_cell} |\n| Plaintext Ports | {cli.kafka:<5} |\n+-----------------+-------+\n"
    )
    assert (
        "To continue your Confluent Local experience, run `confluent local kafka topic create test`"
        in started.stdout
    )
    twice = cli.run("local", "kafka", "start", "--plaintext-ports", str(cli.kafka))
    assert twice.returncode == 1 and "Error: Confluent Local is already running" in twice.stderr
    with urllib.request.urlopen(f"http://127.0.0.1:{cli.rest}/v3/clusters", timeout=30) as reply:
        assert json.loads(reply.read())["kind"] == "KafkaClusterList"
    assert (
        cli.ok("local", "kafka", "topic", "create", "test", "--partitions", "2").stdout
        == 'Created topic "test".\n'
    )
    assert "  test" in [
        line.rstrip() for line in cli.ok("local", "kafka", "topic", "list").stdout.splitlines()
    ]
    assert "| Partition Count    | 2     |" in cli.ok("local", "kafka", "topic", "describe", "test").stdout
    cli.ok("local", "kafka", "topic", "produce", "test", "--parse-key", stdin="a:1\nb:2\n")
    lines = cli.consume(
        ["local", "kafka", "topic", "consume", "test", "--from-beginning", "--print-key", "--delimiter", "="],
        2,
    )
    assert sorted(lines) == ["a=1", "b=2"]
    cli.ok("local", "kafka", "topic", "update", "test", "--config", "retention.ms=1000")
    assert cli.ok("local", "kafka", "topic", "delete", "test", "--force").stdout == 'Deleted topic "test".\n'
    stopped = cli.ok("local", "kafka", "stop")
    assert stopped.stdout == "Confluent Local has been stopped.\n"
    again = cli.run("local", "kafka", "stop")
    assert again.returncode == 1 and "Error: Confluent Local is not running" in again.stderr


def test_a_taken_plaintext_port_is_named(cli: Stack) -> None:
    import os

    with socket.socket() as holder:
        holder.bind(("0.0.0.0", cli.kafka))
        holder.listen()
        refused = cli.run(
            "local",
            "kafka",
            "start",
            "--plaintext-ports",
            str(cli.kafka),
            "--kafka-rest-ports",
            str(cli.rest),
        )
    assert refused.returncode == 1
    assert f"Error: port {cli.kafka} is already in use by process {os.getpid()} (" in refused.stderr


def test_two_brokers_replicate_by_default(cli: Stack) -> None:
    started = cli.ok(
        "local",
        "kafka",
        "start",
        "--brokers",
        "2",
        "--plaintext-ports",
        f"{cli.kafka},{cli.kafka + 1}",
        "--kafka-rest-ports",
        str(cli.rest),
    )
    assert f"| Plaintext Ports | {cli.kafka}, {cli.kafka + 1} |" in started.stdout
    cli.ok("local", "kafka", "topic", "create", "replicated")
    described = json.loads(cli.ok("local", "kafka", "topic", "describe", "replicated", "-o", "json").stdout)
    assert described["replication_factor"] == 2 and sorted(described["partitions"][0]["isr"]) == [0, 1]
