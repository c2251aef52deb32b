"""Hostile logins: thousands of wrong passwords and malformed SASL frames close only their own
connections, are logged once each without the password, and never hold up an authorised client.

Each failed login is answered at once and its connection closed after
``connection.failed.authentication.delay.ms`` (Kafka's default 100 ms), so an attacker's
connections linger but cost the broker no work in the meantime.
"""

from __future__ import annotations

import concurrent.futures
import os
import statistics
import struct
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from tests.broker_process import BrokerProcess, free_port
from tests.server.security.raw_client import RawClient

JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";'
SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="x" password="y";'
ATTEMPTS = 2000


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    port = free_port()
    proc = BrokerProcess(
        tmp_path_factory.mktemp("hostile-logins"),
        port=port,
        overrides={
            "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
            "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        },
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def wrong_password(port: int, attempt: int) -> int:
    """One failed PLAIN login; returns the error code the broker answered."""
    with RawClient(port) as client:
        assert client.request(17, 1, {"mechanism": "PLAIN"}).error_code == 0
        token = f"\0alice\0guess-{attempt}".encode()
        return client.request(36, 2, {"auth_bytes": token}).error_code


def produce_latencies(producer: Producer, topic: str, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        producer.produce(topic, f"{i}".encode())
        assert producer.flush(10) == 0
        latencies.append(time.perf_counter() - start)
    return latencies


def test_a_flood_of_wrong_passwords_does_not_slow_an_authorised_client(broker: BrokerProcess) -> None:
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
            "linger.ms": 0,
        }
    )
    topic = f"calm-{uuid.uuid4().hex[:6]}"
    produce_latencies(producer, topic, 20)  # warm: topic created, connection up
    quiet = produce_latencies(producer, topic, 100)
    log_start = len(broker.output)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        flood = [pool.submit(wrong_password, broker.port, i) for i in range(ATTEMPTS)]
        under_flood = produce_latencies(producer, topic, 100)
        codes = [f.result() for f in flood]
    assert codes == [58] * ATTEMPTS  # SASL_AUTHENTICATION_FAILED, every one
    quiet_p50, flood_p50 = statistics.median(quiet), statistics.median(under_flood)
    print(
        f"produce p50 quiet {quiet_p50 * 1000:.1f} ms, under {ATTEMPTS} bad logins {flood_p50 * 1000:.1f} ms"
    )
    # The flood shares two cores with this test and the broker; the authorised client must stay
    # in the same range, not queue behind the failed logins (each closes after 100 ms).
    assert flood_p50 < max(5 * quiet_p50, 0.05), (quiet_p50, flood_p50)
    assert max(under_flood) < 2.0
    failures = [line for line in broker.output[log_start:] if "Failed authentication with /127.0.0.1" in line]
    assert len(failures) == ATTEMPTS  # once per connection
    assert not any("guess-" in line for line in broker.output)  # never the password
    producer.flush(5)


def _closes(port: int, payload: bytes | None = None, steps: list | None = None) -> bool:
    """Send ``payload`` (or run ``steps`` of (api, version, body)) and expect the broker to close."""
    with RawClient(port, timeout=10) as client:
        for api_key, version, body in steps or ():
            client.request(api_key, version, body)
        if payload is not None:
            client.send_raw(payload)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data = client.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if data == b"":
                return True
        return False


def _frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def test_malformed_sasl_frames_close_only_their_connection(broker: BrokerProcess) -> None:
    port = broker.port
    handshake = [(17, 1, {"mechanism": "PLAIN"})]
    scram = [(17, 1, {"mechanism": "SCRAM-SHA-256"})]
    with RawClient(port) as probe:
        metadata = probe.frame(
            3,
            12,
            {
                "topics": None,
                "allow_auto_topic_creation": False,
                "include_topic_authorized_operations": False,
            },
        )
        authenticate_v2 = probe.frame(36, 2, {"auth_bytes": b"\xff\xfe garbage without separators"})
        scram_garbage = probe.frame(36, 2, {"auth_bytes": b"n,,n=alice,r="})
        future_version = (
            probe.frame(36, 2, {"auth_bytes": b"x"})[:6]
            + struct.pack(">h", 99)
            + probe.frame(36, 2, {"auth_bytes": b"x"})[8:]
        )
    cases = {
        "a request before any handshake": _closes(port, metadata),
        "SaslAuthenticate before the handshake": _closes(port, authenticate_v2),
        "a token that is not PLAIN": _closes(port, authenticate_v2, handshake),
        "a SCRAM first message without a nonce": _closes(port, scram_garbage, scram),
        "a SaslAuthenticate version that does not exist": _closes(port, future_version, handshake),
        "bytes that are no Kafka request": _closes(port, _frame(os.urandom(3))),
        "random bytes as a v0 raw token": _closes(
            port, _frame(os.urandom(64)), [(17, 0, {"mechanism": "SCRAM-SHA-256"})]
        ),
        "a 1 GiB length prefix": _closes(port, struct.pack(">i", 1 << 30)),
        "a negative length prefix": _closes(port, struct.pack(">i", -1)),
        "an unknown mechanism": _closes(port, None, [(17, 1, {"mechanism": "GSSAPI"})]),
    }
    assert all(cases.values()), [name for name, closed in cases.items() if not closed]
    assert broker.proc is not None and broker.proc.poll() is None
    with RawClient(port) as client:  # and the broker still logs people in
        assert client.request(17, 1, {"mechanism": "PLAIN"}).error_code == 0
        assert client.request(36, 2, {"auth_bytes": b"\0alice\0alice-secret"}).error_code == 0
