"""JSON Schema in the registry: parsing, references, Confluent's compatibility rules, and a round trip
through Confluent's own Python ``JSONSerializer``/``JSONDeserializer`` (unmodified)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kcli.schema_registry.errors import RegistryError
from kcli.schema_registry.json_schema import parse_json_schema
from tests.schema_registry.helpers import MemoryRegistry

PERSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Person",
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id"],
}


def closed(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


def problems(reader: dict, writer: dict) -> list[str]:
    return parse_json_schema(json.dumps(reader)).reader_problems(parse_json_schema(json.dumps(writer)))


@pytest.fixture
def api() -> Iterator[MemoryRegistry]:
    server = MemoryRegistry().start()
    try:
        yield server
    finally:
        server.stop()


def test_parse_checks_the_meta_schema_and_keeps_key_order() -> None:
    parsed = parse_json_schema(json.dumps(PERSON, indent=2))
    assert parsed.canonical == json.dumps(PERSON, separators=(",", ":"))
    with pytest.raises(RegistryError) as err:
        parse_json_schema('{"type": "strin"}')
    assert err.value.error_code == 42201 and "strin" in err.value.message
    with pytest.raises(RegistryError) as err:
        parse_json_schema('{"type": "object"')
    assert "not valid JSON" in err.value.message
    with pytest.raises(RegistryError) as err:
        parse_json_schema('{"$ref": "other.json"}')
    assert "other.json" in err.value.message


def test_validation_names_the_field() -> None:
    parsed = parse_json_schema(json.dumps(PERSON))
    assert parsed.errors({"id": 1, "name": "Ann"}) == []
    [problem] = parsed.errors({"id": "one"})
    assert problem.startswith("field 'id':") and "integer" in problem
    assert any("'id' is a required property" in p for p in parsed.errors({}))


@pytest.mark.parametrize(
    ("reader", "writer", "expected"),
    [
        # open content model: a new typed property may clash with what old data already holds
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {}},
            "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        ),
        # closed content model: an optional property may be added, a required one without default not
        (closed({"a": {"type": "string"}, "b": {"type": "string"}}), closed({"a": {"type": "string"}}), None),
        (
            closed({"a": {"type": "string"}, "b": {"type": "string"}}, ["b"]),
            closed({"a": {"type": "string"}}),
            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        ),
        (closed({}), closed({"a": {"type": "string"}}), "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"),
        ({"type": "object", "properties": {}}, {"type": "object", "properties": {"a": {}}}, None),
        ({"type": "string"}, {"type": "integer"}, "TYPE_CHANGED"),
        ({"type": "number"}, {"type": "integer"}, None),  # TYPE_EXTENDED
        ({"type": "integer"}, {"type": "number"}, "TYPE_NARROWED"),
        ({"type": ["string", "null"]}, {"type": "string"}, None),  # SUM_TYPE_EXTENDED
        ({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 20}, "MAX_LENGTH_DECREASED"),
        ({"type": "string", "maxLength": 30}, {"type": "string", "maxLength": 20}, None),
        ({"enum": ["A", "B", "C"]}, {"enum": ["A", "B"]}, None),
        ({"enum": ["A"]}, {"enum": ["A", "B"]}, "ENUM_ARRAY_NARROWED"),
        (
            {"type": "array", "items": {"type": "integer"}},
            {"type": "array", "items": {"type": "string"}},
            "TYPE_CHANGED",
        ),
    ],
)
def test_confluent_compatibility_rules(reader: dict, writer: dict, expected: str | None) -> None:
    found = problems(reader, writer)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and f"'{expected}'" in found[0], found


def test_recursive_references_terminate() -> None:
    tree = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#"}}, "v": {"type": "integer"}},
    }
    assert problems(tree, tree) == []


def test_registry_with_references_and_compatibility(api: MemoryRegistry) -> None:
    address = {"type": "object", "properties": {"zip": {"type": "string"}}}
    reply = api("POST", "/subjects/address/versions", {"schema": json.dumps(address), "schemaType": "JSON"})
    assert reply.status == 200, reply.body
    customer = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "address": {"$ref": "address.json"}},
    }
    refs = [{"name": "address.json", "subject": "address", "version": 1}]
    body = {"schema": json.dumps(customer), "schemaType": "JSON", "references": refs}
    reply = api("POST", "/subjects/customer-value/versions", body)
    assert reply.status == 200, reply.body
    customer_id = reply.body["id"]
    got = api("GET", "/subjects/customer-value/versions/1").body
    assert got["schemaType"] == "JSON" and got["references"] == refs
    assert api("GET", f"/schemas/ids/{customer_id}").body["references"] == refs
    assert api("GET", "/subjects/address/versions/1/referencedby").body == [customer_id]
    # a referenced version cannot be deleted while referenced (Confluent's 42206)
    reply = api("DELETE", "/subjects/address/versions/1")
    assert reply.status == 422 and reply.body["error_code"] == 42206
    # same text, same references: the same id; BACKWARD refuses a new property in an open model
    assert api("POST", "/subjects/customer-value/versions", body).body == {"id": customer_id}
    customer["properties"]["age"] = {"type": "integer"}
    reply = api(
        "POST",
        "/subjects/customer-value/versions",
        {"schema": json.dumps(customer), "schemaType": "JSON", "references": refs},
    )
    assert reply.status == 409 and "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" in reply.body["message"]
    # the compatibility endpoint says the same, verbosely
    reply = api(
        "POST",
        "/compatibility/subjects/customer-value/versions/latest?verbose=true",
        {"schema": json.dumps(customer), "schemaType": "JSON", "references": refs},
    )
    assert reply.body["is_compatible"] is False and reply.body["messages"]


def test_confluent_python_serializer_round_trip(api: MemoryRegistry) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient({"url": api.url})
    ctx = SerializationContext("people", MessageField.VALUE)
    data = JSONSerializer(json.dumps(PERSON), client)({"id": 7, "name": "Ann"}, ctx)
    schema_id = int.from_bytes(data[1:5], "big")
    assert data[0] == 0 and json.loads(data[5:]) == {"id": 7, "name": "Ann"}
    assert api("GET", f"/schemas/ids/{schema_id}").body["schemaType"] == "JSON"
    assert JSONDeserializer(None, schema_registry_client=client)(data, ctx) == {"id": 7, "name": "Ann"}
    # the deserializer with the reader schema given validates too
    assert JSONDeserializer(json.dumps(PERSON))(data, ctx) == {"id": 7, "name": "Ann"}
