"""A lone broker keeps its topics in its own metadata log (issue 12): 10,000 topics are creatable,
come back after a restart, and ``kafka-dump-log --cluster-metadata-decoder`` reads the log as
Kafka's tool reads ``__cluster_metadata``. The broker's rate and restart time are measured by
``benchmarks/topic_creation.py``; here they only have to work (the start timeout is generous)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.server.cluster.metadata_log import METADATA_DIR
from tests.broker_process import BrokerProcess
from tests.tools.helpers import run_tool

TOPICS = 10_000
BATCH = 1_000


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    b = BrokerProcess(tmp_path).start()
    yield b
    b.stop(timeout=120)


def test_ten_thousand_topics_are_created_and_come_back_after_a_restart(broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for start in range(0, TOPICS, BATCH):
        names = [f"t-{i:05d}" for i in range(start, start + BATCH)]
        futures = admin.create_topics(
            [NewTopic(n, 1, 1) for n in names], operation_timeout=120, request_timeout=180
        )
        for name in names:
            futures[name].result(180)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("t-09999", b"still here")
    assert producer.flush(30) == 0

    assert broker.stop(timeout=120) == 0
    broker.start(timeout=120)
    topics = admin.list_topics(timeout=60).topics
    assert sum(1 for t in topics if t.startswith("t-")) == TOPICS
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "scale"})
    try:
        consumer.assign([TopicPartition("t-09999", 0, 0)])
        message = consumer.poll(30)
        assert message is not None and message.value() == b"still here"
    finally:
        consumer.close()


def test_kafka_dump_log_decodes_the_metadata_log(broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("decoded", 2, 1, config={"retention.ms": "60000"})])["decoded"].result(30)
    broker.stop()
    segment = broker.log_dirs / METADATA_DIR / "00000000000000000000.log"
    result = run_tool("dump_log", ["--cluster-metadata-decoder", "--files", str(segment)])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"Dumping {segment}", "Log starting offset: 0"]
    payloads = [json.loads(line.split(" payload: ", 1)[1]) for line in lines if " payload: " in line]
    types = [p["type"] for p in payloads]
    assert types[0] == "FEATURE_LEVEL_RECORD" and "REGISTER_BROKER_RECORD" in types
    topic = next(p for p in payloads if p["type"] == "TOPIC_RECORD" and p["data"]["name"] == "decoded")
    config = next(
        p for p in payloads if p["type"] == "CONFIG_RECORD" and p["data"]["resourceName"] == "decoded"
    )
    assert config["data"] == {
        "resourceType": 2,
        "resourceName": "decoded",
        "name": "retention.ms",
        "value": "60000",
    }
    partitions = [
        p["data"]
        for p in payloads
        if p["type"] == "PARTITION_RECORD" and p["data"]["topicId"] == topic["data"]["topicId"]
    ]
    assert [(p["partitionId"], p["replicas"], p["leader"]) for p in partitions] == [(0, [0], 0), (1, [0], 0)]
    assert any("controlType: LEADER_CHANGE(2)" in line for line in lines)  # the epoch's first record
    assert all(p["version"] >= 0 for p in payloads)
