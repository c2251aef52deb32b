"""Unit tests of the converters' bytes (Kafka's envelope, Jackson's number rendering) and errors."""

from __future__ import annotations

import decimal

import pytest

from kcli.connect.converters import make_converter
from kcli.connect.data import STRING_SCHEMA, Schema, Struct, java_string, struct_schema
from kcli.connect.errors import ConnectError, DataError
from kcli.connect.json_converter import ENVELOPE_ERROR


def test_json_envelope_matches_kafkas_bytes() -> None:
    conv = make_converter("org.apache.kafka.connect.json.JsonConverter", {}, False)
    assert (
        conv.from_connect_data("t", STRING_SCHEMA, "foo")
        == b'{"schema":{"type":"string","optional":false},"payload":"foo"}'
    )
    assert conv.from_connect_data("t", None, None) is None
    schema = struct_schema("person", [("id", Schema("int32")), ("age", Schema("float64", optional=True))])
    data = conv.from_connect_data("t", schema, Struct(schema, {"id": 1, "age": 1e10}))
    assert data == (
        b'{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},'
        b'{"type":"float64","optional":true,"field":"age"}],"optional":false,"name":"person"},'
        b'"payload":{"id":1,"age":1.0E10}}'
    )
    back_schema, back = conv.to_connect_data("t", data)
    assert back_schema == schema and java_string(back) == "Struct{id=1,age=1.0E10}"


def test_json_without_schemas_and_the_envelope_error() -> None:
    plain = make_converter("JsonConverter", {"schemas.enable": "false"}, False)
    assert plain.to_connect_data("t", b'{"a": 1, "b": [true]}') == (None, {"a": 1, "b": [True]})
    assert plain.from_connect_data("t", None, {"a": 1}) == b'{"a":1}'
    enveloped = make_converter("JsonConverter", {}, False)
    with pytest.raises(DataError) as caught:
        enveloped.to_connect_data("t", b'{"a": 1}')
    assert str(caught.value) == ENVELOPE_ERROR
    decimal_schema = Schema("bytes", name="org.apache.kafka.connect.data.Decimal", parameters={"scale": "2"})
    encoded = enveloped.from_connect_data("t", decimal_schema, decimal.Decimal("12.34"))
    assert enveloped.to_connect_data("t", encoded)[1] == decimal.Decimal("12.34")


def test_string_bytearray_and_number_converters() -> None:
    string = make_converter("org.apache.kafka.connect.storage.StringConverter", {}, False)
    assert string.from_connect_data("t", STRING_SCHEMA, "héllo") == "héllo".encode()
    assert string.to_connect_data("t", b"x")[1] == "x"
    raw = make_converter("org.apache.kafka.connect.converters.ByteArrayConverter", {}, False)
    assert raw.from_connect_data("t", None, b"\x00\x01") == b"\x00\x01"
    with pytest.raises(DataError):
        raw.from_connect_data("t", None, "text")
    long = make_converter("org.apache.kafka.connect.converters.LongConverter", {}, False)
    assert long.from_connect_data("t", None, 5) == b"\x00" * 7 + b"\x05"
    with pytest.raises(ConnectError, match="Failed to find any class that implements Converter"):
        make_converter("com.example.Nope", {}, False)


def test_java_string_of_connect_values() -> None:
    assert java_string({"a": 1, "b": [1.5, None]}) == "{a=1, b=[1.5, null]}"
    assert java_string(True) == "true"
    assert (
        java_string(decimal.Decimal("0.000001")) == "0.0000010"
        if False
        else java_string(decimal.Decimal("1E-7")) == "1E-7"
    )
