"""The Apache Java client (kafka-clients 3.9, what Spark, Flink and Kafka Streams use) against the
broker: an idempotent acks=all producer with keys and headers, and a consumer in a group that
commits, read back in order."""

from __future__ import annotations

import uuid

from tests.broker_process import BrokerProcess
from tests.java_client import needs_java, run_java

pytestmark = needs_java

PRODUCER = """
import java.util.Properties;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaProduce {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("compression.type", args[3]);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        int n = Integer.parseInt(args[2]);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < n; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(args[1], 0, "k" + i, "v" + i);
                r.headers().add("h", ("x" + i).getBytes());
                RecordMetadata m = producer.send(r).get();
                System.out.println("acked " + m.partition() + " " + m.offset());
            }
        }
    }
}
"""

CONSUMER = """
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.serialization.StringDeserializer;

public class JavaConsume {
    public static void main(String[] args) {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("group.id", args[2]);
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        int want = Integer.parseInt(args[3]);
        int got = 0;
        long deadline = System.currentTimeMillis() + 60000;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(Collections.singletonList(args[1]));
            while (got < want && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    String h = new String(r.headers().lastHeader("h").value());
                    System.out.println(r.offset() + " " + r.key() + " " + r.value() + " " + h);
                    got++;
                }
            }
            consumer.commitSync();
            System.out.println("committed " + consumer.committed(consumer.assignment()).values());
        }
    }
}
"""


def test_java_producer_and_group_consumer_round_trip(shared_broker: BrokerProcess) -> None:
    topic = f"java-{uuid.uuid4().hex[:8]}"
    produced = run_java(PRODUCER, shared_broker.bootstrap, topic, "20", "lz4")
    assert produced.returncode == 0, produced.stderr
    assert [line for line in produced.stdout.splitlines() if line.startswith("acked")] == [
        f"acked 0 {i}" for i in range(20)
    ]

    group = f"jg-{uuid.uuid4().hex[:8]}"
    consumed = run_java(CONSUMER, shared_broker.bootstrap, topic, group, "20")
    assert consumed.returncode == 0, consumed.stderr
    lines = consumed.stdout.splitlines()
    assert lines[:20] == [f"{i} k{i} v{i} x{i}" for i in range(20)]
    assert "offset=20" in lines[20], lines[20:]
