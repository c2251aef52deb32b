"""``__transaction_state`` records in Kafka's format: TransactionLogKey and TransactionLogValue.

Both are version-prefixed (an int16 version, then the message), exactly as Kafka's
``MessageUtil.toVersionPrefixedBytes`` writes them, so ``kafka-dump-log`` of either broker reads
the other's log::

    TransactionLogKey v0   => TransactionalId(string)
    TransactionLogValue v0 => ProducerId(int64) ProducerEpoch(int16) TransactionTimeoutMs(int32)
                              TransactionStatus(int8) TransactionPartitions([Topic(string)
                              PartitionIds([]int32)], nullable) TransactionLastUpdateTimestampMs(int64)
                              TransactionStartTimestampMs(int64)
    TransactionLogValue v1 => the same, flexible (compact strings and arrays, tagged fields), with
                              tagged PreviousProducerId (0), NextProducerId (1),
                              ClientTransactionVersion (2)

Values are written as v0, what Kafka writes while ``transaction.version`` is below 1; both
versions are read. A null value is a tombstone (an expired transactional id). Partitions are
null for Empty, as Kafka writes them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kcli.server.transaction.state import NO_PRODUCER_ID, TopicPartition, TransactionState, TxnTransit

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_VALUE_V0_HEAD = struct.Struct(">qhib")  # producer id, epoch, timeout, status


class LogFormatError(ValueError):
    """A record of ``__transaction_state`` that does not decode (skipped with a warning)."""


@dataclass(frozen=True)
class TransactionLogValue:
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TransactionState
    partitions: frozenset[TopicPartition]
    last_update_ms: int
    start_ms: int
    previous_producer_id: int = NO_PRODUCER_ID
    next_producer_id: int = NO_PRODUCER_ID
    client_transaction_version: int = 0

    @classmethod
    def from_transit(cls, t: TxnTransit) -> TransactionLogValue:
        return cls(
            t.producer_id,
            t.producer_epoch,
            t.txn_timeout_ms,
            t.state,
            t.partitions,
            t.txn_last_update_ms,
            t.txn_start_ms,
            t.prev_producer_id,
            t.next_producer_id,
            t.client_transaction_version,
        )


def _string(text: str) -> bytes:
    raw = text.encode()
    return _I16.pack(len(raw)) + raw


def encode_key(transactional_id: str) -> bytes:
    return _I16.pack(0) + _string(transactional_id)


def decode_key(data: bytes) -> str:
    """The transactional id of a key; LogFormatError for an unknown version or a short key."""
    r = _Reader(data)
    version = r.i16()
    if version != 0:
        raise LogFormatError(f"unknown transaction log key version {version}")
    return r.string()


def encode_value(v: TransactionLogValue) -> bytes:
    if v.state is TransactionState.EMPTY and v.partitions:
        raise ValueError(f"an Empty transaction has no partitions: {v}")
    out = bytearray(_I16.pack(0))
    out += _VALUE_V0_HEAD.pack(v.producer_id, v.producer_epoch, v.timeout_ms, v.state.id)
    if v.state is TransactionState.EMPTY:
        out += _I32.pack(-1)
    else:
        by_topic: dict[str, list[int]] = {}
        for topic, partition in sorted(v.partitions):
            by_topic.setdefault(topic, []).append(partition)
        out += _I32.pack(len(by_topic))
        for topic, ids in by_topic.items():
            out += _string(topic) + _I32.pack(len(ids))
            for i in ids:
                out += _I32.pack(i)
    out += _I64.pack(v.last_update_ms) + _I64.pack(v.start_ms)
    return bytes(out)


def decode_value(data: bytes) -> TransactionLogValue:
    r = _Reader(data)
    version = r.i16()
    if version not in (0, 1):
        raise LogFormatError(f"unknown transaction log value version {version}")
    flexible = version == 1
    producer_id = r.i64()
    epoch = r.i16()
    timeout = r.i32()
    try:
        state = TransactionState.from_id(r.i8())
    except ValueError as exc:
        raise LogFormatError(str(exc)) from None
    partitions: set[TopicPartition] = set()
    count = r.uvarint() - 1 if flexible else r.i32()
    for _ in range(max(count, 0)):
        topic = r.compact_string() if flexible else r.string()
        n = r.uvarint() - 1 if flexible else r.i32()
        for _ in range(max(n, 0)):
            partitions.add((topic, r.i32()))
        if flexible:
            r.skip_tagged()
    last_update = r.i64()
    start = r.i64()
    previous, following, client_tv = NO_PRODUCER_ID, NO_PRODUCER_ID, 0
    if flexible:
        for tag, payload in r.tagged():
            if tag == 0 and len(payload) == 8:
                previous = _I64.unpack(payload)[0]
            elif tag == 1 and len(payload) == 8:
                following = _I64.unpack(payload)[0]
            elif tag == 2 and len(payload) == 2:
                client_tv = _I16.unpack(payload)[0]
    if state is TransactionState.EMPTY:
        partitions.clear()  # Kafka ignores any partitions stored with Empty
    return TransactionLogValue(
        producer_id,
        epoch,
        timeout,
        state,
        frozenset(partitions),
        last_update,
        start,
        previous,
        following,
        client_tv,
    )


def describe(key: bytes | None, value: bytes | None) -> tuple[str, str]:
    """Key and value as Kafka's DumpLogSegments prints ``__transaction_state`` (TransactionLog
    formatRecordKeyAndValue)."""
    try:
        transactional_id = decode_key(key or b"")
    except (LogFormatError, IndexError, struct.error):
        version = _I16.unpack(key[:2])[0] if key and len(key) >= 2 else -1
        return f"unknown::version={version}", ""
    if value is None:
        return f"transaction_metadata::transactionalId={transactional_id}", "<DELETE>"
    v = decode_value(value)
    parts = ",".join(f"{t}-{p}" for t, p in sorted(v.partitions))
    return (
        f"transaction_metadata::transactionalId={transactional_id}",
        f"producerId:{v.producer_id},producerEpoch:{v.producer_epoch},state={v.state.label},"
        f"partitions=[{parts}],txnLastUpdateTimestamp={v.last_update_ms},txnTimeoutMs={v.timeout_ms}",
    )


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def _take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise LogFormatError("transaction log record is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def i8(self) -> int:
        return struct.unpack(">b", self._take(1))[0]

    def i16(self) -> int:
        return _I16.unpack(self._take(2))[0]

    def i32(self) -> int:
        return _I32.unpack(self._take(4))[0]

    def i64(self) -> int:
        return _I64.unpack(self._take(8))[0]

    def string(self) -> str:
        n = self.i16()
        if n < 0:
            raise LogFormatError("null string in transaction log record")
        return bytes(self._take(n)).decode()

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 35:
                raise LogFormatError("varint too long in transaction log record")

    def compact_string(self) -> str:
        n = self.uvarint() - 1
        if n < 0:
            raise LogFormatError("null string in transaction log record")
        return bytes(self._take(n)).decode()

    def tagged(self) -> list[tuple[int, bytes]]:
        fields = []
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            fields.append((tag, bytes(self._take(self.uvarint()))))
        return fields

    def skip_tagged(self) -> None:
        self.tagged()
