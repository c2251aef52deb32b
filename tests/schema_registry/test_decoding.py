"""Decoding records of every schema type by schema id: the hook the TUI's message pane calls
(``kcli.cluster_view.decode.registry_avro_decoder``) and the wire-format pieces (message indexes)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kcli.cluster_view.decode import readings, registry_avro_decoder
from kcli.schema_registry.client import SchemaRegistryClient
from kcli.schema_registry.client_schemas import parse_text
from kcli.schema_registry.decoding import DecodeError, SchemaDecoder
from kcli.schema_registry.json_serde import JsonSchemaEncoder, SchemaValueError
from kcli.schema_registry.protobuf_serde import ProtobufEncoder, decode_indexes, encode_indexes
from kcli.schema_registry.serde import AvroEncoder
from tests.schema_registry.helpers import MemoryRegistry

PROTO = 'syntax = "proto3";\npackage t;\nmessage A { int32 n = 1; }\nmessage B { string s = 1; message C { bool f = 1; } }\n'


@pytest.fixture
def server() -> Iterator[MemoryRegistry]:
    registry = MemoryRegistry().start()
    try:
        yield registry
    finally:
        registry.stop()


def register(client: SchemaRegistryClient, subject: str, kind: str, text: str):
    parsed = parse_text(client, kind, text)
    return parsed, client.register(subject, parsed.canonical, kind)


@pytest.mark.parametrize("indexes", [[0], [1], [1, 0], [3, 2, 1]])
def test_message_indexes_round_trip(indexes: list[int]) -> None:
    data = encode_indexes(indexes) + b"rest"
    assert decode_indexes(data) == (indexes, len(data) - 4)
    if indexes == [0]:
        assert encode_indexes(indexes) == b"\x00"  # Confluent's short form


def test_every_type_decodes_for_the_tui(server: MemoryRegistry) -> None:
    client = SchemaRegistryClient(server.url)
    avro, avro_id = register(
        client, "a-value", "AVRO", '{"type":"record","name":"R","fields":[{"name":"x","type":"int"}]}'
    )
    person = json.dumps({"type": "object", "properties": {"x": {"type": "integer"}}})
    js, js_id = register(client, "j-value", "JSON", person)
    pb, pb_id = register(client, "p-value", "PROTOBUF", PROTO)
    records = {
        "Avro": AvroEncoder(client, avro.schema, avro_id).encode_json('{"x": 5}'),
        "JSON Schema": JsonSchemaEncoder(js, js_id).encode_json('{"x": 5}'),
        "Protobuf": ProtobufEncoder(pb, pb_id, "t.B.C").encode_json('{"f": true}'),
    }
    decoder = registry_avro_decoder(server.url)
    subjects = {"Avro": "a-value", "JSON Schema": "j-value", "Protobuf": "p-value"}
    for label, data in records.items():
        first = readings(data, decoder)[0]
        assert first.label.startswith(f"{label} (schema id ") and f"subject {subjects[label]}" in first.label
        assert json.loads(first.text) == ({"f": True} if label == "Protobuf" else {"x": 5})
    decoded = SchemaDecoder(client).decode(records["Protobuf"])
    assert decoded.message == "t.B.C" and decoded.text == '{"f":true}'


def test_bad_values_name_the_field(server: MemoryRegistry) -> None:
    client = SchemaRegistryClient(server.url)
    js, js_id = register(
        client, "j-value", "JSON", json.dumps({"type": "object", "properties": {"x": {"type": "integer"}}})
    )
    with pytest.raises(SchemaValueError, match="field 'x'"):
        JsonSchemaEncoder(js, js_id).encode_json('{"x": "five"}')
    pb, pb_id = register(client, "p-value", "PROTOBUF", PROTO)
    with pytest.raises(SchemaValueError, match="n"):
        ProtobufEncoder(pb, pb_id).encode_json('{"n": "many"}')
    with pytest.raises(DecodeError, match="magic"):
        SchemaDecoder(client).decode(b"plain text")
    with pytest.raises(DecodeError, match="schema for id 99"):
        SchemaDecoder(client).decode(b"\x00\x00\x00\x00\x63{}")
