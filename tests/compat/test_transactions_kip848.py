"""Exactly-once from members of KIP-848 consumer groups (``group.protocol=consumer``): a
consume-transform-produce application commits its input offsets with
``send_offsets_to_transaction`` and the consumer's group metadata, which carries the member id and
the member epoch. The broker validates that TxnOffsetCommit against the consumer group as Kafka's
OffsetMetadataManager does (a stale member epoch is ILLEGAL_GENERATION, an unknown member
UNKNOWN_MEMBER_ID, no member at all accepted as from producers that send none, KAFKA-18060).

With confluent-kafka (librdkafka) across a kill -9 of the application, with the Java client, and
the exact answers through raw requests. One broker for the module, with the short consumer-group
timeouts of the KIP-848 tests so the killed member is fenced in seconds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer
from kio.schema.errors import ErrorCode

from tests.broker_process import BrokerProcess
from tests.compat.test_kip848_confluent import KIP848_SETTINGS, find_coordinator, heartbeat
from tests.compat.test_transactions_confluent import consumer_group_offsets, current_offset
from tests.compat.txn_helpers import App, new_topic, read_all
from tests.java_client import needs_java, run_java
from tests.kafka_wire import Connection, code

SETTINGS = {**KIP848_SETTINGS, "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("txn-kip848"), SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


# The consume-transform-produce application of test_transactions_confluent, as a member of a
# consumer group (no session.timeout.ms or static id: the broker owns those under KIP-848).
EOS_CONSUMER_APP = r"""
import sys, time
from confluent_kafka import Consumer, Producer

bootstrap, src, dst, group, txn_id, mode, per_txn = sys.argv[1:8]
per_txn = int(per_txn)
consumer = Consumer({
    "bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
    "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": "read_committed",
})
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
producer.init_transactions(60)
consumer.subscribe([src])
early = []
while not consumer.assignment():
    early += [m for m in consumer.consume(per_txn, 0.2) if not m.error()]
assignment = consumer.assignment()
ends = {tp.partition: consumer.get_watermark_offsets(tp, 10)[1] for tp in assignment}
committed = 0
while True:
    if early:
        msgs, early = early[:per_txn], early[per_txn:]
    else:
        positions = {tp.partition: tp.offset for tp in consumer.position(assignment)}
        if all(positions[p] >= ends[p] for p in ends):
            print("DONE", flush=True)
            break
        msgs = [m for m in consumer.consume(per_txn, 1.0) if not m.error()]
    if not msgs:
        continue
    producer.begin_transaction()
    for m in msgs:
        producer.produce(dst, key=m.key(), value=b"out-" + m.value())
    producer.send_offsets_to_transaction(consumer.position(assignment), consumer.consumer_group_metadata(), 60)
    if mode == "die" and committed == 2:
        producer.flush(30)
        print("MIDWAY", flush=True)
        time.sleep(3600)
    producer.commit_transaction(60)
    committed += 1
    print("COMMITTED", committed, [m.offset() for m in msgs], flush=True)
