"""The client side: kcli's registry client, the wire format, the console-consumer deserializer, the TUI hook."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kcli.schema_registry import avro_schema
from kcli.schema_registry.client import RegistryClientError, SchemaRegistryClient
from kcli.schema_registry.serde import (
    AvroDecoder,
    AvroEncoder,
    AvroSerdeError,
    avro_deserializer_from_properties,
    split,
)
from tests.schema_registry.helpers import MemoryRegistry

CUSTOMER = json.dumps(
    {
        "namespace": "customerManagement.avro",
        "type": "record",
        "name": "Customer",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "name", "type": "string"},
            {"name": "faxNumber", "type": ["null", "string"], "default": None},
        ],
    }
)


@pytest.fixture
def server() -> Iterator[MemoryRegistry]:
    registry = MemoryRegistry().start()
    try:
        yield registry
    finally:
        registry.stop()


def encoder(server: MemoryRegistry) -> AvroEncoder:
    client = SchemaRegistryClient(server.url)
    schema = avro_schema.parse(CUSTOMER)
    return AvroEncoder(client, schema, client.register("cust-value", schema.canonical))


def test_client_calls(server: MemoryRegistry) -> None:
    client = SchemaRegistryClient(server.url + "/,http://unused:1")
    schema_id = client.register("cust-value", CUSTOMER)
    assert client.register("cust-value", CUSTOMER) == schema_id
    found = client.get_schema_by_id(schema_id)
    assert (found.schema_id, found.subject, found.version) == (schema_id, "cust-value", 1)
    assert client.latest("cust-value").schema_id == schema_id
    assert client.lookup("cust-value", CUSTOMER).version == 1
    with pytest.raises(RegistryClientError) as err:
        client.get_schema_by_id(42)
    assert err.value.error_code == 40403 and err.value.status == 404
    with pytest.raises(RegistryClientError) as err:
        client.register(
            "x",
            '{"type": "record", "name": "R", "fields": [{"name": "f", "type": ["null", "int"], "default": "null"}]}',
        )
    assert err.value.error_code == 42201 and '"default": null' in str(err.value)


def test_unreachable_registry_is_one_clear_error() -> None:
    from tests.broker_process import free_port

    with pytest.raises(RegistryClientError) as err:
        SchemaRegistryClient(f"http://127.0.0.1:{free_port()}").register("s", CUSTOMER)
    assert "Cannot reach the schema registry" in str(err.value)


def test_wire_format(server: MemoryRegistry) -> None:
    enc = encoder(server)
    data = enc.encode_json('{"id":1,"name":"Ann","faxNumber":{"string":"x"}}')
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == enc.schema_id
    assert split(data) == (enc.schema_id, data[5:])
    text, schema_id = AvroDecoder(SchemaRegistryClient(server.url)).decode(data)
    assert (text, schema_id) == ('{"id":1,"name":"Ann","faxNumber":{"string":"x"}}', enc.schema_id)
    with pytest.raises(AvroSerdeError, match="Unknown magic byte"):
        split(b"\x01\x00\x00\x00\x01x")
    with pytest.raises(AvroSerdeError, match="schema for id 77"):
        AvroDecoder(SchemaRegistryClient(server.url)).decode(b"\x00\x00\x00\x00\x4d\x02")


def test_console_consumer_deserializer(server: MemoryRegistry) -> None:
    from kcli.serde import SerdeError
    from kcli.tools.formatter import deserializer_for

    data = encoder(server).encode_json('{"id":2,"name":"Bob"}')
    props = {"schema.registry.url": server.url}
    value = avro_deserializer_from_properties(props, False)
    assert value(data) == '{"id":2,"name":"Bob","faxNumber":null}'
    assert value(None) is None
    # reached through the plain console consumer's deserializer table, by Confluent's class name
    via_table = deserializer_for("io.confluent.kafka.serializers.KafkaAvroDeserializer", props, False)
    assert via_table(data) == '{"id":2,"name":"Bob","faxNumber":null}'
    with pytest.raises(SerdeError, match=r"schema\.registry\.url"):
        avro_deserializer_from_properties({}, True)


def test_tui_decoder_hook(server: MemoryRegistry) -> None:
    from kcli.cluster_view.decode import registry_avro_decoder

    data = encoder(server).encode_json('{"id":3,"name":"Eve","faxNumber":{"string":"1"}}')
    decode = registry_avro_decoder(server.url)
    assert decode is not None
    result = decode(int.from_bytes(data[1:5], "big"), data[5:])
    assert result is not None
    assert (result.subject, result.version) == ("cust-value", 1)
    assert result.value == {"id": 3, "name": "Eve", "faxNumber": "1"}
