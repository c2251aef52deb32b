"""Record batch v2: header parsing, produce-path validation, offset stamping and the record codec."""

from __future__ import annotations

import struct

import cramjam
import pytest
from crc32c import crc32c
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from kcli.protocol import records as R
from kcli.protocol.records import (
    BATCH_HEADER_SIZE,
    LOG_OVERHEAD,
    CorruptRecordError,
    InvalidRecordError,
    RecordTooLargeError,
    assign_offsets,
    build_batch,
    decode_batch,
    decode_records,
    iter_batches,
    parse_header,
    validate_batches,
)

ROWS = [
    (b"k0", b"v0" * 40, [], 1_700_000_000_000),
    (None, b"value without key", [("trace", b"abc"), ("empty", None)], 1_700_000_000_005),
    (b"tombstone", None, [], 1_700_000_000_003),
    (b"", b"", [("h", b"")], 1_700_000_000_010),
]


def kafka_python_batch(
    rows=ROWS, compression=0, producer_id=-1, producer_epoch=-1, base_sequence=-1
) -> bytes:
    """A batch built by kafka-python's own v2 builder: an independent encoder."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=compression,
        is_transactional=0,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        batch_size=1 << 20,
    )
    for i, (key, value, headers, ts) in enumerate(rows):
        builder.append(i, ts, key, value, headers)
    return bytes(builder.build())


def recompress(batch: bytes, codec: int, payload_of) -> bytes:
    """Re-encode an uncompressed batch's records section with ``payload_of`` and fix the header."""
    body = payload_of(batch[BATCH_HEADER_SIZE:])
    out = bytearray(batch[:BATCH_HEADER_SIZE]) + body
    struct.pack_into(">i", out, 8, len(out) - LOG_OVERHEAD)
    attrs = struct.unpack_from(">h", out, 21)[0]
    struct.pack_into(">h", out, 21, (attrs & ~7) | codec)
    struct.pack_into(">I", out, 17, crc32c(bytes(out[21:])))
    return bytes(out)


def as_tuples(records):
    return [(r.key, r.value, r.headers, r.timestamp) for r in records]


def test_header_layout_and_properties():
    batch = build_batch(ROWS, base_offset=42, producer_id=7, producer_epoch=3, base_sequence=11)
    h = parse_header(batch)
    assert BATCH_HEADER_SIZE == 61 and LOG_OVERHEAD == 12
    assert h.base_offset == 42
    assert h.size == len(batch)
    assert h.magic == 2
    assert h.record_count == len(ROWS)
    assert h.last_offset == 42 + len(ROWS) - 1
    assert h.base_timestamp == min(r[3] for r in ROWS)
    assert h.max_timestamp == max(r[3] for r in ROWS)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (7, 3, 11)
    assert h.last_sequence == 11 + len(ROWS) - 1
    assert h.compression == 0 and h.timestamp_type == 0
    assert not h.is_transactional and not h.is_control
    assert h.crc == crc32c(batch[21:])


def test_flags_in_attributes():
    h = parse_header(
        build_batch(
            [(b"k", b"v")], is_control=True, timestamp_type=1, is_transactional=True, compression=R.GZIP
        )
    )
    assert h.is_control and h.is_transactional and h.timestamp_type == 1 and h.compression == R.GZIP


@pytest.mark.parametrize("codec", [R.NONE, R.GZIP, R.SNAPPY, R.LZ4, R.ZSTD])
def test_build_decode_round_trip(codec):
    batch = build_batch(ROWS, base_offset=100, compression=codec)
    assert validate_batches(batch, len(batch))[0].compression == codec
    records = decode_records(batch)
    assert as_tuples(records) == [(k, v, h, ts) for k, v, h, ts in ROWS]
    assert [r.offset for r in records] == list(range(100, 100 + len(ROWS)))


@pytest.mark.parametrize("codec", [R.NONE, R.GZIP])
def test_kafka_python_batch_decodes(codec):
    batch = kafka_python_batch(compression=codec, producer_id=9, producer_epoch=0, base_sequence=5)
    [h] = validate_batches(batch, 1 << 20)
    assert h.compression == codec and h.record_count == len(ROWS)
    records = decode_records(batch)
    assert as_tuples(records) == [(k, v, h, ts) for k, v, h, ts in ROWS]
    assert [r.sequence for r in records] == [5 + i for i in range(len(ROWS))]
    assert all(r.producer_id == 9 for r in records)


