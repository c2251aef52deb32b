"""The topic table's watermarks: kio-encoded ListOffsets on PLAINTEXT, the AdminClient otherwise."""

from __future__ import annotations

import struct

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.cluster_view import kafka_offsets
from kcli.cluster_view.kafka import KafkaSource
from kcli.cluster_view.watermarks import decode_list_offsets, encode_list_offsets
from tests.broker_process import BrokerProcess


def test_request_round_trips_through_kafkas_schema() -> None:
    from kio.index import load_request_schema
    from kio.serial import entity_reader

    frame = encode_list_offsets(7, {"a": [0, 2], "bc": [1]}, -2)
    (size,) = struct.unpack_from(">i", frame)
    assert size == len(frame) - 4
    request_cls = load_request_schema(2, 2)
    header, pos = entity_reader(request_cls.__header_schema__)(frame, 4)
    assert (header.request_api_key, header.request_api_version, header.correlation_id) == (2, 2, 7)
    body, _ = entity_reader(request_cls)(frame, 4 + pos)
    asked = [(t.name, p.partition_index, p.timestamp) for t in body.topics for p in t.partitions]
    assert asked == [("a", 0, -2), ("a", 2, -2), ("bc", 1, -2)]


def test_response_decoding_skips_partitions_with_errors() -> None:
    frame = struct.pack(">iii", 3, 0, 1) + struct.pack(">h", 1) + b"t" + struct.pack(">i", 2)
    frame += struct.pack(">ihqq", 0, 0, -1, 42) + struct.pack(">ihqq", 1, 6, -1, -1)
    assert decode_list_offsets(frame, 3) == {("t", 0): 42}
    with pytest.raises(ValueError):
        decode_list_offsets(frame, 4)


@pytest.fixture(scope="module")
def source_with_data(shared_broker: BrokerProcess) -> KafkaSource:
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    admin.create_topics([NewTopic("wm-a", 3, 1), NewTopic("wm-b", 2, 1)])["wm-a"].result(30)
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap})
    for i in range(7):
        producer.produce("wm-a", value=b"x", partition=i % 3)
    producer.produce("wm-b", value=b"y", partition=1)
    producer.flush(30)
    return KafkaSource(shared_broker.bootstrap, timeout_s=10.0)


def test_fast_path_agrees_with_the_admin_client(source_with_data: KafkaSource) -> None:
    source = source_with_data
    md = source._metadata()
    fast = source._table_offsets(md)
    slow = source._offsets((n, p) for n, t in md.topics.items() for p in t.partitions)
    assert fast == slow
    assert fast[("wm-a", 0)] == (0, 3) and fast[("wm-b", 1)] == (0, 1)
    rows = {r.name: r.records for r in source.topics()}
    assert rows["wm-a"] == 7 and rows["wm-b"] == 1


def test_an_unreachable_listener_falls_back_to_the_admin_client(
    source_with_data: KafkaSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_args: object) -> dict:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(kafka_offsets, "leader_watermarks", refused)  # the name kafka_offsets.py imported
    rows = {r.name: r.records for r in source_with_data.topics()}
    assert rows["wm-a"] == 7 and rows["wm-b"] == 1
