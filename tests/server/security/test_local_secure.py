"""``kcli local start --secure``: a SASL_SSL lab that the Kafka tools, ``kcli tui``'s data source
and Confluent's registry client use with the generated client properties files."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import free_port, isolated_env


def kcli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.cli.main", *args], capture_output=True, text=True, env=env, timeout=120
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
    from kcli.cluster_view.kafka import KafkaSource

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


def test_secure_local_cluster(tmp_path: Path) -> None:
    """--secure --brokers 3: three SASL_SSL brokers that replicate over SASL_SSL; a SCRAM user of
    the lab logs in to each of them (the controller holds the users)."""
    env = isolated_env(tmp_path)
    port = free_port()
    while any(_taken(p) for p in range(port, port + 4)):
        port = free_port()
    started = kcli(env, "local", "start", "--secure", "--brokers", "3", "--port", str(port))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        admin = str(Path(env["KCLI_HOME"]) / "local" / "secure" / "admin.properties")
        created = tool(env, "kafka-topics", "--bootstrap-server", f"localhost:{port}", "--command-config", admin,
                       "--create", "--topic", "replicated", "--partitions", "1", "--replication-factor", "3")  # fmt: skip
        assert created.returncode == 0, created.stderr
        produced = tool(env, "kafka-console-producer", "--bootstrap-server", f"localhost:{port}",
                        "--producer.config", admin, "--topic", "replicated", "--producer-property", "acks=all",
                        stdin="replicated over SASL_SSL\n")  # fmt: skip
        assert produced.returncode == 0, produced.stderr
        for broker_port in (port, port + 1, port + 2):  # every broker answers, and all three are in sync
            deadline = time.monotonic() + 30
            while True:
                described = tool(env, "kafka-topics", "--bootstrap-server", f"localhost:{broker_port}",
                                 "--command-config", admin, "--describe", "--topic", "replicated")  # fmt: skip
                assert described.returncode == 0, described.stderr
                isr = described.stdout.split("Isr: ")[1].split()[0].split(",")
                if len(isr) == 3:
                    break
                assert time.monotonic() < deadline, described.stdout
                time.sleep(0.5)
    finally:
        kcli(env, "local", "destroy")


def _taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return False
        except OSError:
            return True
