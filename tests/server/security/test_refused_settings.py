"""Security settings the broker or the registry does not honour stop the start with one line.

A broker asked for SASL, TLS or ACLs that starts anyway, serving everyone in cleartext, looks
secured and is not. Each case starts the real ``kafka-server-start`` (or ``schema-registry-start``)
with one such setting and checks: a non-zero exit, exactly one output line naming the key, and
nothing listening on the configured port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker_process import free_port

BROKER_CASES = [
    # (id, settings with {port}, key the line must name)
    ("sasl-plaintext-listener", {"listeners": "SASL_PLAINTEXT://127.0.0.1:{port}"}, "listeners"),
    ("ssl-listener", {"listeners": "SSL://127.0.0.1:{port}"}, "listeners"),
    ("sasl-ssl-listener", {"listeners": "SASL_SSL://127.0.0.1:{port}"}, "listeners"),
    (
        "mapped-listener",
        {
            "listeners": "CLIENTS://127.0.0.1:{port}",
            "listener.security.protocol.map": "CLIENTS:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        },
        "listener.security.protocol.map",
    ),
    (
        "advertised-listener",
        {"advertised.listeners": "SASL_SSL://localhost:{port}"},
        "advertised.listeners",
    ),
    (
        "inter-broker-listener",
        {
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,BROKER:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "BROKER",
        },
        "inter.broker.listener.name",
    ),
    ("inter-broker-protocol", {"security.inter.broker.protocol": "SSL"}, "security.inter.broker.protocol"),
    (
        "standard-authorizer",
        {"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer"},
        "authorizer.class.name",
    ),
    (
        "acl-authorizer",
        {"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"},
        "authorizer.class.name",
    ),
    ("ssl-keystore", {"ssl.keystore.location": "/nonexistent/keystore.jks"}, "ssl.keystore.location"),
    ("ssl-client-auth", {"ssl.client.auth": "required"}, "ssl.client.auth"),
    ("sasl-mechanisms", {"sasl.enabled.mechanisms": "PLAIN"}, "sasl.enabled.mechanisms"),
    (
        "listener-jaas",
        {
            "listener.name.plaintext.plain.sasl.jaas.config": (
                'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="x";'
            )
        },
        "listener.name.plaintext.plain.sasl.jaas.config",
    ),
    ("super-users", {"super.users": "User:admin"}, "super.users"),
    ("allow-everyone", {"allow.everyone.if.no.acl.found": "false"}, "allow.everyone.if.no.acl.found"),
    ("zookeeper-set-acl", {"zookeeper.set.acl": "true"}, "zookeeper.set.acl"),
]


def _nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _run(module: str, properties: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, str(properties)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=properties.parent,
    )


@pytest.mark.parametrize(("settings", "key"), [c[1:] for c in BROKER_CASES], ids=[c[0] for c in BROKER_CASES])
def test_broker_refuses_unhonoured_security(tmp_path: Path, settings: dict[str, str], key: str) -> None:
    port = free_port()
    props = {
        "node.id": "0",
        "process.roles": "broker,controller",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(tmp_path / "logs"),
    }
    props.update({k: v.format(port=port) for k, v in settings.items()})
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
    ("basic-auth", {"authentication.method": "BASIC", "authentication.roles": "admin"}, "authentication."),
    ("https-listener", {"listeners": "https://127.0.0.1:{port}"}, "listeners"),
    (
        "https-second-listener",
        {"listeners": "http://127.0.0.1:{port},https://127.0.0.1:{port2}"},
        "listeners",
    ),
    ("ssl-keystore", {"ssl.keystore.location": "/nonexistent/ks.p12"}, "ssl.keystore.location"),
    ("inter-instance-https", {"inter.instance.protocol": "https"}, "inter.instance.protocol"),
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
