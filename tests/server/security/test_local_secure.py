"""``kcli local start --secure``: a SASL_SSL lab that the Kafka tools, ``kcli tui``'s data source
and Confluent's registry client use with the generated client properties files."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import free_port, isolated_env


def kcli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.main", *args], capture_output=True, text=True, env=env, timeout=120
    )


def tool(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, env=env, input=stdin, timeout=120)


def pair_port() -> int:
    while True:
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
        return port


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[dict[str, str], int, int, Path]]:
    env = isolated_env(tmp_path)
    port, registry_port = pair_port(), free_port()
    started = kcli(env, "local", "start", "--secure", "--port", str(port), "--schema-registry",
                   "--registry-port", str(registry_port))  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "Users: admin (super user), alice, bob" in started.stdout
        yield env, port, registry_port, Path(env["KCLI_HOME"]) / "local" / "secure"
    finally:
        kcli(env, "local", "destroy")


def test_secure_lab_with_tools_tui_and_registry(lab: tuple[dict[str, str], int, int, Path]) -> None:
    env, port, registry_port, secure = lab
    bootstrap = f"localhost:{port}"
    admin, alice, bob = (str(secure / f"{u}.properties") for u in ("admin", "alice", "bob"))

    # nothing without credentials: a plaintext client on the TLS port is refused
    plain = tool(env, "kafka-topics", "--bootstrap-server", bootstrap, "--list")
    assert plain.returncode != 0

    created = tool(env, "kafka-topics", "--bootstrap-server", bootstrap, "--command-config", admin,
                   "--create", "--topic", "orders", "--partitions", "1", "--replication-factor", "1")  # fmt: skip
    assert created.returncode == 0, created.stderr
    refused = tool(env, "kafka-console-producer", "--bootstrap-server", bootstrap, "--producer.config", alice,
                   "--topic", "orders", stdin="too early\n")  # fmt: skip
    assert refused.returncode != 0 and "authoriz" in refused.stderr.lower()

    for args in (
        ("--add", "--allow-principal", "User:alice", "--producer", "--topic", "orders"),
        ("--add", "--allow-principal", "User:bob", "--consumer", "--topic", "orders", "--group", "billing"),
    ):
        granted = tool(env, "kafka-acls", "--bootstrap-server", bootstrap, "--command-config", admin, *args)
        assert granted.returncode == 0, granted.stderr
    produced = tool(env, "kafka-console-producer", "--bootstrap-server", bootstrap, "--producer.config", alice,
                    "--topic", "orders", stdin="order 1\norder 2\n")  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    consumed = tool(env, "kafka-console-consumer", "--bootstrap-server", bootstrap, "--consumer.config", bob,
                    "--topic", "orders", "--group", "billing", "--from-beginning", "--max-messages", "2")  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ["order 1", "order 2"]
    groups = tool(
        env, "kafka-consumer-groups", "--bootstrap-server", bootstrap, "--command-config", admin, "--list"
    )
    assert groups.returncode == 0 and "billing" in groups.stdout.split()

    # kcli tui's data source takes the same file
    from kcli.tui.kafka import KafkaSource

    source = KafkaSource(bootstrap, bob)
    try:
        assert [t.name for t in source.topics()] == ["orders"]  # bob may describe orders only
        assert [m.value for m in source.browse("orders")] == [b"order 1", b"order 2"]
    finally:
        source.close()

    # the registry: HTTPS and basic auth for the same users
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    registry = SchemaRegistryClient(
        {"url": f"https://localhost:{registry_port}", "basic.auth.user.info": "alice:alice-secret",
         "ssl.ca.location": str(secure / "ca.pem")}
    )  # fmt: skip
    schema_id = registry.register_schema("orders-value", Schema('{"type": "string"}', "AVRO"))
    assert registry.get_schema(schema_id).schema_str.replace(" ", "") in ('"string"', '{"type":"string"}')
    assert registry.get_subjects() == ["orders-value"]
