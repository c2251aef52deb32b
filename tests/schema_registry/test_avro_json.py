"""Avro's JSON encoding: strict reading (errors name the field), printing, and binary round trips."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest

from kcli.schema_registry.avro_json import AvroJsonError, from_avro_json, to_avro_json
from kcli.schema_registry.avro_schema import parse

CUSTOMER = parse(
    json.dumps(
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
)

EVERYTHING = parse(
    json.dumps(
        {
            "type": "record",
            "name": "All",
            "namespace": "t",
            "fields": [
                {"name": "b", "type": "boolean"},
                {"name": "l", "type": "long"},
                {"name": "f", "type": "float"},
                {"name": "d", "type": "double"},
                {"name": "by", "type": "bytes"},
                {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
                {"name": "fx", "type": {"type": "fixed", "name": "Two", "size": 2}},
                {"name": "a", "type": {"type": "array", "items": "int"}},
                {"name": "m", "type": {"type": "map", "values": ["null", "long"]}},
                {"name": "u", "type": ["null", "int", "string", "Color"]},
                {
                    "name": "nested",
                    "type": [
                        "null",
                        {"type": "record", "name": "In", "fields": [{"name": "x", "type": "int"}]},
                    ],
                },
            ],
        }
    )
)


def round_trip(schema: Any, text: str) -> str:
    datum = from_avro_json(schema, json.loads(text))
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema.parsed, datum)
    decoded = fastavro.schemaless_reader(io.BytesIO(buf.getvalue()), schema.parsed, return_named_type=True)
    return json.dumps(to_avro_json(schema, decoded), separators=(",", ":"))


@pytest.mark.parametrize(
    "text",
    [
        '{"id":1,"name":"Ann","faxNumber":null}',
        '{"id":2,"name":"Bob","faxNumber":{"string":"555-1234"}}',
    ],
)
def test_customer_round_trip(text: str) -> None:
    assert round_trip(CUSTOMER, text) == text


def test_missing_field_with_default_is_filled() -> None:
    assert round_trip(CUSTOMER, '{"id":3,"name":"Eve"}') == '{"id":3,"name":"Eve","faxNumber":null}'


def test_every_type_round_trips() -> None:
    text = json.dumps(
        {
            "b": True,
            "l": 2**40,
            "f": 1.5,
            "d": 0.25,
            "by": "\u00ff\u0000a",
            "e": "GREEN",
            "fx": "ab",
            "a": [1, 2],
            "m": {"k": {"long": 5}, "z": None},
            "u": {"t.Color": "RED"},
            "nested": {"t.In": {"x": 7}},
        },
        separators=(",", ":"),
    )
    assert round_trip(EVERYTHING, text) == text


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        ('{"id":"x","name":"a"}', "id", "expected int"),
        ('{"id":1}', "name", "missing"),
        ('{"id":1,"name":"a","faxNumber":"x"}', "faxNumber", '{"string": ...}'),
        ('{"id":1,"name":"a","faxNumber":{"int":1}}', "faxNumber", "union"),
        ('{"id":1,"name":"a","fax":null}', "fax", "no field 'fax'"),
        ('{"id":2147483648,"name":"a"}', "id", "expected int"),
        ('{"id":true,"name":"a"}', "id", "expected int"),
    ],
)
def test_errors_name_the_field(text: str, path: str, fragment: str) -> None:
    with pytest.raises(AvroJsonError) as err:
        from_avro_json(CUSTOMER, json.loads(text))
    assert err.value.path == path
    assert f"field '{path}'" in str(err.value) and fragment in str(err.value)


def test_nested_paths() -> None:
    base = json.loads(
        round_trip(
            EVERYTHING,
            json.dumps(
                {
                    "b": False,
                    "l": 1,
                    "f": 1,
                    "d": 1,
                    "by": "",
                    "e": "RED",
                    "fx": "ab",
                    "a": [],
                    "m": {},
                    "u": None,
                    "nested": None,
                }
            ),
        )
    )
    for change, path in (
        ({"a": [1, "x"]}, "a[1]"),
        ({"e": "BLUE"}, "e"),
        ({"fx": "abc"}, "fx"),
        ({"nested": {"t.In": {"x": "no"}}}, "nested.x"),
    ):
        with pytest.raises(AvroJsonError) as err:
            from_avro_json(EVERYTHING, {**base, **change})
        assert err.value.path == path


def test_short_union_branch_names_are_accepted() -> None:
    datum = from_avro_json(
        EVERYTHING,
        {
            "b": False,
            "l": 1,
            "f": 1,
            "d": 1,
            "by": "",
            "e": "RED",
            "fx": "ab",
            "a": [],
            "m": {},
            "u": {"Color": "GREEN"},
            "nested": {"In": {"x": 1}},
        },
    )
    assert datum["u"] == ("t.Color", "GREEN")
