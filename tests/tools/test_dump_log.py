"""kafka-dump-log against segment files built with kafka-python's record batch builder."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from kafka.record.default_records import DefaultRecordBatchBuilder

from kcli.cluster_view.log_segments import iter_batches, read_index, read_time_index
from tests.tools.helpers import run_tool


def build_batch(
    base_offset: int, records: list[tuple[int, bytes | None, bytes | None, list]], **kw: int
) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=kw.get("compression", 0),
        is_transactional=False,
        producer_id=kw.get("producer_id", -1),
        producer_epoch=kw.get("producer_epoch", -1),
        base_sequence=kw.get("base_sequence", -1),
        batch_size=1 << 20,
    )
    for delta, (ts, key, value, headers) in enumerate(records):
        builder.append(delta, ts, key, value, headers)
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, base_offset)  # the broker assigns absolute offsets
    return bytes(data)


def crc_of(batch: bytes) -> int:
    return struct.unpack_from(">I", batch, 17)[0]


def make_segment(directory: Path) -> tuple[Path, bytes, bytes]:
    first = build_batch(
        0,
        [
            (1700000000000, b"k1", b"hello", []),
            (1700000000001, None, b"world", [("h1", b"x"), ("h2", None)]),
            (1700000000002, b"k3", None, []),
        ],
    )
    second = build_batch(
        3, [(1700000000005, b"k4", b"v4", [])], producer_id=7, producer_epoch=0, base_sequence=0
    )
    log = directory / "00000000000000000000.log"
    log.write_bytes(first + second + b"\x00\x00\x01")
    (directory / "00000000000000000000.index").write_bytes(
        struct.pack(">ii", 2, 0) + struct.pack(">ii", 3, len(first)) + bytes(16)
    )
    (directory / "00000000000000000000.timeindex").write_bytes(
        struct.pack(">qi", 1700000000002, 2) + struct.pack(">qi", 1700000000005, 3) + bytes(24)
    )
    return log, first, second


def test_batches_only(tmp_path: Path) -> None:
    log, first, second = make_segment(tmp_path)
    result = run_tool("dump_log", ["--files", str(log)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Dumping {log}",
        "Log starting offset: 0",
        "baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 "
        "partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty "
        f"position: 0 CreateTime: 1700000000002 size: {len(first)} magic: 2 compresscodec: none crc: {crc_of(first)} "
        "isvalid: true",
        "baseOffset: 3 lastOffset: 3 count: 1 baseSequence: 0 lastSequence: 0 producerId: 7 producerEpoch: 0 "
        "partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty "
        f"position: {len(first)} CreateTime: 1700000000005 size: {len(second)} magic: 2 compresscodec: none "
        f"crc: {crc_of(second)} isvalid: true",
        "Found 3 invalid bytes at the end of 00000000000000000000.log",
    ]


def test_print_data_log_records(tmp_path: Path) -> None:
    log, _, _ = make_segment(tmp_path)
    result = run_tool("dump_log", ["--files", str(log), "--print-data-log"])
    assert result.returncode == 0, result.stderr
    records = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert records == [
        "| offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 5 sequence: -1 headerKeys: [] key: k1 payload: hello",
        "| offset: 1 CreateTime: 1700000000001 keySize: -1 valueSize: 5 sequence: -1 headerKeys: [h1,h2] payload: world",
        "| offset: 2 CreateTime: 1700000000002 keySize: 2 valueSize: -1 sequence: -1 headerKeys: [] key: k3",
        "| offset: 3 CreateTime: 1700000000005 keySize: 2 valueSize: 2 sequence: 0 headerKeys: [] key: k4 payload: v4",
    ]


def test_deep_iteration_without_data(tmp_path: Path) -> None:
    log, _, _ = make_segment(tmp_path)
    result = run_tool("dump_log", ["--files", str(log), "--deep-iteration"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert (
        lines[0]
        == "| offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 5 sequence: -1 headerKeys: []"
    )
    assert len(lines) == 4


def test_index_and_time_index(tmp_path: Path) -> None:
    _, first, _ = make_segment(tmp_path)
    index = tmp_path / "00000000000000000000.index"
    timeindex = tmp_path / "00000000000000000000.timeindex"
    result = run_tool("dump_log", ["--files", f"{index},{timeindex}"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Dumping {index}",
        "offset: 2 position: 0",
        f"offset: 3 position: {len(first)}",
        f"Dumping {timeindex}",
        "timestamp: 1700000000002 offset: 2",
        "timestamp: 1700000000005 offset: 3",
    ]
    assert result.stderr == ""


def test_index_mismatch_is_reported_on_stderr(tmp_path: Path) -> None:
    make_segment(tmp_path)
    index = tmp_path / "00000000000000000000.index"
    index.write_bytes(struct.pack(">ii", 1, 0))
    result = run_tool("dump_log", ["--files", str(index)])
    assert "offset: 1 position: 0" in result.stdout
    assert result.stderr.splitlines()[1] == "  Index offset: 1, log offset: 2"


def test_corrupt_batch_is_invalid(tmp_path: Path) -> None:
    log, _, _ = make_segment(tmp_path)
    data = bytearray(log.read_bytes())
    data[70] ^= 0xFF  # inside the first batch's records
    log.write_bytes(bytes(data))
    result = run_tool("dump_log", ["--files", str(log)])
    assert result.stdout.splitlines()[2].endswith("isvalid: false")


def test_reader_helpers(tmp_path: Path) -> None:
    log, first, second = make_segment(tmp_path)
    batches = list(iter_batches(log.read_bytes()))
    assert [(b.base_offset, b.last_offset, b.size) for b in batches] == [
        (0, 2, len(first)),
        (3, 3, len(second)),
    ]
    assert [r.offset for r in batches[0].records()] == [0, 1, 2]
    assert read_index(struct.pack(">ii", 0, 0) + struct.pack(">ii", 5, 100) + bytes(8), 10) == [
        (10, 0),
        (15, 100),
    ]
    assert read_time_index(struct.pack(">qi", 7, 1) + bytes(12), 10) == [(7, 11)]


def test_unknown_file_and_missing_option(tmp_path: Path) -> None:
    other = tmp_path / "x.txt"
    other.write_text("x")
    result = run_tool("dump_log", ["--files", str(other)])
    assert result.stderr.strip() == f"Ignoring unknown file {other}"
    result = run_tool("dump_log", [])
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == 'Missing required argument "files"'


# --- --offsets-decoder ---------------------------------------------------------------------------
# Expected strings are those of Kafka 3.9's DumpLogSegmentsTest.testOffsetsMessageParser.


def _compact_string(text: str | None) -> bytes:
    if text is None:
        return b"\0"
    raw = text.encode()
    return _uvarint(len(raw) + 1) + raw


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def _consumer_protocol(cls: type, version: int, **fields: object) -> bytes:
    import io

    from kio.serial import entity_writer

    buf = io.BytesIO()
    entity_writer(cls)(buf, cls(**fields))
    return struct.pack(">h", version) + buf.getvalue()


def _group_value_v4(subscription: bytes, assignment: bytes) -> bytes:
    """GroupMetadataValue v4 (flexible), as Kafka's test builds it."""
    member = (
        _compact_string("member")
        + _compact_string("instance")
        + _compact_string("client")
        + _compact_string("host")
        + struct.pack(">ii", 1000, 100)
        + _uvarint(len(subscription) + 1)
        + subscription
        + _uvarint(len(assignment) + 1)
        + assignment
        + b"\0"
    )
    return (
        struct.pack(">h", 4)
        + _compact_string("consumer")
        + struct.pack(">i", 10)
        + _compact_string("range")
        + _compact_string("member")
        + struct.pack(">q", -1)
        + _uvarint(2)
        + member
        + b"\0"
    )


