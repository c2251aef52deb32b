"""DefaultMessageFormatter output, byte for byte."""

from __future__ import annotations

import struct

import pytest

from kcli.tools.formatter import DefaultMessageFormatter, FormatError, FormattedRecord, build_formatter

PKG = "org.apache.kafka.common.serialization."


def record(**overrides: object) -> FormattedRecord:
    fields: dict[str, object] = {
        "topic": "t",
        "partition": 0,
        "offset": 42,
        "timestamp_type": "CreateTime",
        "timestamp": 1700000000000,
        "key": b"k1",
        "value": b"v1",
        "headers": [("h1", b"x"), ("h2", None)],
    }
    fields.update(overrides)
    return FormattedRecord(**fields)  # type: ignore[arg-type]


def test_default_prints_value_only() -> None:
    assert DefaultMessageFormatter().format(record()) == b"v1\n"


def test_every_field_in_kafka_order() -> None:
    props = {f"print.{p}": "true" for p in ("timestamp", "partition", "offset", "headers", "key", "value")}
    assert (
        DefaultMessageFormatter(props).format(record())
        == b"CreateTime:1700000000000\tPartition:0\tOffset:42\th1:x,h2:null\tk1\tv1\n"
    )


def test_lecture_sample_partition_offset_key() -> None:
    fmt = DefaultMessageFormatter({"print.key": "true", "print.partition": "true", "print.offset": "true"})
    line = fmt.format(record(offset=0, key=b"3", value=b'{"avg_age":29.333333333333332,"count":3}'))
    assert line == b'Partition:0\tOffset:0\t3\t{"avg_age":29.333333333333332,"count":3}\n'


def test_separators_null_literal_and_no_headers() -> None:
    fmt = DefaultMessageFormatter(
        {
            "print.key": "TRUE",
            "print.headers": "true",
            "key.separator": " | ",
            "line.separator": "\r\n",
            "headers.separator": ";",
            "null.literal": "<nil>",
        }
    )
    assert fmt.format(record(key=None, headers=[])) == b"NO_HEADERS | <nil> | v1\r\n"
    assert fmt.format(record(headers=[("a", b"1"), ("b", b"2")])) == b"a:1;b:2 | k1 | v1\r\n"


def test_timestamp_types() -> None:
    fmt = DefaultMessageFormatter({"print.timestamp": "true"})
    assert fmt.format(record(timestamp_type="LogAppendTime", timestamp=5)) == b"LogAppendTime:5\tv1\n"
    assert fmt.format(record(timestamp_type=None, timestamp=-1)) == b"NO_TIMESTAMP\tv1\n"


def test_print_value_false_ends_line_after_key() -> None:
    fmt = DefaultMessageFormatter({"print.key": "true", "print.value": "false"})
    assert fmt.format(record()) == b"k1\n"


def test_deserializers_for_key_value_and_headers() -> None:
    fmt = DefaultMessageFormatter(
        {
            "print.key": "true",
            "print.headers": "true",
            "key.deserializer": PKG + "IntegerDeserializer",
            "value.deserializer": PKG + "DoubleDeserializer",
            "headers.deserializer": PKG + "LongDeserializer",
        }
    )
    out = fmt.format(
        record(key=struct.pack(">i", 7), value=struct.pack(">d", 2.5), headers=[("n", struct.pack(">q", 9))])
    )
    assert out == b"n:9\t7\t2.5\n"


def test_deserializer_error_names_partition_and_offset() -> None:
    fmt = DefaultMessageFormatter({"value.deserializer": PKG + "LongDeserializer"})
    with pytest.raises(
        FormatError, match=r"partition t-0 offset 42: Size of data received by LongDeserializer is not 8"
    ):
        fmt.format(record())


def test_null_value_prints_null_literal_even_with_deserializer() -> None:
    fmt = DefaultMessageFormatter({"value.deserializer": PKG + "IntegerDeserializer"})
    assert fmt.format(record(value=None)) == b"null\n"


def test_formatter_classes() -> None:
    assert build_formatter("kafka.tools.DefaultMessageFormatter", {}).format(record()) == b"v1\n"
    assert build_formatter("org.apache.kafka.tools.consumer.NoOpMessageFormatter", {}).format(record()) == b""


def test_epoch_and_delivery_print_not_present_as_kafka_console_consumer() -> None:
    fmt = DefaultMessageFormatter({"print.offset": "true", "print.delivery": "true", "print.epoch": "true"})
    assert fmt.format(record()) == b"Offset:42\tDelivery:NOT_PRESENT\tEpoch:NOT_PRESENT\tv1\n"
