"""Control records: the COMMIT and ABORT markers that end a transaction in a partition.

A marker is a batch of its own with the control and transactional attribute bits set, the
producer id and epoch of the transaction, no sequence, and one record (Kafka's ControlRecordType
and EndTransactionMarker)::

    key   => Version(int16, 0) Type(int16: 0 = ABORT, 1 = COMMIT)
    value => Version(int16, 0) CoordinatorEpoch(int32)

Only partition leaders write them (WriteTxnMarkers); clients never may.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from kcli.protocol.records import BatchHeader, build_batch, decode_batch

ABORT = 0
COMMIT = 1
LEADER_CHANGE = 2
_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")

CONTROL_TYPE_NAMES = {
    ABORT: "ABORT",
    COMMIT: "COMMIT",
    LEADER_CHANGE: "LEADER_CHANGE",
    3: "SNAPSHOT_HEADER",
    4: "SNAPSHOT_FOOTER",
    5: "KRAFT_VERSION",
    6: "KRAFT_VOTERS",
}


class ControlRecord(NamedTuple):
    control_type: int  # ABORT, COMMIT, or another (unknown) type
    coordinator_epoch: int  # -1 unless an end transaction marker


def end_txn_marker(
    producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int, timestamp_ms: int
) -> bytes:
    """The marker batch (base offset 0, stamped by the log like any batch)."""
    return build_batch(
        [(_KEY.pack(0, COMMIT if commit else ABORT), _VALUE.pack(0, coordinator_epoch))],
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_control=True,
        is_transactional=True,
        timestamp=timestamp_ms,
    )


def parse_key(key: bytes | None) -> int:
    """The control type of a control record's key; -1 (UNKNOWN) when it cannot be read."""
    if key is None or len(key) < _KEY.size:
        return -1
    version, control_type = _KEY.unpack_from(key)
    return control_type if version >= 0 else -1


def parse_marker_value(value: bytes | None) -> int:
    """The coordinator epoch of an end transaction marker's value; -1 when unreadable."""
    if value is None or len(value) < _VALUE.size:
        return -1
    version, epoch = _VALUE.unpack_from(value)
    return epoch if version >= 0 else -1


def read_control_batch(
    data: bytes | bytearray | memoryview, pos: int = 0
) -> tuple[BatchHeader, ControlRecord | None]:
    """The header of the control batch at ``pos`` and its first record (None for an empty batch,
    which compaction may leave behind)."""
    header, records = decode_batch(data, pos)
    if not records:
        return header, None
    rec = records[0]
    control_type = parse_key(rec.key)
    epoch = parse_marker_value(rec.value) if control_type in (ABORT, COMMIT) else -1
    return header, ControlRecord(control_type, epoch)