consumer.close()
"""


def test_consumer_protocol_member_is_exactly_once_across_a_kill_9(broker: BrokerProcess) -> None:
    src = new_topic(broker.bootstrap, "src848")
    dst = new_topic(broker.bootstrap, "dst848")
    feed = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(30):
        feed.produce(src, key=b"k%d" % i, value=b"%d" % i)
    assert feed.flush(30) == 0
    group, txn_id = f"eos848-{uuid.uuid4().hex[:6]}", f"eos848-{uuid.uuid4().hex[:6]}"
    args = [broker.bootstrap, src, dst, group, txn_id]

    first = App(EOS_CONSUMER_APP, [*args, "die", "4"])
    try:
        first.wait_for("MIDWAY")
        assert current_offset(consumer_group_offsets(broker.bootstrap, group), src) == 8, "".join(first.seen)
    finally:
        first.kill()

    second = App(EOS_CONSUMER_APP, [*args, "finish", "4"])
    try:
        second.wait_for("DONE")
    finally:
        second.kill()

    assert read_all(broker.bootstrap, dst, 1, "read_committed") == [b"out-%d" % i for i in range(30)]
    assert current_offset(consumer_group_offsets(broker.bootstrap, group), src) == 30


JAVA_PROGRAM = """
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class JavaKip848Transactions {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], src = args[1], dst = args[2], group = args[3], txnId = args[4];
        int want = Integer.parseInt(args[5]);
        Properties pp = new Properties();
        pp.put("bootstrap.servers", bootstrap);
        pp.put("transactional.id", txnId);
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        Properties cp = new Properties();
        cp.put("bootstrap.servers", bootstrap);
        cp.put("group.id", group);
        cp.put("group.protocol", "consumer");
        cp.put("isolation.level", "read_committed");
        cp.put("auto.offset.reset", "earliest");
        cp.put("enable.auto.commit", "false");
        cp.put("key.deserializer", StringDeserializer.class.getName());
        cp.put("value.deserializer", StringDeserializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp);
             KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            producer.initTransactions();
            consumer.subscribe(Collections.singletonList(src));
            int copied = 0;
            long deadline = System.currentTimeMillis() + 90000;
            while (copied < want && System.currentTimeMillis() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) continue;
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    producer.send(new ProducerRecord<>(dst, r.key(), "copy-" + r.value()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    copied++;
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
            }
            System.out.println("EPOCH " + consumer.groupMetadata().generationId());
            System.out.println("COMMITTED " + consumer.committed(Collections.singleton(new TopicPartition(src, 0))).values());
        }
    }
}
"""


@needs_java
def test_java_consumer_protocol_member_sends_offsets_to_transaction(broker: BrokerProcess) -> None:
    src = new_topic(broker.bootstrap, "java848-src")
    dst = new_topic(broker.bootstrap, "java848-dst")
    feed = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(6):
        feed.produce(src, key=b"k%d" % i, value=b"v%d" % i)
    assert feed.flush(30) == 0
    group, txn_id = f"java848-{uuid.uuid4().hex[:6]}", f"java848-tx-{uuid.uuid4().hex[:6]}"
    result = run_java(JAVA_PROGRAM, broker.bootstrap, src, dst, group, txn_id, "6", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("EPOCH ") and int(line.split()[1]) >= 1 for line in lines), lines
    assert any(line.startswith("COMMITTED [OffsetAndMetadata{offset=6") for line in lines), lines
    assert read_all(broker.bootstrap, dst, 1, "read_committed") == [b"copy-v%d" % i for i in range(6)]


# --- the exact answers ---------------------------------------------------------------------------


def txn_offset_commit(
    conn: Connection,
    txn_id: str,
    pid: int,
    epoch: int,
    group: str,
    topic: str,
    member: str,
    gen: int,
    instance: str | None = None,
) -> int:
    response = conn.request(
        28,
        3,
        {
            "transactional_id": txn_id,
            "group_id": group,
            "producer_id": pid,
            "producer_epoch": epoch,
            "generation_id": gen,
            "member_id": member,
            "group_instance_id": instance,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 5,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                    ],
                }
            ],
        },
    )
    return code(response.topics[0].partitions[0].error_code)


def test_txn_offset_commit_is_validated_against_the_consumer_group(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "v848")
    group, txn_id = f"v848-{uuid.uuid4().hex[:6]}", f"v848-{uuid.uuid4().hex[:6]}"
    member = uuid.uuid4().hex
    with Connection(broker.bootstrap) as conn:
        find_coordinator(conn, group)
        joined = heartbeat(conn, group, member, 0, subscribed_topic_names=[topic])
        assert code(joined.error_code) == 0 and joined.member_epoch == 1
        found = conn.request(10, 4, {"key_type": 1, "coordinator_keys": [txn_id]})
        assert code(found.coordinators[0].error_code) == 0
        init = conn.request(
            22,
            4,
            {
                "transactional_id": txn_id,
                "transaction_timeout": 60000,
                "producer_id": -1,
                "producer_epoch": -1,
            },
        )
        assert code(init.error_code) == 0
        pid, epoch = init.producer_id, init.producer_epoch
        added = conn.request(
            25,
            3,
            {"transactional_id": txn_id, "producer_id": pid, "producer_epoch": epoch, "group_id": group},
        )
        assert code(added.error_code) == 0

        def commit(member_id: str, generation: int, instance: str | None = None) -> int:
            return txn_offset_commit(conn, txn_id, pid, epoch, group, topic, member_id, generation, instance)

        assert commit(member, 0) == ErrorCode.illegal_generation  # stale epoch: Kafka's mapping
        assert commit(member, 2) == ErrorCode.illegal_generation
        assert commit("someone-else", 1) == ErrorCode.unknown_member_id
        assert commit("", -1, instance="not-a-member") == ErrorCode.unknown_member_id
        assert commit(member, 1) == ErrorCode.none
        assert commit("", -1) == ErrorCode.none  # producers that send no member (KAFKA-18060)
        ended = conn.request(
            26,
            3,
            {"transactional_id": txn_id, "producer_id": pid, "producer_epoch": epoch, "committed": True},
        )
        assert code(ended.error_code) == 0
        # The markers are written after EndTxn answers: until then the offset is unstable.
        deadline = time.monotonic() + 30
        while True:
            fetched = conn.request(
                9,
                9,
                {
                    "groups": [
                        {
                            "group_id": group,
                            "member_id": member,
                            "member_epoch": 1,
                            "topics": [{"name": topic, "partition_indexes": [0]}],
                        }
                    ],
                    "require_stable": True,
                },
            )
            assert code(fetched.groups[0].error_code) == 0
            (partition,) = fetched.groups[0].topics[0].partitions
            if code(partition.error_code) != ErrorCode.unstable_offset_commit:
                break
            assert time.monotonic() < deadline, "the transaction's offsets stayed unstable"
            time.sleep(0.05)
        assert (code(partition.error_code), partition.committed_offset) == (0, 5)
