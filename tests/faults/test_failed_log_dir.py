"""A failed log dir takes only its own partitions offline for writes: a broker with two log dirs,
one of them a small tmpfs that fills up. Produce to its partition answers KAFKA_STORAGE_ERROR
while the partition in the other dir takes every record; both are read back; ``kafka-log-dirs
--describe`` shows the error on the failed dir only (Kafka's KafkaStorageException), and a move to
it is refused with KAFKA_STORAGE_ERROR; once space is freed, all is as before.

(kcli keeps a failing dir's reads served and retries its writes, see
``kcli/server/storage/dir_health.py``; in a cluster its leaders do not move elsewhere.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.errors import ErrorCode

from kcli.tools import log_dirs as log_dirs_tool
from kcli.tools.cluster_wire import ClusterView
from tests.e2e.helpers import wait_until
from tests.faults.helpers import read_partition
from tests.faults.test_disk_full import FullDiskBroker, small_disk


def _produce(bootstrap: str, topic: str, count: int) -> tuple[dict[int, bytes], set[int]]:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "retries": 0,
            "message.timeout.ms": 10000,
            "log_level": 0,
        }
    )
    acked: dict[int, bytes] = {}
    errors: set[int] = set()

    def on_delivery(err, msg):  # type: ignore[no-untyped-def]
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            errors.add(err.code())

    for i in range(count):
        producer.produce(topic, f"{topic}-{i:05d}-".encode().ljust(1000, b"."), on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    return acked, errors


def _alter(bootstrap: str, topic: str, path: str) -> int:
    view = ClusterView(bootstrap)
    try:
        view.load([])
        body = {"dirs": [{"path": path, "topics": [{"name": topic, "partitions": [0]}]}]}
        return int(view.request(34, 2, body, node_id=0).results[0].partitions[0].error_code)
    finally:
        view.close()


def _dir_errors(bootstrap: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str | None]:
    capsys.readouterr()
    assert log_dirs_tool.main(["--bootstrap-server", bootstrap, "--describe"]) == 0
    described = json.loads(capsys.readouterr().out.splitlines()[2])
    return {d["logDir"]: d["error"] for d in described["brokers"][0]["logDirs"]}


def test_a_full_log_dir_fails_only_its_partitions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    normal = tmp_path / "normal"
    with small_disk(tmp_path / "small") as disk:
        broker = FullDiskBroker(tmp_path / "run", disk, (normal,)).start()
        small = disk.mountpoint / "logs"
        try:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            for topic in ("healthy", "failing"):
                admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
            # Each topic in its own dir, put there with AlterReplicaLogDirs (empty logs move at once).
            assert _alter(broker.bootstrap, "healthy", str(normal)) == ErrorCode.none
            assert _alter(broker.bootstrap, "failing", str(small)) == ErrorCode.none
            assert wait_until(
                lambda: (normal / "healthy-0").is_dir() and (disk.view / "logs" / "failing-0").is_dir(), 30
            )
            healthy, errors = _produce(broker.bootstrap, "healthy", 100)
            assert len(healthy) == 100 and not errors
            failing, errors = _produce(broker.bootstrap, "failing", 100)
            assert len(failing) == 100 and not errors
            assert _dir_errors(broker.bootstrap, capsys) == {str(normal): None, str(small): None}

            filler = disk.fill()
            more, errors = _produce(broker.bootstrap, "failing", 50)
            failing.update(more)
            assert errors == {KafkaError.KAFKA_STORAGE_ERROR}
            more, errors = _produce(broker.bootstrap, "healthy", 100)  # the other dir takes writes
            assert len(more) == 100 and not errors
            healthy.update(more)
            for topic, acked in (("healthy", healthy), ("failing", failing)):
                records, fetch_errors = read_partition(broker.bootstrap, topic, 0)
                assert not fetch_errors and dict(records) == acked
            assert _dir_errors(broker.bootstrap, capsys) == {
                str(normal): None,
                str(small): "org.apache.kafka.common.errors.KafkaStorageException",
            }
            assert _alter(broker.bootstrap, "healthy", str(small)) == ErrorCode.kafka_storage_error
            assert (normal / "healthy-0").is_dir()

            filler.unlink()
            more, errors = _produce(broker.bootstrap, "failing", 20)
            assert len(more) == 20 and not errors
            assert _dir_errors(broker.bootstrap, capsys) == {str(normal): None, str(small): None}
        finally:
            broker.stop()
