"""A TLS listener faced with clients that do not speak TLS: a plaintext Kafka request, a client
that connects and sends nothing, a certificate the broker's CA did not sign."""

from __future__ import annotations

import socket
import ssl
import struct
import time

from kcli.server.security.certificates import issue, make_ca
from tests.server.security.secure_broker import SecureBroker

API_VERSIONS_V0 = struct.pack(">ihhih", 10, 18, 0, 1, 0)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_a_plaintext_client_on_a_tls_port_is_closed_not_left_hanging(secure_broker: SecureBroker) -> None:
    for port in (secure_broker.sasl_ssl_port, secure_broker.ssl_port):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            start = time.monotonic()
            sock.sendall(API_VERSIONS_V0)
            assert closed_within(sock, 10)
            assert time.monotonic() - start < 5
    assert any("SSL handshake failed" in line for line in secure_broker.process.output)


def test_a_client_certificate_from_another_ca_is_refused(secure_broker: SecureBroker, tmp_path) -> None:
    stranger_ca = make_ca("CN=stranger CA")
    stranger = issue(stranger_ca, "CN=mallory", hosts=())
    (tmp_path / "mallory.pem").write_bytes(stranger.certificate_pem())
    (tmp_path / "mallory.key").write_bytes(stranger.key_pem())
    context = ssl.create_default_context(cafile=secure_broker.ca)
    context.load_cert_chain(tmp_path / "mallory.pem", tmp_path / "mallory.key")
    with socket.create_connection(("127.0.0.1", secure_broker.ssl_port)) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(API_VERSIONS_V0)
                refused = closed_within(tls, 10)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            refused = True
    assert refused


def test_idle_tls_connections_stay_small(secure_broker: SecureBroker) -> None:
    """asyncio keeps a 256 KiB read buffer per TLS connection; the broker asks for 32 KiB, so 200
    idle TLS clients (handshake and one ApiVersions each) cost it well under 20 MB."""
    from benchmarks.idle_connections import _read, rss_kib

    context = ssl.create_default_context(cafile=secure_broker.ca)
    pid = secure_broker.process.pid
    socks = []
    try:
        base = rss_kib(pid)
        for _ in range(200):
            raw = socket.create_connection(("127.0.0.1", secure_broker.sasl_ssl_port), timeout=10)
            tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
            socks.append(tls)
            tls.sendall(API_VERSIONS_V0)
            (size,) = struct.unpack(">i", _read(tls, 4))
            _read(tls, size)
        grown_mib = (rss_kib(pid) - base) / 1024
        assert grown_mib < 20, f"200 idle TLS connections took {grown_mib:.1f} MiB"
    finally:
        for s in socks:
            s.close()


def test_pkcs12_keystore_and_truststore(tmp_path) -> None:
    """Stores in PKCS12 (read with the cryptography library), with client authentication."""
    from confluent_kafka import Producer

    from kcli.server.security.certificates import write_pem_truststore, write_pkcs12_keystore
    from tests.broker_process import BrokerProcess, free_port

    ca = make_ca()
    write_pkcs12_keystore(tmp_path / "broker.p12", issue(ca, "CN=broker"), ca, "store-secret")
    write_pkcs12_keystore(tmp_path / "trust.p12", issue(ca, "CN=unused"), ca, "trust-secret")
    client = issue(ca, "CN=client", hosts=())
    (tmp_path / "client.pem").write_bytes(client.certificate_pem())
    (tmp_path / "client.key").write_bytes(client.key_pem())
    write_pem_truststore(tmp_path / "ca.pem", ca)
    port = free_port()
    broker = BrokerProcess(
        tmp_path / "broker",
        port=port,
        overrides={
            "listeners": f"SSL://127.0.0.1:{port}",
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(tmp_path / "broker.p12"),
            "ssl.keystore.password": "store-secret",
            "ssl.truststore.type": "PKCS12",
            "ssl.truststore.location": str(tmp_path / "trust.p12"),
            "ssl.truststore.password": "trust-secret",
            "ssl.client.auth": "required",
        },
    ).start()
    try:
        producer = Producer(
            {"bootstrap.servers": broker.bootstrap, "security.protocol": "SSL", "ssl.ca.location": str(tmp_path / "ca.pem"),
             "ssl.certificate.location": str(tmp_path / "client.pem"), "ssl.key.location": str(tmp_path / "client.key")}
        )  # fmt: skip
        producer.produce("pkcs12", b"over TLS")
        assert producer.flush(30) == 0
    finally:
        broker.kill()
