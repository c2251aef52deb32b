"""The Java client (kafka-clients 3.9, what Spark, Flink and Kafka Streams use) against secured
listeners: SASL/PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL (PEM
truststore), mutual TLS (PEM keystore), and a wrong password refused with
SaslAuthenticationException. One JVM runs every case, each from its own client properties file."""

from __future__ import annotations

import uuid

from tests.java_client import needs_java, run_java
from tests.server.security.secure_broker import MECHANISMS, SecureBroker

pytestmark = needs_java

PROGRAM = """
import java.io.FileInputStream;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.*;

public class JavaSecurity {
    static Properties load(String bootstrap, String file) throws Exception {
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream(file)) { p.load(in); }
        p.put("bootstrap.servers", bootstrap);
        return p;
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i + 3 < args.length + 1; i += 4) {
            String name = args[i], bootstrap = args[i + 1], file = args[i + 2], topic = args[i + 3];
            try {
                Properties p = load(bootstrap, file);
                p.put("key.serializer", StringSerializer.class.getName());
                p.put("value.serializer", StringSerializer.class.getName());
                p.put("max.block.ms", "20000");
                try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
                    producer.send(new ProducerRecord<>(topic, "k", "java " + name)).get();
                }
                Properties c = load(bootstrap, file);
                c.put("group.id", "java-" + name);
                c.put("auto.offset.reset", "earliest");
                c.put("key.deserializer", StringDeserializer.class.getName());
                c.put("value.deserializer", StringDeserializer.class.getName());
                String got = null;
                long deadline = System.currentTimeMillis() + 30000;
                try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
                    consumer.subscribe(Collections.singletonList(topic));
                    while (got == null && System.currentTimeMillis() < deadline)
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) got = r.value();
                }
                System.out.println("ok " + name + " " + got);
            } catch (Exception e) {
                Throwable cause = e;
                while (cause.getCause() != null && !(cause instanceof SaslAuthenticationException)) cause = cause.getCause();
                System.out.println("failed " + name + " " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
            }
        }
    }
}
"""


def test_java_client_on_every_secured_listener(secure_broker: SecureBroker) -> None:
    run = uuid.uuid4().hex[:6]
    args: list[str] = []
    expected = []
    for protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        for mechanism in MECHANISMS:
            name = f"{protocol}-{mechanism}"
            config = secure_broker.java_properties(protocol, mechanism, "alice")
            args += [name, secure_broker.bootstrap(protocol), config, f"java-{run}-{name}"]
            expected.append(f"ok {name} java {name}")
    mtls = secure_broker.java_properties("SSL", None, "bob")
    args += ["mTLS", secure_broker.bootstrap("SSL"), mtls, f"java-{run}-mtls"]
    expected.append("ok mTLS java mTLS")
    wrong = secure_broker.java_properties("SASL_SSL", "SCRAM-SHA-512", "alice").replace(
        ".properties", "-wrong.properties"
    )
    with (
        open(secure_broker.java_properties("SASL_SSL", "SCRAM-SHA-512", "alice")) as good,
        open(wrong, "w") as bad,
    ):
        bad.write(good.read().replace('password="alice-secret"', 'password="not-it"'))
    args += ["wrong", secure_broker.bootstrap("SASL_SSL"), wrong, f"java-{run}-wrong"]
    result = run_java(PROGRAM, *args, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[:-1] == expected, result.stdout + result.stderr[-2000:]
    assert lines[-1].startswith(
        "failed wrong SaslAuthenticationException: Authentication failed during authentication"
    )
