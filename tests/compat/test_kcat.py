"""kcat (librdkafka's command-line client): -L metadata, -P with snappy, -C -e."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.broker_process import BrokerProcess

pytestmark = pytest.mark.skipif(
    shutil.which("kcat") is None, reason="kcat is not installed (.ci/run installs it)"
)


def kcat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_produce_snappy_then_consume_and_list(shared_broker: BrokerProcess) -> None:
    topic = f"kcat-{uuid.uuid4().hex[:8]}"
    lines = [f"key{i}:value {i}" for i in range(50)]
    produced = kcat(
        "-b", shared_broker.bootstrap, "-P", "-t", topic, "-z", "snappy", "-K:", stdin="\n".join(lines) + "\n"
    )
    assert produced.returncode == 0, produced.stderr

    consumed = kcat("-b", shared_broker.bootstrap, "-C", "-t", topic, "-e", "-f", "%k=%s@%o\n")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == [f"key{i}=value {i}@{i}" for i in range(50)]

    listing = kcat("-b", shared_broker.bootstrap, "-L", "-t", topic)
    assert listing.returncode == 0, listing.stderr
    assert f'topic "{topic}" with 1 partitions:' in listing.stdout
    assert "partition 0, leader 0, replicas: 0, isrs: 0" in listing.stdout
