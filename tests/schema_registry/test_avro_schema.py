"""Schema validation: fastavro's checks plus the union-default rule and the lecture's slip."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import pytest

from kcli.schema_registry.avro_schema import parse
from kcli.schema_registry.errors import INVALID_SCHEMA, RegistryError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "avro"


def test_lecture_customer_as_on_the_slide_is_rejected_with_the_fix() -> None:
    text = (EXAMPLES / "customer-as-on-the-slide.avsc").read_text()
    # fastavro alone accepts it: "null" is a valid string, and fastavro checks any union branch
    fastavro.parse_schema(json.loads(text), named_schemas={})
    with pytest.raises(RegistryError) as err:
        parse(text)
    assert err.value.error_code == INVALID_SCHEMA == 42201
    message = err.value.message
    assert "faxNumber" in message and "customerManagement.avro.Customer" in message
    assert '"default": null' in message and "no quotes" in message


def test_corrected_customer_is_valid() -> None:
    schema = parse((EXAMPLES / "customer.avsc").read_text())
    assert "customerManagement.avro.Customer" in schema.named
    assert json.loads(schema.canonical)["fields"][2]["default"] is None


def _field_schema(type_: object, default: object) -> str:
    return json.dumps(
        {"type": "record", "name": "R", "fields": [{"name": "f", "type": type_, "default": default}]}
    )


@pytest.mark.parametrize(
    ("type_", "default"),
    [
        (["null", "string"], None),
        (["string", "null"], "x"),
        ("int", 3),
        ("double", 1),
        ({"type": "array", "items": "int"}, [1, 2]),
        ({"type": "map", "values": ["null", "int"]}, {"a": None}),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "A"),
    ],
)
def test_valid_defaults(type_: object, default: object) -> None:
    parse(_field_schema(type_, default))


@pytest.mark.parametrize(
    ("type_", "default", "hint"),
    [
        (["null", "string"], "x", 'put "string" first'.replace('"', "")),
        (["string", "null"], None, "default of type string"),
        ("int", "a", "not a valid int"),
        ("int", 2**40, "not a valid int"),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B", "not a valid E"),
    ],
)
def test_invalid_defaults_name_the_field(type_: object, default: object, hint: str) -> None:
    with pytest.raises(RegistryError) as err:
        parse(_field_schema(type_, default))
    assert 'field "f" of record R' in err.value.message
    assert hint in err.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "strng"}]}', "strng"),
        ('{"type": "record", "fields": []}', "name"),
        ('{"type": "enum", "name": "E", "symbols": ["A", "A"]}', ""),
    ],
)
def test_invalid_schemas(text: str, fragment: str) -> None:
    with pytest.raises(RegistryError) as err:
        parse(text)
    assert err.value.error_code == 42201
    assert fragment in err.value.message


def test_canonical_form_ignores_whitespace() -> None:
    assert parse('{"type" : "string"}').canonical == parse('{"type":"string"}').canonical
    assert parse('"string"').canonical == '"string"'
