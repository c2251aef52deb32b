"""Follower fetching (KIP-392) on a real 3-broker cluster with racks a, b, c and
``replica.selector.class=RackAwareReplicaSelector``: a librdkafka consumer with ``client.rack``
set to a follower's rack is moved to that follower and reads every record from it; without a
rack it reads from the leader; and when the follower dies it falls back and still reads every
record exactly once. Which broker serves the partition is read from librdkafka's own statistics
(per partition: ``leader`` and ``broker``, the one it fetches from), not assumed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.errors import ErrorCode

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.java_client import needs_java, run_java
from tests.kafka_wire import Connection, code

RACKS = ["a", "b", "c"]
RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(
        tmp_path_factory.mktemp("racks"),
        3,
        mode="kraft",
        overrides={"replica.selector.class": RACK_AWARE, "replica.lag.time.max.ms": "3000"},
    )
    for broker, rack in zip(c.brokers, RACKS, strict=True):
        broker.properties.write_text(broker.properties.read_text() + f"broker.rack={rack}\n")
    c.start()
    yield c
    c.stop()


def create_rf3(cluster: Cluster, topic: str) -> None:
    """One partition led by broker 0, followed by 1 (rack b) and 2 (rack c)."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, 1, replica_assignment=[[0, 1, 2]])])[topic].result(30)


def produce(bootstrap: str, topic: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for value in values:
        producer.produce(topic, value.encode())
    assert producer.flush(60) == 0


def in_sync(cluster: Cluster, topic: str, brokers: list[int]) -> bool:
    admin = AdminClient({"bootstrap.servers": cluster.brokers[0].bootstrap})
    partition = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
    return sorted(partition.isrs) == brokers


class RackConsumer:
    """A consumer of partition 0 from the beginning that keeps librdkafka's partition stats."""

    def __init__(self, bootstrap: str, topic: str, rack: str | None):
        self.topic = topic
        self.served_by: list[tuple[int, int]] = []  # (broker fetched from, leader) per stats sample
        self.received: dict[int, int] = {}  # broker id -> bytes received from it so far
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{topic}",
            "enable.auto.commit": False,
            "statistics.interval.ms": 100,
            "stats_cb": self._stats,
        }
        if rack is not None:
            config["client.rack"] = rack
        self.consumer = Consumer(config)
        self.consumer.assign([TopicPartition(topic, 0, 0)])

    def _stats(self, raw: str) -> None:
        stats = json.loads(raw)
        for broker in stats.get("brokers", {}).values():
            if broker["nodeid"] >= 0:
                self.received[broker["nodeid"]] = broker["rxbytes"]
        partition = stats.get("topics", {}).get(self.topic, {}).get("partitions", {}).get("0")
        if partition is not None and partition["broker"] >= 0:
            self.served_by.append((partition["broker"], partition["leader"]))

    def read(self, count: int, timeout_s: float = 60.0) -> list[str]:
        values: list[str] = []
        assert wait_until(lambda: self._poll_into(values) or len(values) >= count, timeout_s), values
        return values

    def _poll_into(self, values: list[str]) -> bool:
        msg = self.consumer.poll(0.2)
        if msg is not None:
            assert msg.error() is None, msg.error()
            values.append(msg.value().decode())
        return False

    def wait_served_by(self, broker: int, timeout_s: float = 30.0) -> bool:
        """Until a statistics sample shows the partition fetched from ``broker``."""
        start = len(self.served_by)
        return wait_until(
            lambda: self._poll_into([]) or any(b == broker for b, _ in self.served_by[start:]), timeout_s
        )

    def drain(self, seconds: float) -> list[str]:
        """Whatever else arrives within ``seconds`` (expected: nothing)."""
        values: list[str] = []
        wait_until(lambda: self._poll_into(values), seconds)
        return values

    def close(self) -> None:
        self.consumer.close()


