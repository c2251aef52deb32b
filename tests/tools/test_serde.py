"""The Java deserializers' byte-level behaviour (bytes as a Java producer writes them)."""

from __future__ import annotations

import struct

import pytest

from kcli.serde import SerdeError, deserializer, java_double_to_string, java_float_to_string

PKG = "org.apache.kafka.common.serialization."


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("StringDeserializer", "héllo".encode(), "héllo"),
        ("IntegerDeserializer", struct.pack(">i", 42), "42"),
        ("IntegerDeserializer", struct.pack(">i", -1), "-1"),
        ("IntegerDeserializer", bytes.fromhex("7fffffff"), "2147483647"),
        ("LongDeserializer", struct.pack(">q", 1700000000000), "1700000000000"),
        ("LongDeserializer", struct.pack(">q", -9223372036854775808), "-9223372036854775808"),
        ("ShortDeserializer", struct.pack(">h", -2), "-2"),
        ("DoubleDeserializer", struct.pack(">d", 29.333333333333332), "29.333333333333332"),
        ("DoubleDeserializer", struct.pack(">d", 1e7), "1.0E7"),
        ("DoubleDeserializer", struct.pack(">d", 100.0), "100.0"),
        ("DoubleDeserializer", struct.pack(">d", float("nan")), "NaN"),
        ("DoubleDeserializer", struct.pack(">d", float("-inf")), "-Infinity"),
        ("FloatDeserializer", struct.pack(">f", 3.14), "3.14"),
        ("FloatDeserializer", struct.pack(">f", 0.1), "0.1"),
        ("FloatDeserializer", struct.pack(">f", 1e10), "1.0E10"),
        ("UUIDDeserializer", b"123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
        ("BytesDeserializer", b"ab\x00\\\xff~", "ab\\x00\\x5C\\xFF~"),
        ("ByteArrayDeserializer", b"raw", "raw"),
        ("BooleanDeserializer", b"\x01", "true"),
    ],
)
def test_deserializer_matches_java_rendering(name: str, data: bytes, expected: str) -> None:
    assert deserializer(PKG + name)(data) == expected


def test_short_class_names_and_null() -> None:
    for name in ("StringDeserializer", "IntegerDeserializer", "UUIDDeserializer", "VoidDeserializer"):
        assert deserializer(PKG + name)(None) is None


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("IntegerDeserializer", b"abc", "Size of data received by IntegerDeserializer is not 4"),
        ("LongDeserializer", b"1234", "Size of data received by LongDeserializer is not 8"),
        ("ShortDeserializer", b"1", "Size of data received by ShortDeserializer is not 2"),
        ("DoubleDeserializer", b"1", "Size of data received by Deserializer is not 8"),
        ("UUIDDeserializer", b"not-a-uuid", "Error parsing data into UUID"),
        ("VoidDeserializer", b"x", "Data should be null for a VoidDeserializer."),
    ],
)
def test_deserializer_rejects_like_java(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SerdeError, match=message):
        deserializer(PKG + name)(data)


def test_unknown_class_is_an_error() -> None:
    with pytest.raises(SerdeError, match=r"com\.example\.Nope"):
        deserializer("com.example.Nope")


def test_string_encoding_property() -> None:
    text = deserializer(PKG + "StringDeserializer", {"value.deserializer.encoding": "latin-1"})(b"\xe9")
    assert text == "é"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.001, "0.001"),
        (1e-4, "1.0E-4"),
        (123456.789, "123456.789"),
        (9999999.0, "9999999.0"),
        (12345678.9, "1.23456789E7"),
        (-2.5, "-2.5"),
        (-0.0, "-0.0"),
        (1.5e300, "1.5E300"),
    ],
)
def test_double_to_string(value: float, expected: str) -> None:
    assert java_double_to_string(value) == expected


def test_float_to_string_uses_float32_digits() -> None:
    assert java_float_to_string(struct.unpack(">f", struct.pack(">f", 16777216.0))[0]) == "1.6777216E7"
