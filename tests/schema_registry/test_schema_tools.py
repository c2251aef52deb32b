"""The JSON Schema and Protobuf console tools against the real broker and registry processes, and
against Confluent's own Python serializers in both directions (the wire formats agree)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess
from tests.schema_registry.helpers import RegistryProcess
from tests.schema_registry.test_end_to_end import consume_raw, run_tool

PERSON = json.dumps(
    {
        "type": "object",
        "title": "Person",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        "required": ["id", "name"],
    }
)
ORDER = 'syntax = "proto3";\npackage shoptools;\nmessage Order {\n  int32 id = 1;\n  string item = 2;\n  double price = 3;\n}\n'


@pytest.fixture
def registry(shared_broker: BrokerProcess, tmp_path: Path) -> Iterator[RegistryProcess]:
    proc = RegistryProcess(
        tmp_path, shared_broker.bootstrap, topic=f"_schemas_{uuid.uuid4().hex[:8]}"
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def produce(tool: str, broker: BrokerProcess, registry: RegistryProcess, topic: str, stdin: str, *props: str):
    args = [
        "--bootstrap-server",
        broker.bootstrap,
        "--topic",
        topic,
        "--property",
        f"schema.registry.url={registry.url}",
    ]
    for prop in props:
        args += ["--property", prop]
    return run_tool(f"kcli.tools.{tool}_console_producer", *args, stdin=stdin)


def consume(tool: str, broker: BrokerProcess, registry: RegistryProcess, topic: str, count: int, *props: str):
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
    return run_tool(f"kcli.tools.{tool}_console_consumer", *args)


def test_json_schema_tools_round_trip_and_bad_line(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    topic = f"people_{uuid.uuid4().hex[:8]}"
    bad = produce(
        "json_schema",
        shared_broker,
        registry,
        topic,
        '{"id":1,"name":"Ann"}\n{"id":"2","name":"Bob"}\n',
        f"value.schema={PERSON}",
    )
    assert bad.returncode == 1
    assert "line 2" in bad.stderr and "field 'id'" in bad.stderr and "integer" in bad.stderr
    good = produce(
        "json_schema",
        shared_broker,
        registry,
        topic,
        'k1\t{"id":1,"name":"Ann"}\nk2\t{"id":2,"name":"Bob"}\n',
        f"value.schema={PERSON}",
        "parse.key=true",
    )
    assert good.returncode == 0, good.stderr
    # nothing of the refused run was sent: exactly the two good records are there
    consumed = consume("json_schema", shared_broker, registry, topic, 2, "print.key=true")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ['k1\t{"id":1,"name":"Ann"}', 'k2\t{"id":2,"name":"Bob"}']
    assert registry("GET", f"/subjects/{topic}-value/versions/1").body["schemaType"] == "JSON"
    # Confluent's JSONDeserializer reads what the console producer wrote
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserializer = JSONDeserializer(None, schema_registry_client=SchemaRegistryClient({"url": registry.url}))
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert [deserializer(raw, ctx) for raw in consume_raw(shared_broker, topic, 2)] == [
        {"id": 1, "name": "Ann"},
        {"id": 2, "name": "Bob"},
    ]


def test_protobuf_tools_round_trip(
    shared_broker: BrokerProcess, registry: RegistryProcess, tmp_path: Path
) -> None:
    topic = f"orders_{uuid.uuid4().hex[:8]}"
    schema_file = tmp_path / "shop_order.proto"
    schema_file.write_text(ORDER)
    bad = produce(
        "protobuf",
        shared_broker,
        registry,
        topic,
        '{"id":1,"item":"pen","colour":"red"}\n',
        f"value.schema.file={schema_file}",
    )
    assert bad.returncode == 1 and "line 1" in bad.stderr and "colour" in bad.stderr
    good = produce(
        "protobuf",
        shared_broker,
        registry,
        topic,
        '{"id":1,"item":"pen","price":1.5}\n{"id":2,"item":"ink"}\n',
        f"value.schema.file={schema_file}",
    )
    assert good.returncode == 0, good.stderr
    raw = consume_raw(shared_broker, topic, 2)
    assert raw[0][0] == 0 and raw[0][5] == 0  # magic byte, schema id, message indexes [0]
    consumed = consume(
        "protobuf", shared_broker, registry, topic, 2, "print.schema.ids=true", "schema.id.separator=|"
    )
    assert consumed.returncode == 0, consumed.stderr
    schema_id = int.from_bytes(raw[0][1:5], "big")
    assert consumed.stdout.splitlines() == [
        f'{{"id":1,"item":"pen","price":1.5}}|{schema_id}',
        f'{{"id":2,"item":"ink"}}|{schema_id}',
    ]
    # Confluent's ProtobufDeserializer (with a class generated by protoc) reads the same bytes
    order_pb2 = _generated(tmp_path, schema_file)
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserializer = ProtobufDeserializer(order_pb2.Order, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    first = deserializer(raw[0], ctx)
    assert (first.id, first.item, first.price) == (1, "pen", 1.5)


def test_confluent_protobuf_serializer_to_console_consumer(
    shared_broker: BrokerProcess, registry: RegistryProcess, tmp_path: Path
) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = f"orders_{uuid.uuid4().hex[:8]}"
    schema_file = tmp_path / "shop_order.proto"
    schema_file.write_text(ORDER)
    order_pb2 = _generated(tmp_path, schema_file)
    serializer = ProtobufSerializer(
        order_pb2.Order, SchemaRegistryClient({"url": registry.url}), {"use.deprecated.format": False}
    )
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap})
    value = serializer(
        order_pb2.Order(id=9, item="cap", price=2.25), SerializationContext(topic, MessageField.VALUE)
    )
    producer.produce(topic, value=value)
    assert producer.flush(30) == 0
    consumed = consume("protobuf", shared_broker, registry, topic, 1)
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ['{"id":9,"item":"cap","price":2.25}']


def _generated(tmp_path: Path, schema_file: Path):
    import importlib.util

    from grpc_tools import protoc

    out = tmp_path / "gen"
    out.mkdir(exist_ok=True)
    assert protoc.main(["protoc", f"-I{schema_file.parent}", f"--python_out={out}", schema_file.name]) == 0
    spec = importlib.util.spec_from_file_location(
        f"order_pb2_{uuid.uuid4().hex[:6]}", out / f"{schema_file.stem}_pb2.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