def test_metadata_tells_each_broker_rack(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    nodes = admin.describe_cluster().result(30).nodes
    assert {n.id: n.rack for n in nodes} == {0: "a", 1: "b", 2: "c"}


def test_a_consumer_in_a_followers_rack_reads_every_record_from_that_follower(cluster: Cluster) -> None:
    create_rf3(cluster, "near")
    values = [f"v{i:04}".ljust(1000, ".") for i in range(300)]  # 300 kB: they can only come from 1
    produce(cluster.bootstrap, "near", values)
    assert wait_until(lambda: in_sync(cluster, "near", [0, 1, 2]), 30)
    consumer = RackConsumer(cluster.bootstrap, "near", "b")
    try:
        assert consumer.read(len(values)) == values
        assert consumer.wait_served_by(1)
        # The leader (0) answered the first fetch with preferred_read_replica=1 and no records:
        # librdkafka fetched from the leader, then from broker 1 only, and the 300 kB came from 1.
        first = next(i for i, (b, _) in enumerate(consumer.served_by) if b == 1)
        assert set(consumer.served_by[:first]) <= {(0, 0)}
        assert set(consumer.served_by[first:]) == {(1, 0)}
        assert consumer.received[1] > 300_000 > 30_000 > consumer.received[0], consumer.received
    finally:
        consumer.close()


def test_a_consumer_without_a_rack_reads_from_the_leader(cluster: Cluster) -> None:
    create_rf3(cluster, "plain")
    values = [f"p{i}" for i in range(100)]
    produce(cluster.bootstrap, "plain", values)
    consumer = RackConsumer(cluster.bootstrap, "plain", None)
    try:
        assert consumer.read(len(values)) == values
        assert consumer.wait_served_by(0)
        assert all(b == 0 and leader == 0 for b, leader in consumer.served_by)
    finally:
        consumer.close()


def fetch(address: str, topic: str, offset: int, *, version: int = 11, **fields: Any) -> Any:
    """One partition's answer to a raw consumer Fetch (``fields`` override the request's)."""
    part = {"partition": 0, "current_leader_epoch": fields.pop("epoch", -1), "fetch_offset": offset,
            "log_start_offset": -1, "partition_max_bytes": 1 << 20}  # fmt: skip
    body: dict[str, Any] = {"replica_id": -1, "max_wait": 0, "min_bytes": 1, "max_bytes": 1 << 20,
                            "isolation_level": 0, "session_id": 0, "session_epoch": -1,
                            "topics": [{"topic": topic, "partitions": [part]}], "forgotten_topics_data": []}  # fmt: skip
    if version >= 11:
        body["rack_id"] = ""
    body.update(fields)
    with Connection(address) as conn:
        return conn.request(1, version, body).responses[0].partitions[0]


def test_what_a_leader_and_a_follower_answer_on_the_wire(cluster: Cluster) -> None:
    """The exact answers librdkafka acts on: the leader's preferred_read_replica (no records) for
    a rack holding an in-sync follower; a follower serving a consumer up to its high watermark,
    with Kafka's errors; old consumers, followers' own fetches and ListOffsets leader-only."""
    create_rf3(cluster, "wire")
    produce(cluster.bootstrap, "wire", [f"w{i}" for i in range(10)])
    leader, follower = cluster.brokers[0].bootstrap, cluster.brokers[1].bootstrap
    assert wait_until(lambda: fetch(follower, "wire", 0).high_watermark == 10, 30)
    assert wait_until(lambda: in_sync(cluster, "wire", [0, 1, 2]), 30)

    for rack, preferred in (("b", 1), ("c", 2), ("a", -1), ("", -1), ("z", -1)):
        answer = fetch(leader, "wire", 0, rack_id=rack)
        assert (code(answer.error_code), answer.preferred_read_replica) == (0, preferred), rack
        assert bool(answer.records) == (preferred == -1), rack

    served = fetch(follower, "wire", 0, rack_id="c")  # a follower never redirects
    assert (code(served.error_code), served.preferred_read_replica, served.high_watermark) == (0, -1, 10)
    assert served.records
    assert code(fetch(follower, "wire", 10).error_code) == 0  # at its high watermark: nothing yet
    assert code(fetch(follower, "wire", 11).error_code) == ErrorCode.offset_out_of_range
    assert code(fetch(follower, "wire", 0, epoch=1_000_000).error_code) == ErrorCode.unknown_leader_epoch
    assert code(fetch(follower, "wire", 0, version=10).error_code) == ErrorCode.not_leader_or_follower
    assert code(fetch(follower, "wire", 0, replica_id=2).error_code) == ErrorCode.not_leader_or_follower
    with Connection(follower) as conn:
        listed = conn.request(2, 5, {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": "wire", "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]}
        ]})  # fmt: skip
    assert code(listed.topics[0].partitions[0].error_code) == ErrorCode.not_leader_or_follower


