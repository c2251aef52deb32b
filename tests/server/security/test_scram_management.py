"""SCRAM users as a Kafka admin manages them: ``kafka-storage format --add-scram`` before the first
start, ``kafka-configs --entity-type users`` (AlterUserScramCredentials /
DescribeUserScramCredentials) while it runs; credentials survive ``kill -9`` and are stored as Kafka
stores them, never as passwords."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tests.broker_process import BrokerProcess, free_port

SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";'


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def client(port: int, user: str, password: str, mechanism: str = "SCRAM-SHA-256") -> dict:
    return {
        "bootstrap.servers": f"127.0.0.1:{port}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }


def can_log_in(port: int, user: str, password: str, mechanism: str = "SCRAM-SHA-256") -> bool:
    """True once metadata arrives, False as soon as the broker refuses the login."""
    refused: list = []
    admin = AdminClient({**client(port, user, password, mechanism), "error_cb": refused.append})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=0.5)
            return True
        except KafkaException:
            admin.poll(0)
            if any("Authentication failed" in str(e) for e in refused):
                return False
    raise AssertionError(f"neither metadata nor a refusal for {user} within 15 s: {refused}")


def test_scram_users_from_format_to_kafka_configs(tmp_path: Path) -> None:
    port = free_port()
    broker = BrokerProcess(
        tmp_path,
        port=port,
        overrides={
            "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        },
    )
    bad = run("kafka-storage", "format", "-t", "q1Sh-9_ISia_zwGINzRvyQ", "-c", str(broker.properties),
              "--add-scram", "SCRAM-SHA-256=[name=alice,iterations=100,password=x]")  # fmt: skip
    assert bad.returncode == 1
    assert (
        bad.stderr.strip()
        == "Error: The 'iterations' value must be >= 4096 for add-scram using SCRAM-SHA-256"
    )
    formatted = run(
        "kafka-storage", "format", "-t", "q1Sh-9_ISia_zwGINzRvyQ", "-c", str(broker.properties),
        "--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]",
        "--add-scram", "SCRAM-SHA-256=[name=alice,password=alice-secret]",
        "--add-scram", "SCRAM-SHA-512=[name=alice,iterations=8192,password=alice-secret]",
    )  # fmt: skip
    assert formatted.returncode == 0, formatted.stderr
    stored = (broker.log_dirs / "__kcli_security.json").read_text()
    assert "alice-secret" not in stored and "stored_key=" in stored
    broker.start()
    try:
        assert can_log_in(port, "alice", "alice-secret")
        assert can_log_in(port, "alice", "alice-secret", "SCRAM-SHA-512")
        assert not can_log_in(port, "alice", "wrong")
        admin_config = tmp_path / "admin.properties"
        admin_config.write_text(
            f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config={SCRAM_JAAS}\n"
        )
        configs = [
            "kafka-configs",
            "--bootstrap-server",
            f"127.0.0.1:{port}",
            "--command-config",
            str(admin_config),
        ]
        described = run(*configs, "--describe", "--entity-type", "users", "--entity-name", "alice")
        assert described.stdout.strip() == (
            "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=4096, "
            "SCRAM-SHA-512=iterations=8192"
        )
        added = run(*configs, "--alter", "--add-config",
                    "SCRAM-SHA-256=[iterations=8192,password=bob-secret],SCRAM-SHA-512=[password=bob-secret]",
                    "--entity-type", "users", "--entity-name", "bob")  # fmt: skip
        assert added.returncode == 0 and added.stdout.strip() == "Completed updating config for user bob."
        assert can_log_in(port, "bob", "bob-secret", "SCRAM-SHA-512")
        too_few = run(*configs, "--alter", "--add-config", "SCRAM-SHA-256=[iterations=1000,password=x]",
                      "--entity-type", "users", "--entity-name", "carol")  # fmt: skip
        assert too_few.returncode == 1
        assert "Iterations 1000 is less than the minimum 4096 required for SCRAM-SHA-256" in too_few.stderr
        removed = run(*configs, "--alter", "--delete-config", "SCRAM-SHA-512", "--entity-type", "users",
                      "--entity-name", "bob")  # fmt: skip
        assert removed.returncode == 0, removed.stderr
        assert not can_log_in(port, "bob", "bob-secret", "SCRAM-SHA-512")
        assert can_log_in(port, "bob", "bob-secret", "SCRAM-SHA-256")
        missing = run(*configs, "--alter", "--delete-config", "SCRAM-SHA-512", "--entity-type", "users",
                      "--entity-name", "bob")  # fmt: skip
        assert (
            missing.returncode == 1
            and "Attempt to delete a user credential that does not exist" in missing.stderr
        )
        everyone = run(*configs, "--describe", "--entity-type", "users")
        assert "user-principal 'bob' are SCRAM-SHA-256=iterations=8192" in everyone.stdout
        broker.kill()  # acknowledged changes survive a crash
        broker.start()
        assert can_log_in(port, "bob", "bob-secret")
    finally:
        broker.kill()


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("SCRAM-SHA-1=[name=a,password=b]", "The add-scram mechanism SCRAM-SHA-1 is not supported."),
        ("SCRAM-SHA-256=name=a,password=b", "Expected configuration string to start with ["),
        ("SCRAM-SHA-256=[password=b]", "You must supply 'name' to add-scram"),
        (
            "SCRAM-SHA-256=[name=a,saltedpassword=YWJj]",
            "You must supply 'salt' with 'saltedpassword' to add-scram",
        ),
        ("SCRAM-SHA-256=[name=a,password=b,colour=red]", "Unknown SCRAM configurations: colour"),
    ],
)
def test_add_scram_arguments_are_checked_as_kafka(tmp_path: Path, argument: str, message: str) -> None:
    from kcli.server.security.scram_bootstrap import ScramArgumentError, parse_add_scram

    with pytest.raises(ScramArgumentError) as exc:
        parse_add_scram(argument)
    assert str(exc.value) == message
