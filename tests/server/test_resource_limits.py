"""Resource limits: descriptors, memory per connection and per request, connection counts.

File descriptors: the broker keeps at most half of its soft RLIMIT_NOFILE open for segment and
index files (an LRU of handles, ``kcli/server/storage/handles.py``), so the partition count is
bounded by disk and memory, not by descriptors; these tests start the broker with the limit
lowered. Broker-wide limits as Kafka's keys (issue #12): ``fetch.max.bytes``,
``queued.max.request.bytes``, ``max.connections``, ``max.connections.per.ip``, and the memory an
idle connection costs, read from /proc of the broker subprocess.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import resource
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess

TOPICS = 1000
PARTITIONS = 10
FD_LIMIT = 1024


@contextmanager
def fd_limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> Iterator[None]:
    """Subprocesses started inside the block run with RLIMIT_NOFILE lowered to ``limit``."""
    real_popen = subprocess.Popen

    def limited_popen(*args, **kwargs):
        kwargs["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", limited_popen)
    try:
        yield
    finally:
        monkeypatch.setattr(subprocess, "Popen", real_popen)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def create_topics(admin: AdminClient, names: list[str], partitions: int, per_request: int = 100) -> None:
    for start in range(0, len(names), per_request):
        batch = [NewTopic(n, partitions, 1) for n in names[start : start + per_request]]
        for fut in admin.create_topics(batch, operation_timeout=60, request_timeout=120).values():
            fut.result(180)


def produce_and_fetch(bootstrap: str, targets: list[tuple[str, int]], tag: bytes) -> None:
    """One record to each of ``targets``, then read every one of them back by assignment."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for topic, partition in targets:
        producer.produce(topic, value=tag + f" {topic}/{partition}".encode(), partition=partition)
    assert producer.flush(60) == 0
    assert_fetch(bootstrap, targets, tag)


def assert_fetch(bootstrap: str, targets: list[tuple[str, int]], tag: bytes) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "fd-test", "enable.auto.commit": False})
    consumer.assign([TopicPartition(t, p, 0) for t, p in targets])
    wanted = {tag + f" {t}/{p}".encode() for t, p in targets}
    got: set[bytes] = set()
    deadline = time.monotonic() + 60
    while got != wanted and time.monotonic() < deadline:
        for msg in consumer.consume(500, 1.0):
            if msg.error() is None:
                got.add(msg.value())
    consumer.close()
    assert got == wanted