JAVA_RACK_CONSUMER = """
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.serialization.StringDeserializer;

public class JavaRackConsumer {
    public static void main(String[] args) {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("client.rack", args[3]);
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        int n = Integer.parseInt(args[2]);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(args[1], 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            int got = 0;
            long deadline = System.currentTimeMillis() + 60000;
            while (got < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    System.out.println("record " + r.offset() + " " + r.value().substring(0, 5));
                    got++;
                }
            }
            for (Map.Entry<MetricName, ? extends Metric> e : consumer.metrics().entrySet()) {
                MetricName m = e.getKey();
                if (m.group().equals("consumer-node-metrics") && m.name().equals("incoming-byte-total")) {
                    System.out.println("bytes " + m.tags().get("node-id") + " " + e.getValue().metricValue());
                }
            }
        }
    }
}
"""


@needs_java
def test_the_java_consumer_with_client_rack_reads_from_the_follower(cluster: Cluster) -> None:
    create_rf3(cluster, "java")
    values = [f"j{i:04}".ljust(1000, ".") for i in range(300)]
    produce(cluster.bootstrap, "java", values)
    assert wait_until(lambda: in_sync(cluster, "java", [0, 1, 2]), 30)
    result = run_java(JAVA_RACK_CONSUMER, cluster.bootstrap, "java", str(len(values)), "c")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("record")] == [
        f"record {i} j{i:04}" for i in range(300)
    ]
    received = {
        node: float(total) for _, node, total in (line.split() for line in lines if line.startswith("bytes "))
    }
    # The client's own per-broker byte counts: the 300 kB came from broker 2 (rack c), not the leader.
    assert received["node-2"] > 300_000 > 30_000 > received.get("node-0", 0.0), received


def test_the_consumer_falls_back_when_its_preferred_follower_dies(cluster: Cluster) -> None:
    """Last in this module: it kills broker 1, which also leads "moved": a follower then fences a
    consumer that still knows the leader epoch before the election (FENCED_LEADER_EPOCH)."""
    create_rf3(cluster, "fallback")
    admin = AdminClient({"bootstrap.servers": cluster.brokers[0].bootstrap})
    admin.create_topics([NewTopic("moved", 1, replica_assignment=[[1, 0, 2]])])["moved"].result(30)
    produce(cluster.brokers[0].bootstrap, "moved", ["m"])
    first = [f"f{i}" for i in range(100)]
    produce(cluster.bootstrap, "fallback", first)
    assert wait_until(lambda: in_sync(cluster, "fallback", [0, 1, 2]), 30)
    consumer = RackConsumer(cluster.bootstrap, "fallback", "b")
    try:
        assert consumer.read(len(first)) == first
        assert consumer.wait_served_by(1)
        cluster.brokers[1].kill()
        second = [f"s{i}" for i in range(100)]
        produce(cluster.brokers[0].bootstrap, "fallback", second)
        # Exactly the rest, in order, once: nothing re-read from the start, nothing skipped.
        assert consumer.read(len(second)) == second
        assert consumer.wait_served_by(0)
        assert consumer.drain(1.0) == []  # and no duplicate follows
    finally:
        consumer.close()
    assert wait_until(
        lambda: admin.list_topics("moved", timeout=10).topics["moved"].partitions[0].leader in (0, 2), 30
    )
    follower = 2 if admin.list_topics("moved", timeout=10).topics["moved"].partitions[0].leader == 0 else 0
    address = cluster.brokers[follower].bootstrap
    assert wait_until(
        lambda: code(fetch(address, "moved", 0, epoch=0).error_code) == ErrorCode.fenced_leader_epoch, 30
    )
    assert code(fetch(address, "moved", 0).error_code) == 0  # without an epoch it still serves
