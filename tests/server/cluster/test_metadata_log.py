"""Unit tests of the metadata log (issue 12): KRaft's record encoding, the controller's changes as
appended batches (never a rewrite of everything), snapshots, epochs, restarts, and the move of an
older kcli's JSON metadata into the log."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from kcli.protocol.metadata_records import (
    SCHEMAS,
    MetadataParseError,
    MetadataRecord,
    decode,
    dumps,
    encode,
    kafka_uuid,
    record,
)
from kcli.protocol.records import decode_batch, iter_batches
from kcli.server.cluster.controller import METADATA_FILE, Controller
from kcli.server.cluster.image import BrokerRegistration, MetadataDelta, MetadataImage
from kcli.server.cluster.metadata_log import METADATA_DIR, QUORUM_STATE

TOPIC_ID = uuid.UUID("0f4e6e0c-3a39-4c4e-9b3c-5bd0b6a4ed11")


def test_a_topic_record_is_encoded_as_kafka_frames_it() -> None:
    rec = record("TOPIC_RECORD", name="foo", topicId=TOPIC_ID)
    # frame version 1, api key 2, version 0, compact string "foo", 16 uuid bytes, no tagged fields
    assert encode(rec) == b"\x01\x02\x00" + b"\x04foo" + TOPIC_ID.bytes + b"\x00"
    assert decode(encode(rec)) == rec
    assert dumps(rec) == (
        '{"type":"TOPIC_RECORD","version":0,"data":{"name":"foo","topicId":"' + kafka_uuid(TOPIC_ID) + '"}}'
    )


def test_tagged_fields_are_written_only_when_they_differ_from_their_default() -> None:
    isr_only = record("PARTITION_CHANGE_RECORD", partitionId=2, topicId=TOPIC_ID, isr=[1, 2])
    raw = encode(isr_only)
    body = raw[3 + 4 + 16 :]  # after the frame, partitionId and topicId
    # one tagged field: tag 0 (isr), 9 bytes: compact array of 2 int32s
    assert body == b"\x01" + b"\x00\x09" + b"\x03" + (1).to_bytes(4, "big") + (2).to_bytes(4, "big")
    assert json.loads(dumps(isr_only))["data"] == {
        "partitionId": 2,
        "topicId": kafka_uuid(TOPIC_ID),
        "isr": [1, 2],
    }
    new_leader = record("PARTITION_CHANGE_RECORD", partitionId=0, topicId=TOPIC_ID, leader=-1)
    assert decode(encode(new_leader)).data["leader"] == -1 and decode(encode(new_leader)).data["isr"] is None


@pytest.mark.parametrize("api_key", sorted(SCHEMAS))
def test_every_record_type_round_trips(api_key: int) -> None:
    schema = SCHEMAS[api_key]
    rec = record(schema.name, schema.versions[1])
    assert decode(encode(rec)).to_json() == rec.to_json()
    assert MetadataRecord.from_wire(json.loads(json.dumps(rec.to_wire()))).to_json() == rec.to_json()


def test_garbage_is_refused_with_kafkas_messages() -> None:
    with pytest.raises(MetadataParseError, match="frame version 0"):
        decode(b"\x00\x02\x00")
    with pytest.raises(MetadataParseError, match="garbage after 2"):
        decode(encode(record("TOPIC_RECORD", name="a", topicId=TOPIC_ID)) + b"!")
    with pytest.raises(MetadataParseError, match="ends early"):
        decode(b"\x01\x02\x00\x10ab")


def controller(path: Path, **kw: int) -> Controller:
    c = Controller(path, "cluster-1", **kw)
    for i in range(3):
        c.register_broker(BrokerRegistration(i, "localhost", 9092 + i, incarnation_id=uuid.uuid4()))
    return c


def test_a_change_appends_its_records_and_nothing_else(tmp_path: Path) -> None:
    c = controller(tmp_path)
    for i in range(50):
        c.create_topic(f"t{i}", 3, 2, None, {}, False, False)
    before = c.log.end_offset
    c.create_topic("one-more", 3, 2, None, {"retention.ms": "1000"}, False, False)
    # TopicRecord, one ConfigRecord, three PartitionRecords: one batch, whatever exists already.
    assert c.log.end_offset - before == 5
    assert [r.type for _, r in c.records_after(before - 1, 100)] == [
        "TOPIC_RECORD", "CONFIG_RECORD", "PARTITION_RECORD", "PARTITION_RECORD", "PARTITION_RECORD",
    ]  # fmt: skip
    assert not (tmp_path / METADATA_FILE).exists()
    c.close()


def test_a_follower_replaying_the_records_holds_the_controllers_image(tmp_path: Path) -> None:
    c = controller(tmp_path)
    c.create_topic("t", 2, 3, None, {"cleanup.policy": "compact"}, False, False)
    c.fence_broker(c.image.topics["t"].partitions[0].leader)
    c.alter_topic_configs("t", {"retention.ms": "5"})
    follower = MetadataImage()
    delta = MetadataDelta()
    for offset, rec in c.records_after(-1, 10_000) or []:
        follower.replay(rec, delta)
        follower.version = offset
    assert follower.version == c.image.version
    assert follower.topics["t"].to_json() == c.image.topics["t"].to_json()
    assert follower.topics["t"].configs == {"retention.ms": "5"}
    assert {b: r.fenced for b, r in follower.brokers.items()} == {
        b: r.fenced for b, r in c.image.brokers.items()
    }
    assert ("t", 0) in delta.partitions
    c.close()


def test_each_start_is_a_new_epoch_opened_by_a_leader_change_record(tmp_path: Path) -> None:
    c = controller(tmp_path, node_id=7)
    first = c.log.epoch
    c.close()
    again = Controller(tmp_path, "cluster-1", node_id=7)
    assert again.log.epoch == first + 1
    state = json.loads((tmp_path / METADATA_DIR / QUORUM_STATE).read_text())
    assert (state["leaderId"], state["leaderEpoch"]) == (7, first + 1)
    batches = again.log.log.read_batches(0)
    control = [h for h, _ in batches if h.is_control]
    assert [h.partition_leader_epoch for h in control] == [first, first + 1]
    assert all(h.partition_leader_epoch in (first, first + 1) for h, _ in batches)
    again.close()


def test_a_snapshot_bounds_what_a_restart_replays_and_a_late_follower_reads(tmp_path: Path) -> None:
    c = controller(tmp_path, snapshot_bytes=2_000)
    for i in range(40):
        c.create_topic(f"t{i}", 2, 2, None, {}, False, False)
    assert c.snapshot is not None
    end, _records = c.snapshot
    snapshots = list((tmp_path / METADATA_DIR).glob("*.checkpoint"))
    assert [p.name for p in snapshots] == [f"{end:020d}-{c.log.epoch:010d}.checkpoint"]
    assert c.log.start_offset > 0  # the log before the snapshot is gone
    assert c.records_after(-1, 10) is None  # a new follower reads the snapshot first
    data = snapshots[0].read_bytes()
    control = [decode_batch(data, pos)[1][0].key for pos, h in iter_batches(data) if h.is_control]
    assert control == [b"\x00\x00\x00\x03", b"\x00\x00\x00\x04"]  # SnapshotHeader, SnapshotFooter
    image = json.dumps({t.name: t.to_json() for t in c.image.topics.values()}, sort_keys=True)
    c.close()
    again = Controller(tmp_path, "cluster-1", snapshot_bytes=2_000)
    assert json.dumps({t.name: t.to_json() for t in again.image.topics.values()}, sort_keys=True) == image
    again.close()


def test_the_json_metadata_of_an_older_kcli_moves_into_the_log(tmp_path: Path) -> None:
    topic = {
        "name": "old",
        "id": str(TOPIC_ID),
        "partitions": [[[0], [0], 0, 3, 4]],
        "configs": {},
        "internal": False,
    }
    old_image = {
        "version": 9,
        "cluster_id": "cluster-1",
        "brokers": [{"id": 0, "host": "localhost", "port": 9092, "rack": None, "fenced": False}],
        "topics": [topic],
    }
    (tmp_path / METADATA_FILE).write_text(json.dumps({"image": old_image, "next_producer_id": 2000}))
    c = Controller(tmp_path, "cluster-1")
    assert c.image.topics["old"].to_json() == topic
    assert c.allocate_producer_ids() == 2000
    assert (tmp_path / (METADATA_FILE + ".migrated")).exists() and not (tmp_path / METADATA_FILE).exists()
    c.close()
