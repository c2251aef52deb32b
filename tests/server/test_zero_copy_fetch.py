"""Fetch served from the segment files (sendfile on plaintext listeners) and the fetch purgatory,
against a real broker with raw requests: the bytes a consumer receives are the batches produced,
size caps are honoured, and a waiting Fetch is completed by the append that satisfies it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcli.protocol.records import build_batch, decode_records, iter_batches
from tests.broker_process import BrokerProcess
from tests.kafka_wire import Connection, code

TOPIC = "zero-copy"
RECORD = 1024


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("zero-copy-broker"))
    proc.start()
    try:
        with Connection(proc.bootstrap) as conn:
            created = conn.request(
                19,
                4,
                {
                    "topics": [
                        {
                            "name": name,
                            "num_partitions": 1,
                            "replication_factor": 1,
                            "assignments": [],
                            "configs": [],
                        }
                        for name in (TOPIC, "waiting", "capped")
                    ],
                    "timeout": 30_000,
                },
            )
            assert all(code(t.error_code) == 0 for t in created.topics)
        yield proc
    finally:
        proc.stop()


def _produce(conn: Connection, topic: str, values: list[bytes]) -> int:
    response = conn.request(
        0,
        7,
        {
            "acks": 1,
            "timeout": 10_000,
            "topic_data": [
                {
                    "name": topic,
                    "partition_data": [{"index": 0, "records": build_batch([(None, v) for v in values])}],
                }
            ],
        },
    )
    part = response.responses[0].partition_responses[0]
    assert code(part.error_code) == 0
    return part.base_offset


def _fetch(
    conn: Connection,
    topic: str,
    offset: int,
    *,
    partition_max: int = 8 << 20,
    max_bytes: int = 50 << 20,
    min_bytes: int = 1,
    max_wait_ms: int = 0,
):
    response = conn.request(
        1,
        11,
        {
            "replica_id": -1,
            "max_wait": max_wait_ms,
            "min_bytes": min_bytes,
            "max_bytes": max_bytes,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": 0,
                            "current_leader_epoch": -1,
                            "fetch_offset": offset,
                            "log_start_offset": -1,
                            "partition_max_bytes": partition_max,
                        }
                    ],
                }
            ],
            "forgotten_topics_data": [],
            "rack_id": "",
        },
    )
    return response.responses[0].partitions[0]


def _records(conn: Connection, topic: str, offset: int, **options: int) -> bytes:
    part = _fetch(conn, topic, offset, **options)
    assert code(part.error_code) == 0
    return part.records or b""


def test_a_large_fetch_is_the_batches_produced_byte_for_byte(broker: BrokerProcess) -> None:
    """Megabytes of 1 KiB records come back whole (regions well above the 32 KiB that are read
    into the frame, so these go through sendfile), in offset order, values intact."""
    values = [os.urandom(RECORD) for _ in range(4096)]
    with Connection(broker.bootstrap) as conn:
        for i in range(0, len(values), 512):
            _produce(conn, TOPIC, values[i : i + 512])
        got: list[bytes] = []
        offset = 0
        while offset < len(values):
            records = _records(conn, TOPIC, offset)
            batch = [r for r in decode_records(records) if r.offset >= offset]
            assert batch, f"nothing fetched at {offset}"
            assert [r.offset for r in batch] == list(range(offset, offset + len(batch)))
            got.extend(r.value for r in batch)
            offset += len(batch)
    assert got == values


def test_partition_and_response_caps_cut_at_whole_batches(broker: BrokerProcess) -> None:
    with Connection(broker.bootstrap) as conn:
        for _ in range(4):
            _produce(conn, "capped", [os.urandom(RECORD) for _ in range(64)])  # ~66 KiB batches
        whole = _records(conn, "capped", 0)
        sizes = [h.size for _, h in iter_batches(whole)]
        assert len(sizes) == 4
        # partition_max_bytes two and a half batches: two whole batches
        two = _records(conn, "capped", 0, partition_max=sizes[0] * 2 + sizes[0] // 2)
        assert len(two) == sizes[0] + sizes[1] and two == whole[: len(two)]
        # fetch.max.bytes (the response cap) below one batch: still the first batch whole (KIP-74)
        one = _records(conn, "capped", 0, max_bytes=100)
        assert one == whole[: sizes[0]]


def test_a_waiting_fetch_completes_with_the_append_that_reaches_min_bytes(broker: BrokerProcess) -> None:
    """Three appends of 1 KiB against min_bytes of 2.5 KiB: the response holds all three, so it
    was not completed by the first two appends, and it came well before max_wait (30 s)."""
    start_offset = 0
    result: dict[str, object] = {}

    def wait() -> None:
        with Connection(broker.bootstrap, timeout=60) as conn:
            began = time.monotonic()
            result["records"] = _records(
                conn, "waiting", start_offset, min_bytes=int(RECORD * 2.5), max_wait_ms=30_000
            )
            result["elapsed"] = time.monotonic() - began

    waiter = threading.Thread(target=wait)
    with Connection(broker.bootstrap) as conn:
        waiter.start()
        _await_waiting_fetch(broker)
        for i in range(3):
            _produce(conn, "waiting", [bytes([i]) * RECORD])
    waiter.join(60)
    assert not waiter.is_alive()
    records = decode_records(result["records"])  # type: ignore[arg-type]
    assert [r.value[:1] for r in records] == [b"\x00", b"\x01", b"\x02"]
    assert result["elapsed"] < 25  # type: ignore[operator]


def _await_waiting_fetch(broker: BrokerProcess) -> None:
    """Until the broker holds the fetch connection (the request is sent right after connecting)."""
    deadline = time.monotonic() + 10
    port = broker.port
    while time.monotonic() < deadline:
        established = _established_to(port)
        if established >= 2:  # the producer's connection and the waiting fetch's
            return
        time.sleep(0.01)
    raise AssertionError("the waiting fetch never connected")


def _established_to(port: int) -> int:
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


def test_a_fetch_of_a_deleted_topic_does_not_wait_out_max_wait(broker: BrokerProcess) -> None:
    with Connection(broker.bootstrap) as conn:
        created = conn.request(
            19,
            4,
            {
                "topics": [
                    {
                        "name": "doomed",
                        "num_partitions": 1,
                        "replication_factor": 1,
                        "assignments": [],
                        "configs": [],
                    }
                ],
                "timeout": 30_000,
            },
        )
        assert code(created.topics[0].error_code) == 0
    result: dict[str, float] = {}

    def wait() -> None:
        with Connection(broker.bootstrap, timeout=60) as conn:
            began = time.monotonic()
            part = _fetch(conn, "doomed", 0, min_bytes=1 << 20, max_wait_ms=30_000)
            result["elapsed"] = time.monotonic() - began
            result["error"] = code(part.error_code)

    waiter = threading.Thread(target=wait)
    with Connection(broker.bootstrap) as conn:
        waiter.start()
        _await_waiting_fetch(broker)
        deleted = conn.request(20, 4, {"topic_names": ["doomed"], "timeout": 30_000})
        assert code(deleted.responses[0].error_code) == 0
    waiter.join(60)
    assert result["error"] != 0  # UNKNOWN_TOPIC_OR_PARTITION, at once rather than after 30 s
    assert result["elapsed"] < 25
