"""The Apache Java client (kafka-clients 3.9, what Kafka Streams, Flink and Spark use) with
transactions: initTransactions, commitTransaction and abortTransaction, a read_committed
KafkaConsumer, and a consume-transform-produce step with sendOffsetsToTransaction and the
consumer's group metadata (KIP-447)."""

from __future__ import annotations

import uuid

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import new_topic
from tests.java_client import needs_java, run_java

pytestmark = needs_java

PROGRAM = """
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class JavaTransactions {
    static KafkaProducer<String, String> producer(String bootstrap, String txnId) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("transactional.id", txnId);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        producer.initTransactions();
        return producer;
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", group);
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    static List<String> readCommitted(String bootstrap, String topic, int want) {
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer(bootstrap, "reader-" + UUID.randomUUID())) {
            c.subscribe(Collections.singletonList(topic));
            long deadline = System.currentTimeMillis() + 60000;
            while (got.size() < want && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) got.add(r.value());
            }
            // and nothing more arrives (the aborted records stay invisible)
            for (int i = 0; i < 5; i++)
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) got.add(r.value());
        }
        return got;
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], src = args[1], dst = args[2], group = args[3], txnId = args[4];
        try (KafkaProducer<String, String> producer = producer(bootstrap, txnId)) {
            producer.beginTransaction();
            for (int i = 0; i < 5; i++) producer.send(new ProducerRecord<>(src, "k" + i, "committed-" + i));
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 5; i++) producer.send(new ProducerRecord<>(src, "k" + i, "aborted-" + i));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(src, "k", "committed-5"));
            producer.commitTransaction();
        }
        System.out.println("SRC " + readCommitted(bootstrap, src, 6));

        // consume-transform-produce, exactly once
        try (KafkaProducer<String, String> producer = producer(bootstrap, txnId + "-copy");
             KafkaConsumer<String, String> consumer = consumer(bootstrap, group)) {
            consumer.subscribe(Collections.singletonList(src));
            int copied = 0;
            long deadline = System.currentTimeMillis() + 60000;
            while (copied < 6 && System.currentTimeMillis() < deadline) {
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
            System.out.println("COMMITTED " + consumer.committed(Collections.singleton(new TopicPartition(src, 0))).values());
        }
        System.out.println("DST " + readCommitted(bootstrap, dst, 6));
    }
}
"""


def test_java_transactions_and_read_committed(shared_broker: BrokerProcess) -> None:
    src = new_topic(shared_broker.bootstrap, "java-src")
    dst = new_topic(shared_broker.bootstrap, "java-dst")
    group, txn_id = f"java-eos-{uuid.uuid4().hex[:6]}", f"java-tx-{uuid.uuid4().hex[:6]}"
    result = run_java(PROGRAM, shared_broker.bootstrap, src, dst, group, txn_id, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    committed = [f"committed-{i}" for i in range(6)]
    assert f"SRC {committed}".replace("'", "") in lines, lines
    assert "DST [" + ", ".join(f"copy-{v}" for v in committed) + "]" in lines, lines
    # the last offset is after the ABORT marker and the second COMMIT marker
    assert any(line.startswith("COMMITTED [OffsetAndMetadata{offset=13") for line in lines), lines
