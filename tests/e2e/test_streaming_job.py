"""The lecture's streaming job (examples/avg_age_stream.py): the slides' three records and 1,000
more give the right running aggregate in ``avg_age``; killed with -9 inside one of its
transactions while records stream in, and restarted on its checkpoint, it resumes where its last
committed checkpoint left it: a read_committed reader of ``avg_age`` sees one row per count, 1 to
1,003, each with the average of exactly that many records (nothing counted twice or lost), and the
rows of the transaction the kill cut short are in the log, aborted."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import kill_inside_a_transaction
from tests.e2e.helpers import REPO_ROOT, wait_until

SLIDES = [
    '{"id": 1, "firstname": "James", "lastname": "Bond", "age": 35}',
    '{"id": 2, "firstname": "Harry", "lastname": "Potter", "age": 16}',
    '{"id": 3, "firstname": "Bobin", "lastname": "Hook", "age": 37}',
]


def _results(bootstrap: str, isolation: str = "read_committed") -> list[tuple[str, dict[str, float]]]:
    """Every row of ``avg_age`` a consumer with ``isolation`` sees, up to the end it reports."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "avg-age-check",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
        }
    )
    try:
        meta = consumer.list_topics("avg_age", timeout=10).topics.get("avg_age")
        if meta is None or meta.error is not None:
            return []
        consumer.assign([TopicPartition("avg_age", 0, 0)])
        out = []
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "no end of avg_age"
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                assert message.error().code() == -191, message.error()  # _PARTITION_EOF
                return out
            out.append((message.key().decode(), json.loads(message.value())))
    finally:
        consumer.close()


def _job(bootstrap: str, checkpoint: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO_ROOT / "examples/avg_age_stream.py"),
            "--bootstrap-server",
            bootstrap,
            "--checkpoint-location",
            str(checkpoint),
            "--commit-interval",
            "0.5",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_streaming_job_resumes_without_double_counting(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "broker").start()
    job = None
    try:
        bootstrap = broker.bootstrap
        more = [
            json.dumps({"id": 4 + i, "firstname": "F", "lastname": "L", "age": 18 + i % 50})
            for i in range(1000)
        ]
        producer = Producer({"bootstrap.servers": bootstrap})
        for line in SLIDES:
            producer.produce("json_topic", value=line.encode())
        assert producer.flush(30) == 0
        checkpoint, log = tmp_path / "checkpoint", tmp_path / "job.log"
        job = _job(bootstrap, checkpoint, log)
        assert wait_until(lambda: any(key == "3" for key, _v in _results(bootstrap)), 90), log.read_text()
        assert _results(bootstrap)[:3] == [
            ("1", {"avg_age": 35.0, "count": 1}),
            ("2", {"avg_age": 25.5, "count": 2}),
            ("3", {"avg_age": 29.333333333333332, "count": 3}),
        ]

        def feed() -> None:
            for line in more:
                producer.produce("json_topic", value=line.encode())
                producer.poll(0)
                time.sleep(0.003)  # a steady stream, so the job's transactions are open while it runs
            producer.flush(30)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        process_file = checkpoint / "avg-age-stream" / "kafka-streams-process-metadata"
        transactional_id = f"avg-age-stream-{json.loads(process_file.read_text())['processId']}"
        kill_inside_a_transaction(job, bootstrap, transactional_id, "avg_age")
        feeder.join(60)
        assert not feeder.is_alive()

        job = _job(bootstrap, checkpoint, log)  # on the same checkpoint: it takes over at once
        ages = [35, 16, 37] + [18 + i % 50 for i in range(1000)]
        expected = {"avg_age": sum(ages) / len(ages), "count": 1003}
        assert wait_until(lambda: _results(bootstrap)[-1:] == [("1003", expected)], 120), log.read_text()
        results = _results(bootstrap)
        assert [value["count"] for _key, value in results] == list(range(1, 1004))  # each row once
        for key, value in results:
            count = value["count"]
            assert key == str(count)
            assert value["avg_age"] == sum(ages[:count]) / count
        assert len(_results(bootstrap, "read_uncommitted")) > len(results)  # the cut transaction's rows
    finally:
        if job is not None and job.poll() is None:
            job.terminate()
            job.wait(30)
        broker.stop()
