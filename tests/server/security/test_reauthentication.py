"""KIP-368 re-authentication: ``connections.max.reauth.ms`` gives each SASL session a lifetime; a
client re-authenticates on the same connection before it ends, and a connection whose session
expired is closed at its next request."""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer

from tests.broker_process import BrokerProcess, free_port
from tests.server.security.raw_client import RawClient, plain_login

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'user_alice="alice-secret" user_bob="bob-secret";'
)
# Long enough that kafka-python's re-authentication, scheduled 5-15% of a lifetime before the end
# (250-750 ms here), is not late on a loaded 2-core machine.
LIFETIME_MS = 5000
METADATA = {"topics": None, "allow_auto_topic_creation": False, "include_topic_authorized_operations": False}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    port = free_port()
    proc = BrokerProcess(
        tmp_path_factory.mktemp("reauth"),
        port=port,
        overrides={
            "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
            "connections.max.reauth.ms": str(LIFETIME_MS),
        },
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_session_lifetime_is_announced_and_an_expired_session_is_closed(broker: BrokerProcess) -> None:
    with RawClient(broker.port) as client:
        answer = plain_login(client, "alice", "alice-secret")
        assert answer.error_code == 0
        assert answer.session_lifetime == datetime.timedelta(milliseconds=LIFETIME_MS)
        assert client.request(3, 12, METADATA).brokers
        deadline = time.monotonic() + LIFETIME_MS / 1000 + 0.2
        while time.monotonic() < deadline:  # the session runs out; nothing is sent meanwhile
            time.sleep(deadline - time.monotonic())
        client.send_raw(client.frame(3, 12, METADATA))
        assert client.closed_by_broker()
    # the broker logs the reason as it closes; its output reaches the test a moment later
    deadline = time.monotonic() + 10
    while (
        not any("its SASL session expired" in line for line in broker.output) and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert any("its SASL session expired" in line for line in broker.output)


def test_reauthentication_keeps_the_session(broker: BrokerProcess) -> None:
    with RawClient(broker.port) as client:
        plain_login(client, "alice", "alice-secret")
        again = plain_login(client, "alice", "alice-secret")  # a new handshake on the same connection
        assert again.error_code == 0 and again.session_lifetime.total_seconds() * 1000 == LIFETIME_MS
        assert client.request(3, 12, METADATA).brokers


def test_reauthentication_cannot_change_the_principal(broker: BrokerProcess) -> None:
    with RawClient(broker.port) as client:
        plain_login(client, "alice", "alice-secret")
        switched = plain_login(client, "bob", "bob-secret")
        assert switched.error_code == 58  # SASL_AUTHENTICATION_FAILED
        assert (
            "Cannot change principals during re-authentication from User.alice: User.bob"
            in switched.error_message
        )
        assert client.closed_by_broker()


def test_kafka_python_reauthenticates_while_producing(
    broker: BrokerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """A producer that outlives two session lifetimes keeps its connection: the client
    re-authenticates in time (kafka-python schedules it at 85-95% of the lifetime)."""
    caplog.set_level(logging.DEBUG, logger="kafka")
    topic = f"reauth-{uuid.uuid4().hex[:8]}"
    log_start = len(broker.output)
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username="alice",
        sasl_plain_password="alice-secret",
    )
    try:
        end = time.monotonic() + 2 * LIFETIME_MS / 1000
        sent = 0
        while time.monotonic() < end:
            producer.send(topic, f"{sent}".encode()).get(10)
            sent += 1
    finally:
        producer.close()
    scheduled = [r for r in caplog.records if "Scheduling SASL re-authentication" in r.getMessage()]
    assert len(scheduled) >= 2, [r.getMessage() for r in caplog.records][-20:]
    assert not any("its SASL session expired" in line for line in broker.output[log_start:])
