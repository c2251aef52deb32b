"""Record batches and offsets read over the Kafka protocol itself (kio-encoded, PLAINTEXT listeners).

A consumer library hands out records and hides the batches they travelled in; drawing the log and
X-raying a record need the batches as the leader stores them. A Fetch request answers with exactly
those bytes (Kafka's zero-copy path sends the segment's bytes), so this module sends one, as a
consumer would (``replica_id`` -1, ``isolation_level`` READ_UNCOMMITTED, no fetch session), asking
only for ``max_bytes`` from the window's first offset: what is visible, never the whole partition.

``replica_log_end`` asks one replica for its log end offset with ListOffsets as Kafka's debugging
replica (``replica_id`` -2): Kafka then answers from a follower too and, with no isolation level
applying, with the log end offset rather than the high watermark (``Partition.fetchOffsetForTimestamp``).
A broker that only answers as a leader says NOT_LEADER_OR_FOLLOWER, which is reported, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcli.cluster_view.log_model import BatchInfo, RecordCell
from kcli.protocol.connection import BrokerConnection, WireError
from kcli.protocol.errors import error_code, error_name

FETCH, LIST_OFFSETS = 1, 2
#: Fetch versions with topic names (v13 switched to topic ids) and the log start offset (v5).
FETCH_VERSIONS = (5, 12)
LIST_OFFSETS_VERSIONS = (1, 7)
DEBUGGING_REPLICA_ID = -2
LATEST = -1


@dataclass(frozen=True)
class FetchedWindow:
    """What one Fetch answered for one partition."""

    error: str | None
    high_watermark: int | None
    last_stable: int | None
    log_start: int | None
    batches: tuple[BatchInfo, ...]
    records: tuple[RecordCell, ...]
    raw: dict[int, bytes]  # batch base offset -> the batch's bytes, for the X-ray
    size: int
    note: str | None = None


def _known(value: Any) -> int | None:
    value = int(value)
    return value if value >= 0 else None


def fetch_window(
    host: str,
    port: int,
    topic: str,
    partition: int,
    offset: int,
    max_bytes: int,
    timeout_s: float,
    decode: bool = True,
) -> FetchedWindow:
    """The batches from ``offset`` on, up to about ``max_bytes`` (at least one whole batch)."""
    with BrokerConnection(host, port, timeout_s, "kcli-tui") as conn:
        version = conn.version(FETCH, *FETCH_VERSIONS)
        body = {
            "replica_id": -1,
            "max_wait": 0,
            "min_bytes": 0,
            "max_bytes": max_bytes,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": partition,
                            "current_leader_epoch": -1,
                            "fetch_offset": offset,
                            "log_start_offset": -1,
                            "partition_max_bytes": max_bytes,
                        }
                    ],
                }
            ],
            "forgotten_topics_data": [],
            "rack_id": "",
        }
        response = conn.exchange([(FETCH, version, body)])[0]
    if error_code(response.error_code):
        return FetchedWindow(error_name(response.error_code), None, None, None, (), (), {}, 0)
    for t in response.responses:
        for p in t.partitions:
            if int(p.partition_index) != partition:
                continue
            error = error_name(p.error_code) if error_code(p.error_code) else None
            data = bytes(p.records or b"")
            batches, records, raw, note = parse_batches(data, decode)
            return FetchedWindow(
                error,
                _known(p.high_watermark),
                _known(p.last_stable_offset),
                _known(p.log_start_offset),
                batches,
                records,
                raw,
                len(data),
                note,
            )
    return FetchedWindow("no answer for the partition", None, None, None, (), (), {}, 0)


def parse_batches(
    data: bytes, decode: bool = True
) -> tuple[tuple[BatchInfo, ...], tuple[RecordCell, ...], dict[int, bytes], str | None]:
    """Batches (and their records when ``decode``) of a Fetch answer; a partial last batch is left out,
    as every consumer does. Message sets older than magic 2 are not drawn (``note`` says so)."""
    from kcli.cluster_view.log_segments import SegmentError, iter_batches

    batches: list[BatchInfo] = []
    records: list[RecordCell] = []
    raw: dict[int, bytes] = {}
    note = None
    for b in iter_batches(data):
        if b.magic != 2:
            note = f"message format v{b.magic} (before Kafka 0.11) at offset {b.base_offset}: not drawn"
            break
        offsets: tuple[int, ...] | None = None
        if decode:
            try:
                decoded = b.records()
            except SegmentError as exc:
                note = f"batch at offset {b.base_offset} cannot be decoded: {exc}"
                decoded = []
            offsets = tuple(r.offset for r in decoded)
            for r in decoded:
                records.append(
                    RecordCell(
                        r.offset,
                        r.timestamp,
                        r.key,
                        r.value,
                        tuple((k, v) for k, v in r.headers),
                        b.base_offset,
                    )
                )
        batches.append(
            BatchInfo(
                base_offset=b.base_offset,
                last_offset=b.last_offset,
                count=b.count,
                size=b.size,
                partition_leader_epoch=b.partition_leader_epoch,
                crc=b.crc,
                crc_ok=b.is_valid(),
                compression=b.compression,
                timestamp_type=b.timestamp_type,
                transactional=b.is_transactional,
                control=b.is_control,
                producer_id=b.producer_id,
                producer_epoch=b.producer_epoch,
                base_sequence=b.base_sequence,
                base_timestamp=b.base_timestamp,
                max_timestamp=b.max_timestamp,
                offsets=offsets,
            )
        )
        raw[b.base_offset] = b.raw
    return tuple(batches), tuple(records), raw, note


def replica_log_end(
    host: str, port: int, topic: str, partition: int, timeout_s: float
) -> tuple[int | None, str | None]:
    """(log end offset, None) of the replica on this broker, or (None, why not)."""
    try:
        with BrokerConnection(host, port, timeout_s, "kcli-tui") as conn:
            version = conn.version(LIST_OFFSETS, *LIST_OFFSETS_VERSIONS)
            body = {
                "replica_id": DEBUGGING_REPLICA_ID,
                "isolation_level": 0,
                "topics": [
                    {
                        "name": topic,
                        "partitions": [
                            {"partition_index": partition, "timestamp": LATEST, "current_leader_epoch": -1}
                        ],
                    }
                ],
            }
            response = conn.exchange([(LIST_OFFSETS, version, body)])[0]
    except WireError as exc:
        return None, str(exc)
    for t in response.topics:
        for p in t.partitions:
            if error_code(p.error_code):
                return None, error_name(p.error_code)
            return _known(p.offset), None
    return None, "no answer"
