"""kafka-python and aiokafka against secured listeners: SASL/PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
over plaintext and TLS, mutual TLS, the SaslHandshake v0 raw-token form, and wrong passwords.

kafka-python told the broker is older than 1.0 (``api_version=(0, 10, 2)``) authenticates the way
pre-1.0 clients do: SaslHandshake v0, then SASL tokens as bare length-prefixed frames.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError as SyncKafkaError

from tests.server.security.secure_broker import MECHANISMS, USERS, SecureBroker

PROTOCOLS = ["SASL_PLAINTEXT", "SASL_SSL"]


def kafka_python_settings(
    broker: SecureBroker, protocol: str, mechanism: str | None, password: str | None = None
) -> dict:
    settings: dict = {"bootstrap_servers": broker.bootstrap(protocol), "security_protocol": protocol}
    if mechanism is not None:
        settings.update(
            sasl_mechanism=mechanism,
            sasl_plain_username="alice",
            sasl_plain_password=USERS["alice"] if password is None else password,
        )
    if protocol.endswith("SSL"):
        settings["ssl_cafile"] = broker.ca
    if protocol == "SSL":
        settings["ssl_certfile"], settings["ssl_keyfile"] = broker.client_cert("alice")
    return settings


def kafka_python_round_trip(settings: dict, topic: str) -> None:
    producer = KafkaProducer(**settings)
    producer.send(topic, b"kafka-python secret").get(30)
    producer.close()
    consumer = KafkaConsumer(topic, auto_offset_reset="earliest", **settings)
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    while not values and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values += [r.value for r in records]
    consumer.close()
    assert values == [b"kafka-python secret"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_sasl(secure_broker: SecureBroker, protocol: str, mechanism: str) -> None:
    kafka_python_round_trip(
        kafka_python_settings(secure_broker, protocol, mechanism), f"kp-{uuid.uuid4().hex[:8]}"
    )


def test_kafka_python_mutual_tls(secure_broker: SecureBroker) -> None:
    kafka_python_round_trip(
        kafka_python_settings(secure_broker, "SSL", None), f"kp-mtls-{uuid.uuid4().hex[:8]}"
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_handshake_v0_raw_tokens(secure_broker: SecureBroker, mechanism: str) -> None:
    settings = kafka_python_settings(secure_broker, "SASL_SSL", mechanism)
    admin = KafkaAdminClient(api_version=(0, 10, 2), **settings)
    try:
        assert isinstance(admin.list_topics(), list)
    finally:
        admin.close()
    bad = kafka_python_settings(secure_broker, "SASL_SSL", mechanism, password="wrong")
    with pytest.raises(SyncKafkaError):
        KafkaAdminClient(api_version=(0, 10, 2), bootstrap_timeout_ms=3000, **bad)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_wrong_password(secure_broker: SecureBroker, mechanism: str) -> None:
    bad = kafka_python_settings(secure_broker, "SASL_PLAINTEXT", mechanism, password="wrong")
    with pytest.raises(SyncKafkaError):
        KafkaAdminClient(bootstrap_timeout_ms=3000, **bad)


def aiokafka_settings(
    broker: SecureBroker, protocol: str, mechanism: str | None, password: str | None = None
) -> dict:
    settings: dict = {"bootstrap_servers": broker.bootstrap(protocol), "security_protocol": protocol}
    if mechanism is not None:
        settings.update(
            sasl_mechanism=mechanism,
            sasl_plain_username="alice",
            sasl_plain_password=USERS["alice"] if password is None else password,
        )
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=broker.ca)
        if protocol == "SSL":
            context.load_cert_chain(*broker.client_cert("alice"))
        settings["ssl_context"] = context
    return settings


async def aiokafka_round_trip(settings: dict, topic: str) -> None:
    producer = AIOKafkaProducer(**settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"aiokafka secret")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **settings)
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert message.value == b"aiokafka secret"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_aiokafka_sasl(secure_broker: SecureBroker, protocol: str, mechanism: str) -> None:
    asyncio.run(
        aiokafka_round_trip(
            aiokafka_settings(secure_broker, protocol, mechanism), f"aio-{uuid.uuid4().hex[:8]}"
        )
    )


def test_aiokafka_mutual_tls(secure_broker: SecureBroker) -> None:
    asyncio.run(
        aiokafka_round_trip(aiokafka_settings(secure_broker, "SSL", None), f"aio-mtls-{uuid.uuid4().hex[:8]}")
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_aiokafka_wrong_password(secure_broker: SecureBroker, mechanism: str) -> None:
    async def attempt() -> None:
        producer = AIOKafkaProducer(
            request_timeout_ms=5000, **aiokafka_settings(secure_broker, "SASL_SSL", mechanism, "wrong")
        )
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises((KafkaError, KafkaConnectionError)):
        asyncio.run(attempt())
