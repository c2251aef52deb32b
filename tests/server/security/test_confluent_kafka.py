"""confluent-kafka (librdkafka) against secured listeners: SASL/PLAIN, SCRAM-SHA-256 and
SCRAM-SHA-512 over plaintext and TLS, mutual TLS, and wrong credentials refused."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.server.security.secure_broker import MECHANISMS, SecureBroker


def round_trip(conf: dict, topic: str) -> None:
    producer = Producer(conf)
    producer.produce(topic, b"secret payload")
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": f"g-{topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    message = consumer.poll(30)
    consumer.close()
    assert message is not None and message.error() is None and message.value() == b"secret payload"


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sasl_round_trip(secure_broker: SecureBroker, protocol: str, mechanism: str) -> None:
    round_trip(
        secure_broker.librdkafka(protocol, mechanism), f"ck-{protocol}-{mechanism}-{uuid.uuid4().hex[:6]}"
    )


def test_mutual_tls_round_trip(secure_broker: SecureBroker) -> None:
    round_trip(secure_broker.librdkafka("SSL", user="bob"), f"ck-mtls-{uuid.uuid4().hex[:6]}")


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_is_refused(secure_broker: SecureBroker, mechanism: str) -> None:
    conf = secure_broker.librdkafka("SASL_SSL", mechanism, password="not-alices-password")
    errors: list = []
    admin = AdminClient({**conf, "error_cb": errors.append})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # serves the error callback
    assert any("Authentication failed" in str(e) for e in errors), errors
    log = "".join(secure_broker.process.output)
    assert "Failed authentication with /127.0.0.1" in log
    assert "not-alices-password" not in log


def test_tls_client_without_certificate_is_refused(secure_broker: SecureBroker) -> None:
    conf = secure_broker.librdkafka("SSL", user="alice")
    del conf["ssl.certificate.location"], conf["ssl.key.location"]
    with pytest.raises(KafkaException):
        AdminClient(conf).list_topics(timeout=5)
