"""The pure byte readings behind the message detail pane and the table preview."""

from __future__ import annotations

import struct

from kcli.cluster_view import decode
from kcli.cluster_view.decode import AvroResult
from kcli.cluster_view.model import Message


def labels(data: bytes | None, avro: decode.AvroDecoder | None = None) -> list[str]:
    return [r.label for r in decode.readings(data, avro)]


def test_json_is_pretty_printed_and_also_shown_as_text() -> None:
    found = decode.readings(b'{"a":1,"b":[true,null]}')
    assert [r.label for r in found] == ["JSON", "string", "hex"]
    assert found[0].text == '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}'


def test_numbers_are_big_endian_like_the_java_serializers() -> None:
    int_readings = {r.label: r.text for r in decode.readings(struct.pack(">i", -7))}
    assert int_readings["integer"] == "-7"
    long_readings = {r.label: r.text for r in decode.readings(struct.pack(">q", 1 << 40))}
    assert long_readings["long"] == str(1 << 40)
    double_readings = {r.label: r.text for r in decode.readings(struct.pack(">d", 2.5))}
    assert double_readings["double"] == "2.5"


def test_confluent_framing_without_registry_shows_schema_id_and_body_hex() -> None:
    data = b"\x00" + struct.pack(">I", 42) + b"\x02\x06abc"
    found = decode.readings(data)
    assert found[0].label == "Avro (schema id 42)"
    assert found[0].text.startswith("00000000  02 06 61 62 63")
    assert decode.preview(data) == "<avro id=42> 0206616263"


def test_confluent_framing_with_a_decoder_shows_subject_and_version() -> None:
    def avro(schema_id: int, body: bytes) -> AvroResult:
        assert (schema_id, body) == (3, b"\x02")
        return AvroResult(schema_id, "orders-value", 2, {"id": 1})

    found = decode.readings(b"\x00\x00\x00\x00\x03\x02", avro)
    assert found[0].label == "Avro (schema id 3, subject orders-value, version 2)"
    assert found[0].text == '{\n  "id": 1\n}'


def test_a_failing_registry_is_reported_not_raised() -> None:
    def broken(schema_id: int, body: bytes) -> AvroResult:
        raise ConnectionError("registry down")

    found = decode.readings(b"\x00\x00\x00\x00\x03\x02", broken)
    assert found[0].text == "cannot decode: registry down"
    assert found[-1].label == "hex"


def test_null_and_binary_previews() -> None:
    assert labels(None) == ["null"]
    assert decode.preview(None) == "null"
    assert decode.preview(b"\x01\x02\xff") == "0x0102ff"
    assert decode.preview(b"line one\nline two") == "line one line two"
    assert decode.preview(b"x" * 100, 10) == "xxxxxxxxx…"


def record(key: bytes | None, value: bytes | None, headers: tuple = ()) -> decode.RecordView:
    return decode.view(Message("t", 0, 0, None, key, value, headers))


def test_filter_matches_text_case_insensitively_and_binary_as_hex() -> None:
    assert decode.matches("ORDER", record(b"order-1", None))
    assert decode.matches("paid", record(None, b'{"status": "paid"}'))
    assert decode.matches("ff01", record(None, b"\xff\x01"))
    assert not decode.matches("missing", record(b"k", b"v"))
    assert decode.matches("", record(None, None))


def test_filter_matches_header_values_and_marks_tombstones() -> None:
    traced = record(b"k", b"v", (("trace", b"abc-123"),))
    assert decode.matches("ABC-123", traced) and decode.matches("trace", traced)
    assert record(b"k", None).value == decode.TOMBSTONE and record(b"k", None).tombstone
    assert record(None, None).value == "null" and not record(None, None).tombstone


def test_json_schema_framed_values_read_as_json() -> None:
    framed = b"\x00\x00\x00\x00\x05" + b'{"a": 1}'
    assert decode.one_line(framed) == '{"a":1}'
    assert decode.readings(framed)[0].label == "JSON Schema (schema id 5)"