def test_offsets_decoder_matches_kafkas_output() -> None:
    from kio.schema.consumer_protocol_assignment.v3.data import ConsumerProtocolAssignment
    from kio.schema.consumer_protocol_assignment.v3.data import TopicPartition as AssignedPartition
    from kio.schema.consumer_protocol_subscription.v3.data import ConsumerProtocolSubscription, TopicPartition
    from kio.static.primitive import i32

    from kcli.server.coordinator.schema import (
        GroupKey,
        OffsetKey,
        OffsetValue,
        encode_group_key,
        encode_offset_key,
        encode_offset_value,
    )
    from kcli.tools.offsets_decoder import decode

    group_key = encode_group_key(GroupKey("group"))
    subscription = _consumer_protocol(
        ConsumerProtocolSubscription,
        3,
        topics=("foo",),
        user_data=None,
        owned_partitions=(TopicPartition(topic="foo", partitions=(i32(0),)),),
        generation_id=i32(0),
        rack_id="rack",
    )
    assignment = _consumer_protocol(
        ConsumerProtocolAssignment,
        3,
        assigned_partitions=(AssignedPartition(topic="foo", partitions=(i32(0),)),),
        user_data=None,
    )
    head = (
        '{"version":"4","data":{"protocolType":"consumer","generation":10,"protocol":"range",'
        '"leader":"member","currentStateTimestamp":-1,"members":[{"memberId":"member",'
        '"groupInstanceId":"instance","clientId":"client","clientHost":"host",'
        '"rebalanceTimeout":1000,"sessionTimeout":100,"subscription":'
    )
    assert decode(0, group_key, _group_value_v4(subscription, assignment)) == (
        '{"type":"2","data":{"group":"group"}}',
        head + '{"topics":["foo"],"userData":null,"ownedPartitions":[{"topic":"foo","partitions":[0]}],'
        '"generationId":0,"rackId":"rack"},"assignment":{"assignedPartitions":'
        '[{"topic":"foo","partitions":[0]}],"userData":null}}]}}',
    )
    # a consumer protocol that does not parse keeps its bytes, in base64
    assert decode(0, group_key, _group_value_v4(b"Subscription", b"Assignment"))[1] == (
        head + '"U3Vic2NyaXB0aW9u","assignment":"QXNzaWdubWVudA=="}]}}'
    )
    assert decode(0, group_key, None) == ('{"type":"2","data":{"group":"group"}}', "<DELETE>")
    assert decode(0, struct.pack(">h", 32767) + b"x", b"") == (
        "Unknown record type 32767 at offset 0, skipping.",
        None,
    )
    key, value = decode(
        7, encode_offset_key(OffsetKey("g", "t", 3)), encode_offset_value(OffsetValue(42, 5, "meta", 1700))
    )
    assert key == '{"type":"1","data":{"group":"g","topic":"t","partition":3}}'
    assert (
        value
        == '{"version":"3","data":{"offset":42,"leaderEpoch":5,"metadata":"meta","commitTimestamp":1700}}'
    )
    key, value = decode(9, encode_offset_key(OffsetKey("g", "t", 3)), struct.pack(">h", 3) + b"\0\0")
    assert value is None and key.startswith(
        "Error at offset 9, skipping. Could not read record with version 3 from value's buffer due to: "
    )
    with pytest.raises(ValueError, match="message had a missing key"):
        decode(0, None, None)


def test_offsets_decoder_on_a_brokers_consumer_offsets(shared_broker) -> None:  # type: ignore[no-untyped-def]
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    from kcli.server.coordinator.schema import partition_for

    group = f"dump-offsets-{time.monotonic_ns()}"
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    admin.create_topics([NewTopic(group, 1, 1)])[group].result(30)
    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(group, 0, 17)], asynchronous=False)
    finally:
        consumer.close()
    directory = shared_broker.log_dirs / f"__consumer_offsets-{partition_for(group, 50)}"
    files = ",".join(str(p) for p in sorted(directory.glob("*.log")))
    result = run_tool("dump_log", ["--offsets-decoder", "--files", files])
    assert result.returncode == 0, result.stderr
    wanted = f'key: {{"type":"1","data":{{"group":"{group}","topic":"{group}","partition":0}}}}'
    line = next(line for line in result.stdout.splitlines() if wanted in line)
    assert (
        ' payload: {"version":"3","data":{"offset":17,"leaderEpoch":-1,"metadata":"","commitTimestamp":'
        in line
    )