@pytest.mark.parametrize("codec", [R.NONE, R.GZIP])
def test_our_batches_decode_in_kafka_python(codec):
    batch = build_batch(ROWS, compression=codec)
    theirs = DefaultRecordBatch(batch)
    assert theirs.validate_crc()
    assert [(m.key, m.value, m.timestamp, list(m.headers)) for m in theirs] == [
        (k, v, ts, h) for k, v, h, ts in ROWS
    ]


@pytest.mark.parametrize(
    ("codec", "payload_of"),
    [
        (R.SNAPPY, lambda raw: bytes(cramjam.snappy.compress_raw(raw))),  # librdkafka: raw snappy
        (R.SNAPPY, R._snappy_compress),  # Java: xerial framing
        (R.LZ4, lambda raw: bytes(cramjam.lz4.compress(raw))),  # LZ4 frame format
        (R.ZSTD, lambda raw: bytes(cramjam.zstd.compress(raw))),
        (R.GZIP, lambda raw: bytes(cramjam.gzip.compress(raw))),
    ],
)
def test_decode_client_compressed_batches(codec, payload_of):
    plain = kafka_python_batch()
    batch = recompress(plain, codec, payload_of)
    [h] = validate_batches(batch, 1 << 20)
    assert h.compression == codec
    assert as_tuples(decode_records(batch)) == as_tuples(decode_records(plain))


def test_xerial_snappy_with_several_chunks():
    big = [(b"k%d" % i, bytes([i % 256]) * 5000, [], 1000 + i) for i in range(20)]
    plain = build_batch(big)
    framed = R._snappy_compress(plain[BATCH_HEADER_SIZE:])
    assert framed.startswith(b"\x82SNAPPY\x00")
    assert as_tuples(decode_records(recompress(plain, R.SNAPPY, R._snappy_compress))) == big


def test_validate_several_batches():
    a = build_batch(ROWS[:2])
    b = kafka_python_batch()
    headers = validate_batches(a + b, 1 << 20)
    assert [h.record_count for h in headers] == [2, len(ROWS)]
    assert validate_batches(b"", 100) == []


def test_validate_rejects_bad_crc():
    batch = bytearray(build_batch(ROWS))
    batch[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError) as exc:
        validate_batches(bytes(batch), 1 << 20)
    assert exc.value.error_code == 2


def test_validate_ignores_fields_outside_crc():
    batch = bytearray(build_batch(ROWS))
    struct.pack_into(">qi", batch, 0, 12345, len(batch) - LOG_OVERHEAD)
    assert validate_batches(bytes(batch), 1 << 20)[0].base_offset == 12345


@pytest.mark.parametrize("cut", [1, 11, 12, 40, 61, -1])
def test_validate_rejects_truncation(cut):
    batch = build_batch(ROWS)
    data = batch + batch[:cut] if cut > 0 else batch[:cut]
    with pytest.raises(CorruptRecordError):
        validate_batches(data, 1 << 20)


def test_validate_rejects_wrong_magic_and_short_length():
    batch = bytearray(build_batch(ROWS))
    batch[16] = 1
    with pytest.raises(CorruptRecordError, match="magic"):
        validate_batches(bytes(batch), 1 << 20)
    short = bytearray(build_batch(ROWS))
    struct.pack_into(">i", short, 8, 10)
    with pytest.raises(CorruptRecordError):
        validate_batches(bytes(short), 1 << 20)


def test_validate_size_limit_counts_log_overhead():
    batch = build_batch(ROWS)
    assert validate_batches(batch, len(batch))
    with pytest.raises(RecordTooLargeError) as exc:
        validate_batches(batch, len(batch) - 1)
    assert exc.value.error_code == 10


def test_validate_rejects_count_mismatch_and_control_from_clients():
    batch = bytearray(build_batch(ROWS))
    struct.pack_into(">i", batch, 57, len(ROWS) + 1)
    struct.pack_into(">I", batch, 17, crc32c(bytes(batch[21:])))
    with pytest.raises(InvalidRecordError) as exc:
        validate_batches(bytes(batch), 1 << 20)
    assert exc.value.error_code == 87
    control = build_batch([(b"\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00\x00")], is_control=True)
    with pytest.raises(InvalidRecordError):
        validate_batches(control, 1 << 20)
    assert validate_batches(control, 1 << 20, allow_control=True)


