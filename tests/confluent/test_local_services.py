"""``confluent local services`` and ``confluent kafka``/``schema-registry``/``context`` against the
bundled stack (ZooKeeper, Kafka, Schema Registry, Kafka REST) started by the CLI itself on free
ports; outputs compared with the Confluent CLI's. One stack for the module: the tests run in
order, the last one stops and destroys it."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcli.commands import COMMANDS
from tests.confluent.helpers import Stack, make_stack

DEV_ONLY = (
    "The local commands are intended for a single-node development environment only, NOT for "
    "production usage. See more: https://docs.confluent.io/current/cli/index.html"
)
CONNECT = COMMANDS.get("connect-distributed")
HAS_CONNECT = bool(CONNECT) and importlib.util.find_spec(CONNECT or "x") is not None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    made = make_stack(tmp_path_factory.mktemp("confluent-local"))
    try:
        yield made
    finally:
        assert made.cleanup() == []


def test_services_start_reports_each_service_in_dependency_order(stack: Stack) -> None:
    result = stack.ok("local", "services", "start")
    connect = (
        ["Starting Connect", "Connect is [UP]"]
        if HAS_CONNECT
        else ["Connect is not available in this kcli install: skipped"]
    )
    assert result.stdout.splitlines() == [
        "Starting ZooKeeper",
        "ZooKeeper is [UP]",
        "Starting Kafka",
        "Kafka is [UP]",
        "Starting Schema Registry",
        "Schema Registry is [UP]",
        "Starting Kafka REST",
        "Kafka REST is [UP]",
        *connect,
        "ksqlDB Server is not bundled with kcli: skipped",
        "Control Center is not bundled with kcli: skipped",
    ]
    current = stack.ok("local", "current").stdout.strip()
    assert result.stderr == f"{DEV_ONLY}\n\nUsing CONFLUENT_CURRENT: {current}\n"
    assert current.startswith(str(stack.root / "current" / "confluent."))
    assert (Path(current) / "kafka" / "kafka.pid").exists()
    assert f"log.dirs={current}/kafka/data" in (Path(current) / "kafka" / "kafka.properties").read_text()


def test_start_again_and_status(stack: Stack) -> None:
    again = stack.ok("local", "services", "start").stdout.splitlines()
    assert again[:4] == [
        "ZooKeeper is [UP]",
        "Kafka is [UP]",
        "Schema Registry is [UP]",
        "Kafka REST is [UP]",
    ]
    status = stack.ok("local", "services", "status").stdout.splitlines()
    expected = ["Kafka is [UP]", "Kafka REST is [UP]", "Schema Registry is [UP]", "ZooKeeper is [UP]"]
    assert [line for line in status if not line.startswith("Connect")] == expected
    assert stack.ok("local", "services", "sr", "status").stdout == "Schema Registry is [UP]\n"
    assert stack.ok("local", "status", "kafka").stdout == "Kafka is [UP]\n"  # Confluent Platform 5.x spelling
    listing = stack.ok("local", "services", "list").stdout.splitlines()
    assert listing[0] == "Available Services:" and "  Kafka REST" in listing and "  ZooKeeper" in listing
    assert (
        "Server started, listening for requests"
        in stack.ok("local", "services", "schema-registry", "log").stdout
    )
    # Confluent Platform 5.x: `confluent local start <service>` starts what it needs (already up here)
    assert (
        stack.ok("local", "start", "schema-registry").stdout
        == "ZooKeeper is [UP]\nKafka is [UP]\nSchema Registry is [UP]\n"
    )
    assert stack.ok("local", "services", "kafka", "version").stdout.strip()
    if shutil.which("top"):
        pid = (Path(stack.ok("local", "current").stdout.strip()) / "kafka" / "kafka.pid").read_text().strip()
        assert pid in stack.ok("local", "services", "kafka", "top").stdout


def test_a_taken_port_names_the_port_and_the_process(stack: Stack) -> None:
    import os

    stopped = stack.ok("local", "services", "kafka-rest", "stop").stdout
    assert stopped == "Stopping Kafka REST\nKafka REST is [DOWN]\n"
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", stack.rest))
        holder.listen()
        refused = stack.run("local", "services", "kafka-rest", "start")
    assert refused.returncode == 1
    (first,) = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert first.startswith(
        f"Error: Kafka REST cannot start: port {stack.rest} is already in use by process {os.getpid()} ("
    )
    assert (
        stack.ok("local", "services", "kafka-rest", "start").stdout.splitlines()[-1] == "Kafka REST is [UP]"
    )


def test_topics(stack: Stack) -> None:
    b = ["--bootstrap", stack.bootstrap]
    assert (
        stack.ok(
            "kafka", "topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=86400000", *b
        ).stdout
        == 'Created topic "orders".\n'
    )
    again = stack.run("kafka", "topic", "create", "orders", *b)
    assert again.returncode == 1 and again.stderr.startswith(
        'Error: topic "orders" already exists for the Kafka cluster\n'
    )
    assert stack.ok("kafka", "topic", "create", "orders", "--if-not-exists", *b).stdout == ""
    listing = stack.ok("kafka", "topic", "list", *b).stdout.splitlines()
    assert (
        listing[0].strip() == "Name"
        and set(listing[1]) == {"-"}
        and "  orders" in [line.rstrip() for line in listing]
    )
    described = stack.ok("kafka", "topic", "describe", "orders", *b).stdout
    assert described.startswith(
        "+--------------------+--------+\n"
        "| Name               | orders |\n"
        "| Internal           | false  |\n"
        "| Replication Factor | 1      |\n"
        "| Partition Count    | 3      |\n"
        "+--------------------+--------+\n\n"
        "  Partition | Leader | Replicas | ISR  \n"
        "------------+--------+----------+------\n"
        "          0 |      0 | 0        | 0    \n"
    )
    as_json = json.loads(stack.ok("kafka", "topic", "describe", "orders", "-o", "json", *b).stdout)
    assert as_json["partition_count"] == 3 and as_json["partitions"][2] == {
        "partition": 2,
        "leader": 0,
        "replicas": [0],
        "isr": [0],
    }
    updated = stack.ok("kafka", "topic", "update", "orders", "--config", "retention.ms=3600000", *b).stdout
    assert updated.startswith('Updated the following configuration values for topic "orders":\n')
    assert stack.ok("kafka", "topic", "create", "scratch", *b).stdout == 'Created topic "scratch".\n'
    assert (
        stack.ok("kafka", "topic", "delete", "scratch", "--force", *b).stdout == 'Deleted topic "scratch".\n'
    )
    missing = stack.run("kafka", "topic", "describe", "scratch", *b)
    assert missing.returncode == 1 and missing.stderr.startswith('Error: topic "scratch" does not exist')


def test_produce_and_consume_plain_formats(stack: Stack) -> None:
    b = ["--bootstrap", stack.bootstrap]
    stack.ok("kafka", "topic", "create", "plain", *b)
    produced = stack.ok("kafka", "topic", "produce", "plain", "--parse-key", *b, stdin="k1:hello\nk2:world\n")
    assert produced.stderr == "Starting Kafka Producer. Use Ctrl-C or Ctrl-D to exit.\n"
    lines = stack.consume(["kafka", "topic", "consume", "plain", "--from-beginning", "--print-key", *b], 2)
    assert lines == ["k1\thello", "k2\tworld"]
    stack.ok("kafka", "topic", "create", "numbers", *b)
    stack.ok("kafka", "topic", "produce", "numbers", "--value-format", "integer", *b, stdin="7\n-3\n")
    assert stack.consume(
        ["kafka", "topic", "consume", "numbers", "-b", "--value-format", "integer", *b], 2
    ) == ["7", "-3"]
    bad = stack.run("kafka", "topic", "produce", "numbers", "--value-format", "integer", *b, stdin="seven\n")
    assert bad.returncode == 1 and '"seven" is not a valid integer' in bad.stderr


def test_produce_and_consume_with_schemas(stack: Stack, tmp_path: Path) -> None:
    b = ["--bootstrap", stack.bootstrap, "--schema-registry-endpoint", stack.registry_url]
    schemas = {
        "avro": (
            '{"type":"record","name":"Pay","fields":[{"name":"id","type":"int"},{"name":"amount","type":"double"}]}',
            "avsc",
        ),
        "jsonschema": (
            '{"type":"object","properties":{"id":{"type":"integer"},"amount":{"type":"number"}}}',
            "json",
        ),
        "protobuf": ('syntax = "proto3"; message Pay { int32 id = 1; double amount = 2; }', "proto"),
    }
    for fmt, (text, ext) in schemas.items():
        topic = f"pay-{fmt}"
        schema = tmp_path / f"pay.{ext}"
        schema.write_text(text)
        stack.ok("kafka", "topic", "create", topic, "--bootstrap", stack.bootstrap)
        stack.ok(
            "kafka",
            "topic",
            "produce",
            topic,
            "--value-format",
            fmt,
            "--schema",
            str(schema),
            *b,
            stdin='{"id":1,"amount":2.5}\n',
        )
        lines = stack.consume(["kafka", "topic", "consume", topic, "-b", "--value-format", fmt, *b], 1)
        assert json.loads(lines[0]) == {"id": 1, "amount": 2.5}, fmt
        bad = stack.run(
            "kafka",
            "topic",
            "produce",
            topic,
            "--value-format",
            fmt,
            "--schema",
            str(schema),
            *b,
            stdin='{"id":"one","amount":2.5}\n',
        )
        assert bad.returncode == 1 and "line 1" in bad.stderr and "id" in bad.stderr, bad.stderr


def test_consumer_groups(stack: Stack) -> None:
    b = ["--bootstrap", stack.bootstrap]
    stack.ok("kafka", "topic", "create", "lagging", *b)
    stack.ok("kafka", "topic", "produce", "lagging", *b, stdin="a\nb\nc\n")
    stack.consume(["kafka", "topic", "consume", "lagging", "-b", "--group", "readers", *b], 3)
    stack.ok("kafka", "topic", "produce", "lagging", *b, stdin="d\ne\n")
    listing = stack.ok("kafka", "consumer", "group", "list", "-o", "json", *b).stdout
    readers = [g for g in json.loads(listing) if g["consumer_group"] == "readers"]
    assert readers and readers[0]["state"] == "EMPTY" and readers[0]["is_simple"] is False
    lags = json.loads(
        stack.ok("kafka", "consumer", "group", "lag", "list", "readers", "-o", "json", *b).stdout
    )
    assert [(lag["topic"], lag["current_offset"], lag["log_end_offset"], lag["lag"]) for lag in lags] == [
        ("lagging", 3, 5, 2)
    ]
    summary = stack.ok("kafka", "consumer", "group", "lag", "summarize", "readers", *b).stdout
    assert "| Total Lag         | 2 " in summary
    described = stack.ok("kafka", "consumer", "group", "describe", "readers", *b).stdout
    assert "| Consumer Group     | readers" in described
    missing = stack.run("kafka", "consumer", "group", "describe", "nobody", *b)
    assert missing.returncode == 1 and 'consumer group "nobody" not found' in missing.stderr


def test_topic_and_group_commands_through_the_rest_proxy(stack: Stack) -> None:
    url = ["--url", f"http://localhost:{stack.rest}"]
    assert (
        stack.ok("kafka", "topic", "create", "viarest", "--partitions", "2", *url).stdout
        == 'Created topic "viarest".\n'
    )
    again = stack.run("kafka", "topic", "create", "viarest", *url)
    assert again.returncode == 1 and again.stderr.startswith(
        'Error: topic "viarest" already exists for the Kafka cluster'
    )
    assert "  viarest" in [
        line.rstrip() for line in stack.ok("kafka", "topic", "list", *url).stdout.splitlines()
    ]
    over_rest = stack.ok("kafka", "topic", "describe", "viarest", *url).stdout
    assert (
        over_rest == stack.ok("kafka", "topic", "describe", "viarest", "--bootstrap", stack.bootstrap).stdout
    )
    assert (
        "Updated the following"
        in stack.ok("kafka", "topic", "update", "viarest", "--config", "retention.ms=1000", *url).stdout
    )
    readers = [
        g
        for g in json.loads(stack.ok("kafka", "consumer", "group", "list", "-o", "json", *url).stdout)
        if g["consumer_group"] == "readers"
    ]
    assert readers and readers[0]["state"] == "EMPTY"
    lags = json.loads(
        stack.ok("kafka", "consumer", "group", "lag", "list", "readers", "-o", "json", *url).stdout
    )
    assert [(lag["topic"], lag["lag"]) for lag in lags] == [("lagging", 2)]
    assert (
        stack.ok("kafka", "topic", "delete", "viarest", "--force", *url).stdout
        == 'Deleted topic "viarest".\n'
    )
    missing = stack.run("kafka", "topic", "describe", "viarest", *url)
    assert missing.returncode == 1 and missing.stderr.startswith(
        "Error: This server does not host this topic-partition."
    )


def test_schema_registry_commands(stack: Stack, tmp_path: Path) -> None:
    sr = ["--schema-registry-endpoint", stack.registry_url]
    schema = tmp_path / "employee.avsc"
    schema.write_text('{"type":"record","name":"Employee","fields":[{"name":"Name","type":"string"}]}')
    created = stack.ok(
        "schema-registry", "schema", "create", "--subject", "employee", "--schema", str(schema), *sr
    ).stdout
    assert created.startswith('Successfully registered schema with ID "') and created.endswith('".\n')
    schema_id = created.split('"')[1]
    described = stack.ok("schema-registry", "schema", "describe", schema_id, *sr).stdout
    assert described.startswith(f'Schema ID: {schema_id}\nType: AVRO\nSchema:\n{{\n    "type": "record",\n')
    by_subject = stack.ok(
        "schema-registry", "schema", "describe", "--subject", "employee", "--version", "latest", *sr
    ).stdout
    assert by_subject == described
    listed = json.loads(
        stack.ok("schema-registry", "schema", "list", "--subject-prefix", "emp", "-o", "json", *sr).stdout
    )
    assert listed == [{"id": int(schema_id), "subject": "employee", "version": 1}]
    assert "  employee  " in stack.ok("schema-registry", "subject", "list", *sr).stdout
    assert stack.ok("sr", "subject", "update", "employee", "--compatibility", "full", *sr).stdout == (
        'Successfully updated subject-level compatibility to "FULL" for subject "employee".\n'
    )
    proto = tmp_path / "p.proto"
    proto.write_text('syntax = "proto3"; message P { string s = 1; }')
    stack.ok(
        "schema-registry",
        "schema",
        "create",
        "--subject",
        "p",
        "--schema",
        str(proto),
        "--type",
        "protobuf",
        *sr,
    )
    assert (
        "Type: PROTOBUF"
        in stack.ok("schema-registry", "schema", "describe", "--subject", "p", "--version", "1", *sr).stdout
    )
    deleted = stack.ok(
        "schema-registry", "schema", "delete", "--subject", "employee", "--version", "1", "--force", *sr
    ).stdout
    assert deleted.startswith('Successfully soft deleted version "1" for subject "employee".\n')
    refused = stack.run("schema-registry", "schema", "describe", "999", *sr)
    assert refused.returncode == 1 and refused.stderr.startswith("Error: Schema 999 not found")


def test_contexts(stack: Stack) -> None:
    created = stack.ok(
        "context",
        "create",
        "lab",
        "--bootstrap",
        stack.bootstrap,
        "--schema-registry-endpoint",
        stack.registry_url,
    )
    assert "| Name            | lab " in created.stdout
    assert stack.ok("context", "list").stdout.splitlines()[2].startswith("  *       | lab ")
    # without --bootstrap the current context's cluster is used
    assert "  orders" in [line.rstrip() for line in stack.ok("kafka", "topic", "list").stdout.splitlines()]
    missing = stack.run("context", "use", "nope")
    assert missing.returncode == 1 and missing.stderr.startswith('Error: context "nope" does not exist')
    assert stack.ok("context", "delete", "lab").stdout == 'Deleted context "lab".\n'


def test_stop_and_destroy(stack: Stack) -> None:
    stopped = stack.ok("local", "services", "stop").stdout.splitlines()
    connect = ["Stopping Connect", "Connect is [DOWN]"] if HAS_CONNECT else []
    assert stopped == [
        *connect,
        "Stopping Kafka REST",
        "Kafka REST is [DOWN]",
        "Stopping Schema Registry",
        "Schema Registry is [DOWN]",
        "Stopping Kafka",
        "Kafka is [DOWN]",
        "Stopping ZooKeeper",
        "ZooKeeper is [DOWN]",
    ]
    current = stack.ok("local", "current").stdout.strip()
    destroyed = stack.ok("local", "destroy").stdout.splitlines()
    assert destroyed[-1] == f"Deleting: {current}" and not Path(current).exists()
