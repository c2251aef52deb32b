"""KIP-848 with the Java client (kafka-clients 3.9, ``group.protocol=consumer``): three members
joining, one closing, one killed with SIGKILL, every record delivered at least once, the
assignment converging to the uniform assignor's, and the commits where they should be.

The Java member prints the same lines as :mod:`tests.group_member` (ASSIGNED / RECORD / CLOSED)
and commits each record synchronously before printing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from tests.broker_process import BrokerProcess
from tests.compat.test_kip848_confluent import (
    KIP848_SETTINGS,
    create_topic,
    produce,
    uniform_and_stable,
    wait_for,
)
from tests.group_member import MemberProcess
from tests.java_client import java_command, needs_java

pytestmark = needs_java

MEMBER = """
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

public class Kip848Member {
    static volatile boolean stop = false;

    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("group.id", args[1]);
        p.put("group.protocol", args[3]);
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop = true;
            consumer.wakeup();
            try { main.join(20000); } catch (InterruptedException e) { }
        }));
        consumer.subscribe(Collections.singletonList(args[2]));
        String shown = null;
        try {
            while (!stop) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
                List<Integer> parts = new ArrayList<>();
                for (TopicPartition tp : consumer.assignment()) parts.add(tp.partition());
                Collections.sort(parts);
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < parts.size(); i++) { if (i > 0) sb.append(','); sb.append(parts.get(i)); }
                if (!sb.toString().equals(shown)) {
                    shown = sb.toString();
                    System.out.println("ASSIGNED " + shown);
                    System.out.flush();
                }
                for (ConsumerRecord<String, String> r : records) {
                    System.out.println("RECORD " + r.partition() + " " + r.offset() + " " + r.value());
                    System.out.flush();
                    try {
                        consumer.commitSync(Collections.singletonMap(
                            new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1)));
                    } catch (Exception e) {
                        System.out.println("COMMIT-FAILED " + r.partition() + " " + r.offset() + " " + e);
                        System.out.flush();
                    }
                }
            }
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            // closing
        } finally {
            consumer.close();
            System.out.println("CLOSED");
            System.out.flush();
        }
    }
}
"""


@pytest.fixture(scope="module")
def kip848_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("kip848-java"), KIP848_SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_java_members_join_leave_and_crash_with_every_record_delivered(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"java848-{uuid.uuid4().hex[:6]}", f"gj-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produce(bootstrap, topic, range(0, 300), 6)
    command = java_command(MEMBER)
    members: list[MemberProcess] = []

    def start() -> MemberProcess:
        member = MemberProcess(bootstrap, group, topic, "consumer", command=command)
        members.append(member)
        return member

    try:
        a = start()
        a.wait(lambda m: len(m.assigned) == 6, 60, "the first Java member to own every partition")
        b, c = start(), start()
        for m in members:
            m.wait(lambda m: len(m.assigned) == 2, 60, "two partitions per Java member")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 3, 6), 30, "a uniform, stable assignment")
        produce(bootstrap, topic, range(300, 600), 6)

        a.close()
        assert "CLOSED" in a.lines
        for m in (b, c):
            m.wait(lambda m: len(m.assigned) == 3, 60, "three partitions each after a member left")
        b.kill()
        c.wait(lambda m: len(m.assigned) == 6, 60, "the survivor to own everything after the crash")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 1, 6), 30, "stable with the survivor")
        produce(bootstrap, topic, range(600, 900), 6)

        def seen() -> set[int]:
            return set(a.values) | set(b.values) | set(c.values)

        try:
            c.wait(lambda _: seen() >= set(range(900)), 60, "every record delivered at least once")
        except AssertionError:
            missing = sorted(set(range(900)) - seen())
            failed = [line for m in members for line in m.lines if line.startswith("COMMIT-FAILED")]
            raise AssertionError(
                f"missing {missing[:20]} ({len(missing)}); failed commits {failed[:10]}"
            ) from None
        assert seen() == set(range(900))
        c.close()
    finally:
        for m in members:
            m.kill()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    committed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(15)
    assert sorted((tp.partition, tp.offset) for tp in committed.topic_partitions) == [
        (p, 150) for p in range(6)
    ]
