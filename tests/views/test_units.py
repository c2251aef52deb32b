"""Unit tests of the teaching views' pure logic: Kafka's partitioner, the drawing, the X-ray,
the events between two looks, the sparklines. (The views against a real broker are in the other
modules of this package and in tests/tui.)"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import fastavro
import pytest

from kcli.cluster_view.log_model import BatchInfo, GroupMark, PartitionLog, RecordCell, ReplicaEnd, Segment
from kcli.cluster_view.model import PartitionState, ReplicationState
from kcli.explain_texts import key_partition, key_reason, murmur2
from kcli.logview.draw import GONE, cell_span, draw, markers
from kcli.logview.xray import framing, read_varint, xray
from kcli.logview.xray_render import render
from kcli.logview.xray_schemas import RegistrySchema
from kcli.protocol.records import build_batch
from kcli.tui.screens.events import GroupLook, group_events, replication_events
from kcli.tui.screens.sparks import marks, spark

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "avro"


# -- murmur2: Kafka's UtilsTest.testMurmur2 vectors ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ],
)
def test_murmur2_matches_kafka(text: str, expected: int) -> None:
    assert murmur2(text.encode()) == expected


def test_key_partition_is_to_positive_mod_n() -> None:
    # murmur2("bob") is negative: toPositive masks the sign bit before the modulo, as Java does
    assert murmur2(b"bob") < 0
    assert key_partition(b"bob", 3) == (murmur2(b"bob") & 0x7FFFFFFF) % 3
    reason = key_reason(b"bob", key_partition(b"bob", 3), 3, "murmur2_random")
    assert f"mod 3 partitions = {key_partition(b'bob', 3)}" in reason and "yet" not in reason
    assert "yet it is in partition" in key_reason(b"bob", (key_partition(b"bob", 3) + 1) % 3, 3, "murmur2")
    assert "sticky partitioner" in key_reason(None, 1, 3, "murmur2")


# -- drawing ------------------------------------------------------------------------------------


def batch(base: int, last: int, offsets: tuple[int, ...], control: bool = False) -> BatchInfo:
    return BatchInfo(
        base,
        last,
        last - base + 1,
        100,
        0,
        0,
        True,
        "none",
        "CreateTime",
        False,
        control,
        -1,
        -1,
        -1,
        0,
        0,
        offsets,
    )


def sample_log(**changes: object) -> PartitionLog:
    present = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    base = PartitionLog(
        topic="orders",
        partition=1,
        leader=1,
        replicas=(1, 2, 0),
        isr=(1, 2),
        log_start=0,
        high_watermark=12,
        last_stable=12,
        first=0,
        stop=12,
        batches=(batch(0, 2, (0, 1, 2)), batch(3, 7, (3, 4, 6, 7)), batch(8, 11, (8, 9, 10, 11))),
        records=tuple(RecordCell(o, 0, f"k{o % 3}".encode(), b"v") for o in present),
        replica_ends=(
            ReplicaEnd(1, 14, "log dir", True, True, True),
            ReplicaEnd(2, 12, "log dir", True, True),
            ReplicaEnd(0, 7, "log dir", False, False),
        ),
        segments=(Segment(0, 10), Segment(8, 10)),
        segments_of=1,
        groups=(GroupMark("billing", 5, "Stable", "consumer-1"),),
    )
    return PartitionLog(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def plain(log: PartitionLog, width: int = 120, **kw: object) -> list[str]:
    return [line.plain for line in draw(log, width, **kw)]  # type: ignore[arg-type]


def test_cells_batches_segments_and_markers() -> None:
    lines = plain(sample_log())
    cells = next(line for line in lines if line.startswith("┃ 0│"))
    # every offset is a cell; offset 5 was compacted away inside batch 3-7; 12, 13 are on the
    # leader only (LEO 14) and 14 is where the next record goes
    assert cells.split("│")[5].strip() == GONE
    assert "┃ 8" in cells  # a segment begins at 8
    assert cells.rstrip().endswith("+")
    assert cells.count("·") == 2
    assert any("╭─b 0-2" in line and "b 3-7" in line and "b 8-11" in line for line in lines)
    assert any("┃seg 0" in line and "┃seg 8" in line for line in lines)
    text = "\n".join(lines)
    for label in ("log start 0", "HW 12", "LEO b2", "LEO b1", "LEO b0", "billing 5 (lag 7)"):
        assert label in text, label
    assert "b0 (down) LEO 7 (5 behind HW)" in text
    assert "ISR 1,2" in text and "under-replicated" in text


def test_markers_merge_at_one_offset_and_lso_only_when_it_differs() -> None:
    labels = {m.offset: m.label for m in markers(sample_log())}
    assert labels[12] == "HW 12 · LEO b2"
    assert all("LSO" not in label for label in labels.values())
    labels = {m.offset: m.label for m in markers(sample_log(last_stable=9))}
    assert labels[9] == "LSO 9"


def test_width_is_respected_by_cells_and_markers() -> None:
    for width in (40, 60, 90):
        lines = plain(sample_log(), width, legend=False, header=False)
        assert max(len(line) for line in lines) <= width, (width, lines)


def test_window_off_screen_markers_and_removed_cells() -> None:
    log = sample_log(first=8, stop=12)
    text = "\n".join(plain(log, removed={9: "retention"}))
    assert "◀ before the window: log start 0" in text and "billing 5" in text
    assert "struck: gone since last look (retention)" in text
    assert cell_span(log) == (8, 15)
    inside = sample_log(high_watermark=100, stop=12)  # a window well before the end: no + cell
    assert cell_span(inside) == (0, 12)


def test_keys_line_and_cursor() -> None:
    lines = draw(sample_log(), 120, keys=True, cursor=3)
    keys = next(line.plain for line in lines if "k0" in line.plain and "│" not in line.plain)
    assert keys.split()[:3] == ["k0", "k1", "k2"]
    cells = next(line for line in lines if line.plain.startswith("┃ 0│"))
    assert any("reverse" in str(span.style) for span in cells.spans)


def test_empty_partition_and_secured_listener() -> None:
    empty = sample_log(
        first=0, stop=0, high_watermark=0, log_start=0, records=(), batches=(), replica_ends=()
    )
    assert any("the partition is empty" in line for line in plain(empty))
    unknown = sample_log(batches=(), batches_known=False, segments=None)
    text = "\n".join(plain(unknown))
    assert "╭b╮ batch" not in text and "┃ segment start" not in text


# -- X-ray --------------------------------------------------------------------------------------


def avro_value(record: dict, schema_id: int) -> tuple[bytes, dict]:
    schema = json.loads((EXAMPLES / "customer.avsc").read_text())
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), record)
    return b"\x00" + struct.pack(">I", schema_id) + buf.getvalue(), schema


@pytest.mark.parametrize("compression", [0, 1, 3, 4])
def test_xray_batch_record_and_confluent_avro(compression: int) -> None:
    value, schema = avro_value({"id": 1, "name": "Ann", "faxNumber": None}, 7)
    raw = build_batch(
        [(b"k0", b"plain"), (b"k1", value, [("source", b"web")])],
        base_offset=40,
        compression=compression,
        timestamp=1_767_225_600_000,
    )
    lookup = lambda i: RegistrySchema(i, "AVRO", json.dumps(schema), "customers-value", 1)  # noqa: E731
    x = xray("customers", 0, 41, raw, lookup)
    fields = {f.name: f for s in x.sections for f in s.fields}
    assert fields["baseOffset"].value == "40" and fields["baseOffset"].raw == struct.pack(">q", 40)
    assert fields["magic"].value == "2"
    assert fields["crc"].meaning.endswith("valid")
    assert fields["recordCount"].value == "2"
    assert fields["offsetDelta"].value == "1" and "= 41" in fields["offsetDelta"].meaning
    assert fields["key"].raw == b"k1"
    assert fields["header[0].key"].raw == b"source"
    assert fields["schema id"].value == "7" and fields["magic byte"].raw == b"\x00"
    assert ("compressed records" in fields) == (compression != 0)
    text = "\n".join(line.plain for line in render(x))
    assert '"name": "Ann"' in text
    assert "subject customers-value v1, AVRO" in text


def test_xray_spots_a_bad_crc_and_reads_varints() -> None:
    raw = bytearray(build_batch([(b"k", b"v")], base_offset=0, timestamp=0))
    raw[-1] ^= 0xFF
    fields = {f.name: f for s in xray("t", 0, 0, bytes(raw)).sections for f in s.fields}
    assert fields["crc"].meaning.endswith("INVALID")
    assert read_varint(bytes([0x01]), 0) == (-1, 1)  # zig-zag
    assert read_varint(bytes([0xAC, 0x02]), 0) == (150, 2)


def test_protobuf_message_indexes_and_no_registry() -> None:
    proto = RegistrySchema(3, "PROTOBUF", 'syntax = "proto3"; message A {} message B {}')
    first, body = framing(b"\x00\x00\x00\x00\x03\x00\x08\x96\x01", "value", proto)
    assert [f.name for f in first] == ["magic byte", "schema id", "message indexes", "Protobuf binary"]
    assert first[2].value == "[0]" and body == b"\x08\x96\x01"
    # [1]: count 1 (zig-zag 2), index 1 (zig-zag 2)
    second, body = framing(b"\x00\x00\x00\x00\x03\x02\x02\x08\x01", "value", proto)
    assert second[2].value == "[1]" and body == b"\x08\x01"
    raw = build_batch([(None, b"\x00\x00\x00\x00\x09\x02")], base_offset=0, timestamp=0)
    x = xray("t", 0, 0, raw)
    assert any("no registry" in text for _label, text in x.decoded)


# -- events and sparklines ------------------------------------------------------------------------


def state(live: tuple[int, ...], parts: dict, down: tuple[int, ...] = ()) -> ReplicationState:
    return ReplicationState(live, down, 0, {tp: PartitionState(*p) for tp, p in parts.items()})


def test_replication_events_tell_the_lab_story() -> None:
    before = state((0, 1, 2), {("t", 0): (1, (1, 2, 0), (1, 2, 0))})
    killed = state((0, 2), {("t", 0): (2, (1, 2, 0), (2, 0))}, down=(1,))
    back = state((0, 1, 2), {("t", 0): (2, (1, 2, 0), (2, 0))})
    caught_up = state((0, 1, 2), {("t", 0): (2, (1, 2, 0), (2, 0, 1))})
    assert [k for k, _ in replication_events(before, killed)] == [
        "broker-down",
        "election",
        "isr-shrink",
        "urp",
    ]
    texts = [t for _, t in replication_events(before, killed)]
    assert "election: t-0 leader 1 → 2" in texts and "ISR shrank: t-0 ISR 1,2,0 → 2,0" in texts
    assert [k for k, _ in replication_events(killed, back)] == ["broker-up"]
    assert replication_events(back, caught_up) == [
        ("isr-expand", "broker 1 caught up on t-0 (back in the ISR)"),
        ("urp", "under-replicated partitions 1 → 0"),
    ]


def test_many_elections_are_summed_up() -> None:
    parts = {("t", p): (1, (1, 2), (1, 2)) for p in range(50)}
    parts |= {("__consumer_offsets", p): (1, (1, 2), (1, 2)) for p in range(50)}
    parts |= {("mine", 0): (1, (1, 2), (1, 2))}
    moved = {tp: (2, (1, 2), (2,)) for tp in parts}
    events = replication_events(state((1, 2), parts), state((2,), moved))
    elections = [t for k, t in events if k == "election"]
    assert "leaders moved for 50 partitions of __consumer_offsets" in elections
    assert any(t.startswith("leaders moved for 51 partitions, e.g.") for t in elections)
    few = {("mine", p): (1, (1, 2), (1, 2)) for p in range(3)}
    events = replication_events(state((1, 2), few), state((2,), {tp: (2, (1, 2), (2,)) for tp in few}))
    assert [t for k, t in events if k == "election"] == [f"election: mine-{p} leader 1 → 2" for p in range(3)]


def test_group_events() -> None:
    one = GroupLook("Stable", frozenset({"m1"}), {"m1": "c1"}, {("t", 0): 5})
    two = GroupLook("Stable", frozenset({"m1", "m2"}), {"m1": "c1", "m2": "c2"}, {("t", 0): 9})
    events = group_events("g", one, two)
    assert ("member-joined", "g: member joined (c2)") in events
    assert ("rebalance", "g: rebalanced, 2 member(s) now share the partitions") in events
    assert ("commit", "g: committed t-0 5 → 9") in events
    rebalancing = GroupLook("PreparingRebalance", two.members, two.clients, two.committed)
    assert ("rebalance", "g: rebalance (Stable → PreparingRebalance)") in group_events("g", two, rebalancing)


def test_spark_and_marks_align() -> None:
    assert spark([0, 1, 2, 4], 4) == " ▂▄█"
    assert spark([5, 5], 10) == "██"
    from kcli.tui.screens.events import Event

    line, marked = marks(10, 5, [Event(0, "broker-down", "b1", 7), Event(0, "member-joined", "x", 2)])
    assert line.plain == "  1  " and [e.kind for e in marked] == ["broker-down"]
