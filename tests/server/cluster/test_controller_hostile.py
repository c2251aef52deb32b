"""Nothing a peer sends to a controller takes it down: malformed lines close that connection,
well-formed requests with wrong arguments get an error answer, and brokers keep working."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster


@pytest.fixture(params=["kraft", "zookeeper"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 1, mode=request.param)
    c.start()
    yield c
    c.stop()


def controller_port(cluster: Cluster) -> int:
    if cluster.controller is not None:
        return cluster.controller.port
    assert cluster.zookeeper is not None
    return cluster.zookeeper.port


def exchange(port: int, payload: bytes) -> bytes:
    """Send ``payload``; return the answer line, or b"" when the controller closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(payload)
            with sock.makefile("rb") as fh:
                return fh.readline()
        except (ConnectionResetError, BrokenPipeError):
            return b""  # closed while we were still sending: that is the expected answer too


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b'{"op": "ctl_create_topics"}\n', "BadArguments"),
        (b'{"op": "ctl_create_topics", "topics": [{"partitions": 1}]}\n', "BadArguments"),
        (b'{"op": "ctl_alter_configs", "name": "t", "configs": [1, 2]}\n', "BadArguments"),
        (b'{"op": "ctl_alter_partition", "topic": "t", "partition": "zero"}\n', "BadArguments"),
        (b'{"op": "ctl_register", "id": "x"}\n', "BadArguments"),
        (b'{"op": "ctl_no_such_thing"}\n', "Unimplemented"),
    ],
)
def test_wrong_arguments_get_an_error_answer(cluster: Cluster, payload: bytes, error: str) -> None:
    answer = json.loads(exchange(controller_port(cluster), payload))
    assert answer["ok"] is False and answer["error"] == error


@pytest.mark.parametrize(
    "payload",
    [b"garbage\n", b"[1, 2]\n", b"{" + b"x" * (3 << 20) + b"\n"],
    ids=["garbage", "array", "3-MiB-line"],
)
def test_malformed_lines_close_only_that_connection(cluster: Cluster, payload: bytes) -> None:
    answer = exchange(controller_port(cluster), payload)
    assert answer == b"" or json.loads(answer)["ok"] is False
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("after", 1, 1)])["after"].result(30)  # the controller still serves
    assert "after" in admin.list_topics(timeout=10).topics
