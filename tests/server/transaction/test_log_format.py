"""Unit tests of ``__transaction_state`` records in Kafka's byte format (TransactionLogKey and
TransactionLogValue v0/v1), with bytes laid out by hand from Kafka's JSON schemas."""

from __future__ import annotations

import struct

import pytest

from kcli.server.transaction.log_format import (
    LogFormatError,
    TransactionLogValue,
    decode_key,
    decode_value,
    describe,
    encode_key,
    encode_value,
)
from kcli.server.transaction.state import TransactionState

S = TransactionState


def test_key_is_version_0_and_a_string():
    assert encode_key("tx-1") == b"\x00\x00\x00\x04tx-1"
    assert decode_key(b"\x00\x00\x00\x04tx-1") == "tx-1"
    with pytest.raises(LogFormatError):
        decode_key(b"\x00\x05\x00\x01x")


def test_value_v0_bytes_match_kafkas_layout():
    value = TransactionLogValue(9, 2, 60000, S.ONGOING, frozenset({("a", 1), ("a", 0), ("b", 3)}), 1000, 900)
    expected = (
        struct.pack(">hqhib", 0, 9, 2, 60000, 1)
        + struct.pack(">i", 2)  # two topics, sorted
        + struct.pack(">h", 1)
        + b"a"
        + struct.pack(">iii", 2, 0, 1)
        + struct.pack(">h", 1)
        + b"b"
        + struct.pack(">ii", 1, 3)
        + struct.pack(">qq", 1000, 900)
    )
    assert encode_value(value) == expected
    assert decode_value(expected) == value


def test_empty_stores_null_partitions():
    value = TransactionLogValue(9, 0, 1000, S.EMPTY, frozenset(), 5, -1)
    raw = encode_value(value)
    assert raw[17:21] == struct.pack(">i", -1)
    assert decode_value(raw) == value
    with pytest.raises(ValueError):
        encode_value(TransactionLogValue(9, 0, 1000, S.EMPTY, frozenset({("a", 0)}), 5, -1))


def test_value_v1_flexible_with_tagged_fields_is_read():
    raw = (
        struct.pack(">hqhib", 1, 11, 3, 30000, 2)
        + bytes([2])  # compact array of one topic
        + bytes([2])
        + b"t"  # compact string "t"
        + bytes([3])
        + struct.pack(">ii", 0, 4)  # compact array of two partitions
        + bytes([0])  # the topic's tagged fields
        + struct.pack(">qq", 77, 66)
        + bytes([2])  # two tagged fields
        + bytes([0, 8])
        + struct.pack(">q", 10)  # PreviousProducerId
        + bytes([2, 2])
        + struct.pack(">h", 2)  # ClientTransactionVersion
    )
    v = decode_value(raw)
    assert (v.producer_id, v.producer_epoch, v.timeout_ms, v.state) == (11, 3, 30000, S.PREPARE_COMMIT)
    assert v.partitions == {("t", 0), ("t", 4)}
    assert (v.last_update_ms, v.start_ms, v.previous_producer_id, v.client_transaction_version) == (
        77,
        66,
        10,
        2,
    )


def test_bad_values_are_errors_not_crashes():
    with pytest.raises(LogFormatError):
        decode_value(b"\x00\x07")
    with pytest.raises(LogFormatError):
        decode_value(struct.pack(">hqhib", 0, 1, 0, 1, 9) + struct.pack(">i", -1) + bytes(16))


def test_describe_matches_dump_log_segments():
    value = encode_value(TransactionLogValue(4, 1, 60000, S.COMPLETE_ABORT, frozenset({("t", 0)}), 123, 100))
    assert describe(encode_key("tx"), value) == (
        "transaction_metadata::transactionalId=tx",
        "producerId:4,producerEpoch:1,state=CompleteAbort,partitions=[t-0],txnLastUpdateTimestamp=123,txnTimeoutMs=60000",
    )
    assert describe(encode_key("tx"), None)[1] == "<DELETE>"