def test_assign_offsets_create_time():
    a, b = build_batch(ROWS[:3]), build_batch(ROWS[3:])
    buf = bytearray(a + b)
    headers = validate_batches(buf, 1 << 20)
    last, max_ts, offset_of_max = assign_offsets(buf, headers, 500, 7, None)
    assert last == 500 + len(ROWS) - 1
    assert max_ts == max(r[3] for r in ROWS)
    assert offset_of_max == last  # the last batch holds the max, indexed by its last offset
    stamped = validate_batches(buf, 1 << 20)  # CRC still valid: only fields outside it changed
    assert [h.base_offset for h in stamped] == [500, 503]
    assert {h.partition_leader_epoch for h in stamped} == {7}
    assert [r.offset for r in decode_records(buf)] == list(range(500, 500 + len(ROWS)))


def test_assign_offsets_log_append_time_recomputes_crc():
    buf = bytearray(build_batch(ROWS))
    headers = validate_batches(buf, 1 << 20)
    now = 1_800_000_000_000
    assert assign_offsets(buf, headers, 0, 0, now) == (len(ROWS) - 1, now, len(ROWS) - 1)
    [h] = validate_batches(buf, 1 << 20)
    assert h.timestamp_type == 1 and h.max_timestamp == now
    assert {r.timestamp for r in decode_records(buf)} == {now}


def test_iter_batches_stops_at_incomplete_tail():
    a, b = build_batch(ROWS[:1]), build_batch(ROWS[1:])
    data = a + b + a[:30]
    assert [(pos, h.record_count) for pos, h in iter_batches(data)] == [(0, 1), (len(a), len(ROWS) - 1)]
    assert [p for p, _ in iter_batches(data, len(a))] == [len(a)]
    # decode_records over a fetch-like buffer with a cut-off last batch
    assert len(decode_records(a + b + b[: len(b) - 1])) == len(ROWS)


def test_build_batch_accepts_pairs_and_default_timestamp():
    batch = build_batch([(b"k", b"v"), (b"k2", None)], timestamp=1234)
    assert as_tuples(decode_records(batch)) == [(b"k", b"v", [], 1234), (b"k2", None, [], 1234)]


def test_build_batch_keeps_offset_gaps_for_compaction():
    batch = build_batch(
        [(b"a", b"1"), (b"b", b"2")], base_offset=10, offset_deltas=[1, 4], last_offset_delta=5
    )
    h, recs = decode_batch(batch)
    assert h.last_offset == 15 and h.record_count == 2
    assert [r.offset for r in recs] == [11, 14]


def test_log_append_time_batch_timestamps():
    batch = build_batch(ROWS, timestamp_type=1)
    h = parse_header(batch)
    assert {r.timestamp for r in decode_records(batch)} == {h.max_timestamp}


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_librdkafka_batches_decode_from_the_segment_files(shared_broker, codec):
    """Batches built by a real client (librdkafka), as stored by the broker, decode record by record."""
    import uuid

    from confluent_kafka import Producer

    topic = f"codec-{codec}-{uuid.uuid4().hex[:6]}"
    values = [f"{codec}-{i}".encode() * (1 + i % 7) for i in range(500)]
    producer = Producer(
        {"bootstrap.servers": shared_broker.bootstrap, "compression.type": codec, "linger.ms": 5,
         "enable.idempotence": True}
    )  # fmt: skip
    for i, value in enumerate(values):
        producer.produce(
            topic, key=str(i).encode(), value=value, timestamp=1_000_000 + i, headers=[("i", str(i))]
        )
    assert producer.flush(30) == 0
    files = sorted((shared_broker.log_dirs / f"{topic}-0").glob("*.log"))
    data = b"".join(f.read_bytes() for f in files)
    headers = [h for _, h in iter_batches(data)]
    wanted = {"none": R.NONE, "gzip": R.GZIP, "snappy": R.SNAPPY, "lz4": R.LZ4, "zstd": R.ZSTD}[codec]
    assert {h.compression for h in headers} == {wanted}
    assert all(h.producer_id >= 0 for h in headers)
    validate_batches(data, 1 << 30)  # stored CRCs are valid
    records = decode_records(data)
    assert [r.offset for r in records] == list(range(len(values)))
    assert [(r.key, r.value, r.timestamp, r.headers) for r in records] == [
        (str(i).encode(), v, 1_000_000 + i, [("i", str(i).encode())]) for i, v in enumerate(values)
    ]
    assert [r.sequence for r in records] == list(range(len(values)))