def test_ten_thousand_partitions_under_ulimit_1024(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 topics x 10 partitions with `ulimit -n 1024`; they survive kill -9 and serve again."""
    with fd_limit(monkeypatch, FD_LIMIT):
        broker = BrokerProcess(tmp_path).start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        names = [f"many-{i:04d}" for i in range(TOPICS)]
        t0 = time.monotonic()
        create_topics(admin, names, PARTITIONS)
        created_s = time.monotonic() - t0
        assert open_fds(broker.pid) < FD_LIMIT
        targets = [(names[i], i % PARTITIONS) for i in range(0, TOPICS, 7)]
        produce_and_fetch(broker.bootstrap, targets, b"before")
        assert open_fds(broker.pid) < FD_LIMIT
        # CreateTopics answered, so the topics are durable: a crash right now loses none of them.
        broker.kill()
        with fd_limit(monkeypatch, FD_LIMIT):
            broker.start(timeout=180)
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=30).topics
        assert all(len(topics[n].partitions) == PARTITIONS for n in names)
        assert_fetch(broker.bootstrap, targets, b"before")
        assert open_fds(broker.pid) < FD_LIMIT
        print(f"created {TOPICS} x {PARTITIONS} partitions in {created_s:.1f} s")
    except Exception:
        print("broker log tail:\n" + "".join(broker.output[-40:]))
        raise
    finally:
        broker.kill()


def test_topics_survive_kill_9_right_after_create_topics(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path).start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        names = [f"durable-{i}" for i in range(50)]
        create_topics(admin, names, 4, per_request=50)
        broker.kill()
        broker.start()
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=30).topics
        assert all(len(topics[n].partitions) == 4 for n in names)
    finally:
        broker.kill()


def test_a_topic_whose_logs_cannot_be_created_answers_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError while opening the logs (here a file where a partition directory must go) undoes
    the topic and answers an error code instead of closing the client's connection."""
    with fd_limit(monkeypatch, 256):
        broker = BrokerProcess(tmp_path).start()
    try:
        (broker.log_dirs / "blocked-7").write_text("not a directory")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        with pytest.raises(KafkaException) as exc:
            admin.create_topics([NewTopic("blocked", num_partitions=10, replication_factor=1)])[
                "blocked"
            ].result(30)
        assert "Could not create the logs of topic 'blocked'" in str(exc.value)
        # The broker still serves, and the failed topic left no partition directory behind; with
        # only 256 descriptors it still creates far more partitions than it may keep open.
        admin.create_topics([NewTopic("fits", num_partitions=200, replication_factor=1)])["fits"].result(60)
        topics = admin.list_topics(timeout=10).topics
        assert "fits" in topics and "blocked" not in topics
        assert not any(p.is_dir() and p.name.startswith("blocked-") for p in broker.log_dirs.iterdir())
        assert open_fds(broker.pid) < 256
    finally:
        broker.kill()


# --- broker-wide limits (issue #12): fetch.max.bytes, queued.max.request.bytes, connections ------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


API_VERSIONS_V0 = struct.pack(">ihhih", 10, 18, 0, 1, 0)  # size, key, version, correlation, client ""


def api_versions_round_trip(sock: socket.socket) -> None:
    sock.sendall(API_VERSIONS_V0)
    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    recv_exactly(sock, size)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the broker")
        data += chunk
    return data


def open_silent(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that send nothing, opened at the pace the broker accepts them: after
    each 25, a round trip on one more connection (accepted after them) shows they are all in, so
    the burst never overflows Kafka's 50-connection listen backlog."""
    socks: list[socket.socket] = []
    for start in range(0, count, 25):
        socks += [
            socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(min(25, count - start))
        ]
        with socket.create_connection(("127.0.0.1", port), timeout=30) as probe:
            api_versions_round_trip(probe)
    return socks


def fill_partitions(
    bootstrap: str, topic: str, partitions: int, per_partition: int, batch_size: int = 1_000_000
) -> None:
    """``per_partition`` bytes of 16 KiB records into every partition, in ``batch_size`` batches."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": batch_size})
    value = b"v" * 16384
    for partition in range(partitions):
        for _ in range(per_partition // len(value)):
            producer.produce(topic, value, partition=partition)
        producer.poll(0)
    assert producer.flush(60) == 0


def raw_fetch(port: int, topic: str, partitions: int, max_bytes: int, partition_max_bytes: int) -> list[int]:
    """One Fetch v12 from offset 0 of every partition: the records bytes returned per partition."""
    from kcli.server.cluster.kafka_connection import KafkaConnection

    async def go() -> list[int]:
        conn = KafkaConnection("127.0.0.1", port, "limits-test")
        body = {
            "replica_id": -1,
            "max_wait": 0,
            "min_bytes": 1,
            "max_bytes": max_bytes,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": p,
                            "current_leader_epoch": -1,
                            "fetch_offset": 0,
                            "last_fetched_epoch": -1,
                            "log_start_offset": -1,
                            "partition_max_bytes": partition_max_bytes,
                        }
                        for p in range(partitions)
                    ],
                }
            ],
            "forgotten_topics_data": [],
            "rack_id": "",
        }
        try:
            response = await conn.request(1, 12, body)
        finally:
            await conn.close()
        parts = response.responses[0].partitions
        assert all(p.error_code == 0 for p in parts)
        return [len(p.records or b"") for p in sorted(parts, key=lambda p: p.partition_index)]

    return asyncio.run(go())


def test_fetch_response_capped_at_kafkas_55_mib(tmp_path: Path) -> None:
    """A Fetch asking for 2 GiB over 64 partitions of 1 MiB each gets at most fetch.max.bytes
    (55 MiB by default), and the broker's memory does not grow by the whole topic."""
    broker = BrokerProcess(tmp_path).start()
    try:
        fill_partitions(broker.bootstrap, "wide", 64, 1 << 20)
        base = rss_kib(broker.pid)
        sizes = raw_fetch(broker.port, "wide", 64, 2**31 - 1, 10 << 20)
        grown_mib = (rss_kib(broker.pid) - base) / 1024
        assert sum(sizes) <= 55 << 20
        assert sum(sizes) > 50 << 20  # it is a cap, not a refusal
        assert grown_mib < 130, f"broker RSS grew {grown_mib:.0f} MiB for one 55 MiB response"
    finally:
        broker.kill()


def test_fetch_max_bytes_and_partition_limits_as_kafka_applies_them(tmp_path: Path) -> None:
    """fetch.max.bytes=2 MiB caps every response, the request's own max_bytes and partition max
    bytes apply within it, and the first partition with data always returns one whole batch even
    when that batch is bigger than every limit, so a consumer is never stuck."""
    broker = BrokerProcess(tmp_path, overrides={"fetch.max.bytes": str(2 << 20)}).start()
    try:
        fill_partitions(broker.bootstrap, "capped", 4, 1 << 20, batch_size=65536)  # 4 records a batch
        sizes = raw_fetch(broker.port, "capped", 4, 2**31 - 1, 10 << 20)
        assert 1 << 20 < sum(sizes) <= 2 << 20
        sizes = raw_fetch(broker.port, "capped", 4, 300_000, 10 << 20)  # the request's own cap
        assert 0 < sum(sizes) <= 300_000
        sizes = raw_fetch(broker.port, "capped", 4, 2**31 - 1, 100_000)  # partition max bytes
        assert all(0 < s <= 100_000 for s in sizes)
        sizes = raw_fetch(broker.port, "capped", 4, 10, 10)  # smaller than any batch
        assert sizes[0] > 10 and sizes[1:] == [0, 0, 0]
        # A real consumer reads all 4 MiB through 2 MiB responses.
        consumer = Consumer(
            {"bootstrap.servers": broker.bootstrap, "group.id": "capped", "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition("capped", p, 0) for p in range(4)])
        expected = 4 * ((1 << 20) // 16384)
        got = 0
        deadline = time.monotonic() + 60
        while got < expected and time.monotonic() < deadline:
            got += sum(1 for m in consumer.consume(1000, 1.0) if m.error() is None)
        consumer.close()
        assert got == expected
    finally:
        broker.kill()


def test_a_thousand_idle_connections_cost_under_50_mb(tmp_path: Path) -> None:
    """Each connection completes one ApiVersions round trip (as a client does) and goes quiet;
    a second thousand sends nothing. The broker keeps serving a real client throughout."""
    broker = BrokerProcess(tmp_path).start()
    socks: list[socket.socket] = []
    try:
        produce_and_fetch(broker.bootstrap, [("idle-warm", 0)], b"warm")
        base = rss_kib(broker.pid)
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", broker.port), timeout=30)
            socks.append(sock)
            api_versions_round_trip(sock)
        talking_mib = (rss_kib(broker.pid) - base) / 1024
        socks += open_silent(broker.port, 1000)
        produce_and_fetch(broker.bootstrap, [("idle-probe", 0)], b"served")
        all_mib = (rss_kib(broker.pid) - base) / 1024
        assert talking_mib < 50, f"1,000 idle connections took {talking_mib:.1f} MiB"
        assert all_mib < 100, f"2,000 idle connections took {all_mib:.1f} MiB"
    finally:
        for sock in socks:
            sock.close()
        broker.kill()


def _flood(port: int, prefix: int, body: int, timeout: float, keep: list[socket.socket]) -> bool:
    """Send a ``prefix`` length and ``body`` bytes of it, keeping the connection open in ``keep``;
    True when all was taken (by the broker or, up to a few MiB, by the kernel's socket buffers)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    keep.append(sock)
    try:
        sock.sendall(struct.pack(">i", prefix) + bytes(body))
        return True
    except TimeoutError:
        return False


def test_queued_max_request_bytes_mutes_connections_under_memory_pressure(tmp_path: Path) -> None:
    """queued.max.request.bytes=16 MiB: of 20 connections each sending 8 MiB of a 16 MiB request,
    one is read (its reservation empties the pool), the others are muted; the broker holds what
    one request may take, not 160 MiB; once they go, memory returns and clients are served."""
    broker = BrokerProcess(tmp_path, overrides={"queued.max.request.bytes": str(16 << 20)}).start()
    try:
        produce_and_fetch(broker.bootstrap, [("pool-probe", 0)], b"before")
        base = rss_kib(broker.pid)
        keep: list[socket.socket] = []
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            done = list(pool.map(lambda _: _flood(broker.port, 16 << 20, 12 << 20, 3.0, keep), range(20)))
        grown_mib = (rss_kib(broker.pid) - base) / 1024
        for sock in keep:
            sock.close()
        assert 1 <= sum(done) <= 2, done
        assert grown_mib < 40, f"broker RSS grew {grown_mib:.0f} MiB"
        produce_and_fetch(broker.bootstrap, [("pool-after", 0)], b"after")
    finally:
        broker.kill()


def test_max_connections_per_ip_closes_the_new_connection(tmp_path: Path) -> None:
    broker = BrokerProcess(
        tmp_path,
        overrides={"max.connections.per.ip": "1000", "max.connections.per.ip.overrides": "localhost:3"},
    ).start()
    socks: list[socket.socket] = []
    try:
        for _ in range(3):
            socks.append(socket.create_connection(("127.0.0.1", broker.port), timeout=10))
            api_versions_round_trip(socks[-1])
        with (
            socket.create_connection(("127.0.0.1", broker.port), timeout=10) as fourth,
            pytest.raises((ConnectionError, OSError)),
        ):
            api_versions_round_trip(fourth)
        assert any(
            "Rejected connection from /127.0.0.1, address already has the configured maximum of 3 connections."
            in line
            for line in broker.output
        )
        socks.pop().close()
        deadline = time.monotonic() + 10
        while True:  # the broker sees the close on its next loop turn
            with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as again:
                try:
                    api_versions_round_trip(again)
                    break
                except (ConnectionError, OSError):
                    assert time.monotonic() < deadline
    finally:
        for sock in socks:
            sock.close()
        broker.kill()


@pytest.mark.parametrize("key", ["max.connections", "listener.name.plaintext.max.connections"])
def test_max_connections_holds_new_connections_until_one_closes(tmp_path: Path, key: str) -> None:
    """Kafka's acceptor stops accepting at max.connections (broker-wide, or the listener's own
    limit): the next connection waits in the backlog, unanswered, and is served as soon as
    another connection closes."""
    broker = BrokerProcess(tmp_path, overrides={key: "3"}).start()
    socks: list[socket.socket] = []
    try:
        for _ in range(3):
            socks.append(socket.create_connection(("127.0.0.1", broker.port), timeout=10))
            api_versions_round_trip(socks[-1])
        waiting = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
        socks.append(waiting)
        waiting.sendall(API_VERSIONS_V0)
        waiting.settimeout(1.0)
        with pytest.raises(TimeoutError):
            waiting.recv(4)  # not accepted: nothing answers
        socks.pop(0).close()
        waiting.settimeout(10)
        (size,) = struct.unpack(">i", recv_exactly(waiting, 4))
        assert size > 0
        assert any("reached its connection limit" in line for line in broker.output)
    finally:
        for sock in socks:
            sock.close()
        broker.kill()
