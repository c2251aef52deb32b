"""Two ``connect-distributed`` workers sharing a connector's tasks; one is killed, the other takes over."""

from __future__ import annotations

from pathlib import Path

from tests.broker_process import BrokerProcess
from tests.connect.helpers import WorkerProcess, rest
from tests.e2e.helpers import wait_until


def _statuses(port: int) -> dict[str, object]:
    reply = rest(port, "GET", "/connectors?expand=status")
    return reply.body if reply.status == 200 else {}


def _owners(port: int, name: str) -> list[tuple[str, str]]:
    status = _statuses(port).get(name, {}).get("status", {})
    return [(t["state"], t["worker_id"]) for t in status.get("tasks", [])]


def test_tasks_move_to_the_surviving_worker(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "broker").start()
    workers: list[WorkerProcess] = []
    try:
        settings = {
            "group.id": "connect-cluster",
            "config.storage.topic": "connect-configs",
            "config.storage.replication.factor": "1",
            "offset.storage.topic": "connect-offsets",
            "offset.storage.replication.factor": "1",
            "offset.storage.partitions": "5",
            "status.storage.topic": "connect-status",
            "status.storage.replication.factor": "1",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "1000",
            "consumer.session.timeout.ms": "6000",
            "consumer.heartbeat.interval.ms": "1000",
        }
        for name in ("a", "b"):
            workers.append(WorkerProcess(tmp_path / name, broker.bootstrap, "distributed", settings).start())
        first, second = workers
        source_file, sink_file = tmp_path / "in.txt", tmp_path / "out.txt"
        source_file.write_text("".join(f"line {i}\n" for i in range(100)))
        created = rest(
            first.port,
            "POST",
            "/connectors",
            {
                "name": "source",
                "config": {
                    "connector.class": "FileStreamSource",
                    "file": str(source_file),
                    "topic": "distributed-test",
                },
            },
        )
        assert created.status == 201, created.body
        created = rest(
            second.port,
            "POST",
            "/connectors",
            {
                "name": "sink",
                "config": {
                    "connector.class": "FileStreamSink",
                    "file": str(sink_file),
                    "topics": "distributed-test",
                    "tasks.max": 2,
                },
            },
        )
        assert created.status == 201, created.body
        assert {k: created.body[k] for k in ("name", "type")} == {"name": "sink", "type": "sink"}
        assert created.body["config"]["tasks.max"] == "2"  # JSON numbers become strings, as in Kafka
        # Either worker answers for the whole cluster, and the tasks run on both.
        everyone = {first.worker_id, second.worker_id}

        def spread() -> bool:
            owners = _owners(first.port, "sink") + _owners(first.port, "source")
            return (
                len(owners) == 3
                and {st for st, _w in owners} == {"RUNNING"}
                and {w for _s, w in owners} == everyone
            )

        assert wait_until(spread, 60), first.text() + second.text()
        assert wait_until(lambda: _statuses(first.port) == _statuses(second.port), 30)
        assert rest(second.port, "GET", "/connectors").body == ["sink", "source"]
        # Connect delivers at least once: a task moved by the rebalance above may copy a line twice
        first_lines = {f"line {i}" for i in range(100)}
        assert wait_until(
            lambda: sink_file.exists() and set(sink_file.read_text().splitlines()) == first_lines, 60
        ), (
            f"{len(sink_file.read_text().splitlines()) if sink_file.exists() else 'no'} lines copied\n"
            + first.text()
            + second.text()
        )

        # Kill one worker: its share moves to the survivor, which keeps copying.
        first.kill()
        assert wait_until(
            lambda: (
                _owners(second.port, "sink") == [("RUNNING", second.worker_id)] * 2
                and _owners(second.port, "source") == [("RUNNING", second.worker_id)]
            ),
            60,
        ), second.text()
        status = rest(second.port, "GET", "/connectors/source/status").body
        assert status["connector"] == {"state": "RUNNING", "worker_id": second.worker_id}
        with source_file.open("a") as out:
            out.write("".join(f"line {i}\n" for i in range(100, 150)))
        expected = {f"line {i}" for i in range(150)}
        assert wait_until(lambda: set(sink_file.read_text().splitlines()) == expected, 90), second.text()
    finally:
        for worker in workers:
            worker.stop()
        broker.stop()
