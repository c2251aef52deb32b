"""kcat against secured listeners: SASL/PLAIN and SCRAM over TLS, mutual TLS, a wrong password."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.server.security.secure_broker import MECHANISMS, SecureBroker

pytestmark = pytest.mark.skipif(
    shutil.which("kcat") is None, reason="kcat is not installed (.ci/run installs it)"
)


def kcat(conf: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    options = [item for key, value in conf.items() for item in ("-X", f"{key}={value}")]
    return subprocess.run(["kcat", *options, *args], input=stdin, capture_output=True, text=True, timeout=60)


CASES = [(p, m) for p in ("SASL_PLAINTEXT", "SASL_SSL") for m in MECHANISMS] + [("SSL", None)]


@pytest.mark.parametrize(("protocol", "mechanism"), CASES)
def test_kcat_produce_consume(secure_broker: SecureBroker, protocol: str, mechanism: str | None) -> None:
    conf = secure_broker.librdkafka(protocol, mechanism)
    topic = f"kcat-{uuid.uuid4().hex[:8]}"
    produced = kcat(conf, "-P", "-t", topic, stdin="one\ntwo\n")
    assert produced.returncode == 0, produced.stderr
    consumed = kcat(conf, "-C", "-t", topic, "-e", "-f", "%s\n")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ["one", "two"]


def test_kcat_wrong_password(secure_broker: SecureBroker) -> None:
    conf = secure_broker.librdkafka("SASL_SSL", "SCRAM-SHA-512", password="wrong")
    listing = kcat({**conf, "socket.timeout.ms": "5000"}, "-L", "-m", "5")
    assert listing.returncode != 0
    assert "Authentication failed" in listing.stderr
