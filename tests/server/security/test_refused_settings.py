"""Security settings that are wrong, or that kcli does not support, stop the start with one line.

A broker asked for SASL, TLS or ACLs that starts anyway, serving everyone in cleartext, looks
secured and is not; a broker that starts with a keystore it cannot open or a JAAS line it cannot
read would fail its clients later, far from the cause. Each case starts the real
``kafka-server-start`` (or ``schema-registry-start``) with one such setting and checks: a non-zero
exit, exactly one output line naming the key, and nothing listening on the configured port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker_process import free_port

PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";'
BROKER_CASES = [
    # (id, settings with {port} and {dir}, key the line must name)
    (
        "unsupported-mechanism",
        {"listeners": "SASL_PLAINTEXT://127.0.0.1:{port}", "sasl.enabled.mechanisms": "GSSAPI"},
        "sasl.enabled.mechanisms",
    ),
    (
        "gssapi-by-default",
        {"listeners": "SASL_PLAINTEXT://127.0.0.1:{port}"},
        "sasl.enabled.mechanisms",
    ),
    (
        "missing-keystore",
        {
            "listeners": "SSL://127.0.0.1:{port}",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": "{dir}/no-such-keystore.pem",
        },
        "ssl.keystore.location",
    ),
    (
        "wrong-key-password",
        {
            "listeners": "SSL://127.0.0.1:{port}",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": "{dir}/broker.keystore.pem",
            "ssl.key.password": "not-the-password",
        },
        "ssl.key.password",
    ),
    (
        "wrong-pkcs12-password",
        {
            "listeners": "SSL://127.0.0.1:{port}",
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": "{dir}/broker.p12",
            "ssl.keystore.password": "not-the-password",
        },
        "ssl.keystore.password",
    ),
    (
        "jks-keystore",
        {
            "listeners": "SSL://127.0.0.1:{port}",
            "ssl.keystore.location": "{dir}/broker.keystore.jks",
            "ssl.keystore.password": "changeit",
        },
        "ssl.keystore.type",
    ),
    (
        "unparseable-jaas",
        {
            "listeners": "SASL_PLAINTEXT://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": "PlainLoginModule user_admin=",
        },
        "listener.name.sasl_plaintext.plain.sasl.jaas.config",
    ),
    (
        "plain-without-jaas",
        {"listeners": "SASL_PLAINTEXT://127.0.0.1:{port}", "sasl.enabled.mechanisms": "PLAIN"},
        "plain.sasl.jaas.config",
    ),
    (
        "unknown-listener-protocol",
        {"listeners": "CLIENTS://127.0.0.1:{port}", "listener.security.protocol.map": "CONTROLLER:PLAINTEXT"},
        "listener.security.protocol.map",
    ),
    (
        "custom-authorizer",
        {"authorizer.class.name": "com.example.OurAuthorizer"},
        "authorizer.class.name",
    ),
    (
        "secured-controller-listener",
        {
            "listeners": "PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:1",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
        },
        "listener.security.protocol.map",
    ),
    ("super-users-without-authorizer", {"super.users": "User:admin"}, "super.users"),
    (
        "allow-everyone-without-authorizer",
        {"allow.everyone.if.no.acl.found": "false"},
        "allow.everyone.if.no.acl.found",
    ),
    ("zookeeper-set-acl", {"zookeeper.set.acl": "true"}, "zookeeper.set.acl"),
    ("cipher-suites", {"ssl.cipher.suites": "TLS_AES_128_GCM_SHA256"}, "ssl.cipher.suites"),
    (
        "custom-callback-handler",
        {
            "listeners": "SASL_PLAINTEXT://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
            "listener.name.sasl_plaintext.plain.sasl.server.callback.handler.class": "com.example.Handler",
        },
        "sasl.server.callback.handler.class",
    ),
    ("delegation-tokens", {"delegation.token.secret.key": "s3cr3t"}, "delegation.token.secret.key"),
    ("unknown-ssl-key", {"ssl.made.up.setting": "x"}, "ssl.made.up.setting"),
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PEM keystore whose key needs a password, and a file in Java's JKS format (its magic)."""
    from kcli.server.security.certificates import issue, make_ca, write_pem_keystore, write_pkcs12_keystore

    d = tmp_path_factory.mktemp("stores")
    ca = make_ca()
    write_pem_keystore(d / "broker.keystore.pem", issue(ca, "CN=broker"), ca, key_password="key-secret")
    write_pkcs12_keystore(d / "broker.p12", issue(ca, "CN=broker"), ca, "store-secret")
    (d / "broker.keystore.jks").write_bytes(b"\xfe\xed\xfe\xed" + bytes(60))
    return d


def _nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _run(module: str, properties: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_OPTS", "SCHEMA_REGISTRY_OPTS")}
    return subprocess.run(
        [sys.executable, "-m", module, str(properties)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=properties.parent,
        env=env,
    )


@pytest.mark.parametrize(("settings", "key"), [c[1:] for c in BROKER_CASES], ids=[c[0] for c in BROKER_CASES])
def test_broker_refuses_bad_or_unsupported_security(
    tmp_path: Path, stores: Path, settings: dict[str, str], key: str
) -> None:
    port = free_port()
    props = {
        "node.id": "0",
        "process.roles": "broker,controller",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(tmp_path / "logs"),
    }
    props.update({k: v.format(port=port, dir=stores) for k, v in settings.items()})
    path = tmp_path / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    result = _run("kcli.server.start", path)
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, lines
    assert key in lines[0] and "Traceback" not in lines[0]
    assert _nothing_listens(port)
    assert not (tmp_path / "logs").exists()  # refused before touching the log directory


REGISTRY_CASES = [
    (
        "basic-auth-without-jaas",
        {"authentication.method": "BASIC", "authentication.realm": "SchemaRegistry-Props"},
        "authentication.method",
    ),
    ("basic-auth-without-realm", {"authentication.method": "BASIC"}, "authentication.realm"),
    ("bearer-auth", {"authentication.method": "BEARER"}, "authentication.method"),
    ("https-without-keystore", {"listeners": "https://127.0.0.1:{port}"}, "ssl.keystore.location"),
    (
        "https-second-listener",
        {"listeners": "http://127.0.0.1:{port},https://127.0.0.1:{port2}"},
        "listeners",
    ),
    (
        "authorizer",
        {
            "confluent.schema.registry.authorizer.class": "io.confluent.kafka.schemaregistry.security.authorizer.X"
        },
        "confluent.schema.registry.authorizer.class",
    ),
]


@pytest.mark.parametrize(
    ("settings", "key"), [c[1:] for c in REGISTRY_CASES], ids=[c[0] for c in REGISTRY_CASES]
)
def test_registry_refuses_unhonoured_security(tmp_path: Path, settings: dict[str, str], key: str) -> None:
    """Refused before the registry even waits for its Kafka store (none runs here)."""
    port, port2 = free_port(), free_port()
    props = {
        "listeners": f"http://127.0.0.1:{port}",
        "kafkastore.bootstrap.servers": f"127.0.0.1:{free_port()}",
    }
    props.update({k: v.format(port=port, port2=port2) for k, v in settings.items()})
    path = tmp_path / "schema-registry.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    result = _run("kcli.schema_registry.start", path)
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, lines
    assert key in lines[0] and "Traceback" not in lines[0]
    assert _nothing_listens(port) and _nothing_listens(port2)
