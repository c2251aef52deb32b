"""The registry as a process on a real broker: Confluent's clients, restarts, the Avro tools.

Each test gets its own ``_schemas`` topic (kafkastore.topic) on the session's broker, so tests do
not see each other's schemas; restart tests stop and start the registry process on that topic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, free_port
from tests.schema_registry.helpers import RegistryProcess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "avro"
CUSTOMER = (EXAMPLES / "customer.avsc").read_text()
CUSTOMER_V2 = json.dumps(
    {
        "namespace": "customerManagement.avro",
        "type": "record",
        "name": "Customer",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "name", "type": "string"},
            {"name": "faxNumber", "type": ["null", "string"], "default": None},
            {"name": "email", "type": ["null", "string"], "default": None},
        ],
    }
)
CUSTOMER_BAD = json.dumps(
    {
        "namespace": "customerManagement.avro",
        "type": "record",
        "name": "Customer",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "name", "type": "string"},
            {"name": "age", "type": "int"},
        ],
    }
)
EXPECTED_LINES = [
    '{"id":1,"name":"Ann","faxNumber":null}',
    '{"id":2,"name":"Bob","faxNumber":{"string":"555-1234"}}',
    '{"id":3,"name":"Eve","faxNumber":null}',
]


@pytest.fixture
def registry(shared_broker: BrokerProcess, tmp_path: Path) -> Iterator[RegistryProcess]:
    proc = RegistryProcess(
        tmp_path, shared_broker.bootstrap, topic=f"_schemas_{uuid.uuid4().hex[:8]}"
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def topic_name() -> str:
    return f"customers_{uuid.uuid4().hex[:8]}"


def run_tool(
    module: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
        env=env or dict(os.environ),
    )


def avro_produce(broker: BrokerProcess, registry: RegistryProcess, topic: str, stdin: str, *props: str):
    args = [
        "--broker-list",
        broker.bootstrap,
        "--topic",
        topic,
        "--property",
        f"schema.registry.url={registry.url}",
    ]
    for prop in props:
        args += ["--property", prop]
    return run_tool("kcli.tools.avro_console_producer", *args, stdin=stdin)


def avro_consume(broker: BrokerProcess, registry: RegistryProcess, topic: str, count: int, *props: str):
    args = [
        "--bootstrap-server",
        broker.bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        str(count),
        "--timeout-ms",
        "20000",
        "--property",
        f"schema.registry.url={registry.url}",
    ]
    for prop in props:
        args += ["--property", prop]
    return run_tool("kcli.tools.avro_console_consumer", *args)


def sr_client(registry: RegistryProcess):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": registry.url})


def test_store_topic_is_created_compacted(shared_broker: BrokerProcess, registry: RegistryProcess) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource

    topic = registry.properties.read_text().split("kafkastore.topic=")[1].split()[0]
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=20)
    assert configs["cleanup.policy"].value == "compact"
    assert any("Server started, listening for requests" in line for line in registry.output)


def test_confluent_schema_registry_client(registry: RegistryProcess, tmp_path: Path) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    client = sr_client(registry)
    first = client.register_schema("cust-value", Schema(CUSTOMER, "AVRO"))
    assert client.register_schema("cust-value", Schema(CUSTOMER, "AVRO")) == first
    second = client.register_schema("cust-value", Schema(CUSTOMER_V2, "AVRO"))
    assert second != first
    with pytest.raises(SchemaRegistryError) as err:
        client.register_schema("cust-value", Schema(CUSTOMER_BAD, "AVRO"))
    assert err.value.http_status_code == 409 and err.value.error_code == 409
    assert json.loads(client.get_schema(first).schema_str) == json.loads(CUSTOMER)
    latest = client.get_latest_version("cust-value")
    assert (latest.schema_id, latest.version) == (second, 2)
    found = client.lookup_schema("cust-value", Schema(CUSTOMER, "AVRO"))
    assert (found.schema_id, found.version) == (first, 1)
    assert client.get_versions("cust-value") == [1, 2]
    assert client.get_subjects() == ["cust-value"]
    assert client.test_compatibility("cust-value", Schema(CUSTOMER_BAD, "AVRO")) is False
    assert client.set_compatibility("cust-value", "FULL")["compatibility"] == "FULL"
    assert client.get_compatibility("cust-value") == "FULL"
    with pytest.raises(SchemaRegistryError) as err:
        client.get_schema(999)
    assert err.value.error_code == 40403

    # survives a restart: state comes back from the _schemas topic
    registry.stop()
    registry.start()
    client = sr_client(registry)
    assert json.loads(client.get_schema(second).schema_str) == json.loads(CUSTOMER_V2)
    assert client.get_versions("cust-value") == [1, 2]
    assert client.get_compatibility("cust-value") == "FULL"
    third = json.loads(CUSTOMER_V2)
    third["fields"].append({"name": "vip", "type": "boolean", "default": False})
    assert client.register_schema("cust-value", Schema(json.dumps(third), "AVRO")) == second + 1


def test_serializer_deserializer_round_trip_and_restart(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = topic_name()
    serializer = AvroSerializer(sr_client(registry), CUSTOMER)
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap})
    records = [{"id": 1, "name": "Ann", "faxNumber": None}, {"id": 2, "name": "Bob", "faxNumber": "555-1234"}]
    for record in records:
        producer.produce(topic, serializer(record, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(20) == 0

    registry.stop()
    registry.start()
    deserializer = AvroDeserializer(sr_client(registry))
    got = [
        deserializer(raw, SerializationContext(topic, MessageField.VALUE))
        for raw in consume_raw(shared_broker, topic, 2)
    ]
    assert got == records


def consume_raw(broker: BrokerProcess, topic: str, count: int) -> list[bytes]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    out: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                out.append(msg.value())
    finally:
        consumer.close()
    return out


def test_avro_tools_round_trip(shared_broker: BrokerProcess, registry: RegistryProcess) -> None:
    topic = topic_name()
    produced = avro_produce(
        shared_broker,
        registry,
        topic,
        (EXAMPLES / "customers.json").read_text(),
        f"value.schema.file={EXAMPLES / 'customer.avsc'}",
    )
    assert produced.returncode == 0, produced.stderr
    consumed = avro_consume(shared_broker, registry, topic, 3)
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == EXPECTED_LINES
    assert "Processed a total of 3 messages" in consumed.stderr
    # the schema landed under <topic>-value (TopicNameStrategy)
    assert registry("GET", f"/subjects/{topic}-value/versions").body == [1]

    with_ids = avro_consume(
        shared_broker, registry, topic, 1, "print.schema.ids=true", "schema.id.separator=|"
    )
    assert with_ids.stdout.splitlines() == [EXPECTED_LINES[0] + "|1"]


def test_avro_producer_with_keys_and_schema_id(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    topic = topic_name()
    produced = avro_produce(
        shared_broker,
        registry,
        topic,
        '"c1"\t{"id":1,"name":"Ann","faxNumber":null}\n',
        f"value.schema={CUSTOMER}",
        "parse.key=true",
        'key.schema="string"',
    )
    assert produced.returncode == 0, produced.stderr
    value_id = registry("GET", f"/subjects/{topic}-value/versions/latest").body["id"]
    again = avro_produce(
        shared_broker,
        registry,
        topic,
        '{"id":2,"name":"Bob","faxNumber":{"string":"x"}}\n',
        f"value.schema.id={value_id}",
    )
    assert again.returncode == 0, again.stderr
    consumed = avro_consume(shared_broker, registry, topic, 2, "print.key=true")
    assert consumed.stdout.splitlines() == [
        '"c1"\t{"id":1,"name":"Ann","faxNumber":null}',
        'null\t{"id":2,"name":"Bob","faxNumber":{"string":"x"}}',
    ]


def test_bad_line_is_reported_and_nothing_is_sent(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    topic = topic_name()
    lines = '{"id":1,"name":"Ann"}\n{"id":2,"name":"Bob","faxNumber":"555"}\n'
    produced = avro_produce(shared_broker, registry, topic, lines, f"value.schema={CUSTOMER}")
    assert produced.returncode == 1
    assert "line 2" in produced.stderr and "faxNumber" in produced.stderr and '{"string"' in produced.stderr
    count = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.tools.get_offsets",
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--topic",
            topic,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert count.stdout.strip() in ("", f"{topic}:0:0")


def test_lecture_schema_is_rejected_with_the_fix(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    produced = avro_produce(
        shared_broker,
        registry,
        topic_name(),
        '{"id":1,"name":"Ann"}\n',
        f"value.schema.file={EXAMPLES / 'customer-as-on-the-slide.avsc'}",
    )
    assert produced.returncode == 1
    assert "faxNumber" in produced.stderr and '"default": null' in produced.stderr
    reply = registry(
        "POST",
        "/subjects/x-value/versions",
        {"schema": (EXAMPLES / "customer-as-on-the-slide.avsc").read_text()},
    )
    assert reply.status == 422 and reply.body["error_code"] == 42201


def test_confluent_serializer_to_avro_console_consumer(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = topic_name()
    serializer = AvroSerializer(sr_client(registry), CUSTOMER)
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap})
    for record in (
        {"id": 1, "name": "Ann", "faxNumber": None},
        {"id": 2, "name": "Bob", "faxNumber": "555-1234"},
        {"id": 3, "name": "Eve", "faxNumber": None},
    ):
        producer.produce(topic, serializer(record, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(20) == 0
    consumed = avro_consume(shared_broker, registry, topic, 3)
    assert consumed.stdout.splitlines() == EXPECTED_LINES, consumed.stderr
    # the plain console consumer with Confluent's deserializer class name prints the same
    plain = run_tool(
        "kcli.tools.console_consumer",
        "--bootstrap-server",
        shared_broker.bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        "3",
        "--timeout-ms",
        "20000",
        "--property",
        "value.deserializer=io.confluent.kafka.serializers.KafkaAvroDeserializer",
        "--property",
        f"schema.registry.url={registry.url}",
    )
    assert plain.stdout.splitlines() == EXPECTED_LINES, plain.stderr


def test_avro_console_producer_to_confluent_deserializer(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = topic_name()
    produced = avro_produce(
        shared_broker,
        registry,
        topic,
        (EXAMPLES / "customers.json").read_text(),
        f"value.schema.file={EXAMPLES / 'customer.avsc'}",
    )
    assert produced.returncode == 0, produced.stderr
    deserializer = AvroDeserializer(sr_client(registry))
    got = [
        deserializer(raw, SerializationContext(topic, MessageField.VALUE))
        for raw in consume_raw(shared_broker, topic, 3)
    ]
    assert got == [
        {"id": 1, "name": "Ann", "faxNumber": None},
        {"id": 2, "name": "Bob", "faxNumber": "555-1234"},
        {"id": 3, "name": "Eve", "faxNumber": None},
    ]


def test_unreachable_store_fails_fast_with_one_line(tmp_path: Path) -> None:
    props = tmp_path / "sr.properties"
    props.write_text(
        f"listeners=http://127.0.0.1:{free_port()}\n"
        f"kafkastore.bootstrap.servers=PLAINTEXT://127.0.0.1:{free_port()}\n"
        "kafkastore.init.timeout.ms=3000\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "kcli.schema_registry.start", str(props)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, KCLI_HOME=str(tmp_path / "home")),
    )
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # one clear line, no librdkafka retry noise
    assert "cannot use its Kafka store" in lines[0] and "no Kafka broker reachable" in lines[0]


def test_schema_registry_stop(registry: RegistryProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kcli.schema_registry.stop"],
        capture_output=True,
        text=True,
        timeout=30,
        env=registry.env,
    )
    assert result.returncode == 0, result.stderr
    assert registry.proc is not None
    assert registry.proc.wait(20) == 0
    assert not list((registry.home / "run").glob("schema-registry-*.pid"))
    again = subprocess.run(
        [sys.executable, "-m", "kcli.schema_registry.stop"],
        capture_output=True,
        text=True,
        timeout=30,
        env=registry.env,
    )
    assert again.returncode == 1 and "No schema-registry to stop" in again.stderr


def test_auto_register_false_needs_a_registered_schema(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    topic = topic_name()
    refused = avro_produce(
        shared_broker,
        registry,
        topic,
        '{"id":1,"name":"Ann"}\n',
        f"value.schema={CUSTOMER}",
        "auto.register.schemas=false",
    )
    assert refused.returncode == 1 and "40401" in refused.stderr
    registry("POST", f"/subjects/{topic}-value/versions", {"schema": CUSTOMER})
    accepted = avro_produce(
        shared_broker,
        registry,
        topic,
        '{"id":1,"name":"Ann"}\n',
        f"value.schema={CUSTOMER}",
        "auto.register.schemas=false",
    )
    assert accepted.returncode == 0, accepted.stderr
    latest = avro_produce(
        shared_broker, registry, topic, '{"id":2,"name":"Bob"}\n', "use.latest.version=true"
    )
    assert latest.returncode == 0, latest.stderr
    consumed = avro_consume(shared_broker, registry, topic, 2)
    assert consumed.stdout.splitlines() == [
        '{"id":1,"name":"Ann","faxNumber":null}',
        '{"id":2,"name":"Bob","faxNumber":null}',
    ]


def test_daemon_start_and_stop(shared_broker: BrokerProcess, tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path, shared_broker.bootstrap, topic=f"_schemas_{uuid.uuid4().hex[:8]}")
    started = subprocess.run(
        [sys.executable, "-m", "kcli.schema_registry.start", "-daemon", str(proc.properties)],
        capture_output=True,
        text=True,
        timeout=30,
        env=proc.env,
    )
    assert started.returncode == 0, started.stderr
    log = proc.home / "logs" / "schema-registry.log"
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "Server started" not in (
            log.read_text() if log.exists() else ""
        ):
            time.sleep(0.1)  # polling the daemon's log file: there is no pipe to wait on
        assert "Server started, listening for requests" in log.read_text()
        assert proc("GET", "/subjects").body == []
    finally:
        pids = [int(p.read_text()) for p in (proc.home / "run").glob("schema-registry-*.pid")]
        stopped = subprocess.run(
            [sys.executable, "-m", "kcli.schema_registry.stop"],
            capture_output=True,
            text=True,
            timeout=30,
            env=proc.env,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.1)
        for pid in pids:  # never leave the daemon behind, even when the test failed
            if _alive(pid):
                os.kill(pid, 9)
    assert pids and stopped.returncode == 0, stopped.stderr
    assert "Shutting down" in log.read_text()


def _alive(pid: int) -> bool:
    from kcli.paths import pid_alive

    if not pid_alive(pid):
        return False
    try:  # a zombie is as good as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_store_errors_when_kafka_goes_away(broker: BrokerProcess, tmp_path: Path) -> None:
    registry = RegistryProcess(tmp_path, broker.bootstrap)
    registry.properties.write_text(registry.properties.read_text() + "kafkastore.timeout.ms=2000\n")
    registry.start()
    try:
        assert registry("POST", "/subjects/a-value/versions", {"schema": CUSTOMER}).body == {"id": 1}
        broker.kill()
        started = time.monotonic()
        reply = registry("POST", "/subjects/b-value/versions", {"schema": CUSTOMER_V2})
        assert reply.status == 500 and reply.body["error_code"] in (50001, 50002), reply.body
        assert time.monotonic() - started < 15
        # reads keep working from the state already loaded
        assert registry("GET", "/subjects").body == ["a-value"]
    finally:
        registry.stop()
