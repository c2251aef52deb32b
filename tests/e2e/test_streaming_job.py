"""The lecture's streaming job (examples/avg_age_stream.py): the slides' three records and 1,000
more give the right running aggregate in ``avg_age``; killed (SIGKILL) mid-stream and restarted,
it resumes from its checkpoint without counting any record twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.broker_process import BrokerProcess
from tests.e2e.helpers import REPO_ROOT, wait_until

SLIDES = [
    '{"id": 1, "firstname": "James", "lastname": "Bond", "age": 35}',
    '{"id": 2, "firstname": "Harry", "lastname": "Potter", "age": 16}',
    '{"id": 3, "firstname": "Bobin", "lastname": "Hook", "age": 37}',
]


def _results(bootstrap: str) -> list[tuple[str, dict[str, float]]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "avg-age-check", "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics("avg_age", timeout=10).topics.get("avg_age")
        if meta is None or meta.error is not None:
            return []
        _low, high = consumer.get_watermark_offsets(TopicPartition("avg_age", 0), timeout=10)
        if high == 0:
            return []
        consumer.assign([TopicPartition("avg_age", 0, 0)])
        out = []
        while len(out) < high:
            message = consumer.poll(10)
            if message is None:
                break
            if not message.error():
                out.append((message.key().decode(), json.loads(message.value())))
        return out
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
        first = _results(bootstrap)
        assert first[:3] == [
            ("1", {"avg_age": 35.0, "count": 1}),
            ("2", {"avg_age": 25.5, "count": 2}),
            ("3", {"avg_age": 29.333333333333332, "count": 3}),
        ]
        for line in more:
            producer.produce("json_topic", value=line.encode())
        assert producer.flush(30) == 0
        assert wait_until(lambda: len(_results(bootstrap)) >= 300, 90), log.read_text()
        job.kill()  # mid-stream, between checkpoints
        job.wait()
        job = _job(bootstrap, checkpoint, log)
        ages = [35, 16, 37] + [18 + i % 50 for i in range(1000)]
        expected = {"avg_age": sum(ages) / len(ages), "count": 1003}
        assert wait_until(lambda: _results(bootstrap)[-1:] == [("1003", expected)], 120), log.read_text()
        results = _results(bootstrap)
        assert max(value["count"] for _key, value in results) == 1003  # never counted twice
        for key, value in results:
            count = value["count"]
            assert key == str(count)
            assert value["avg_age"] == sum(ages[:count]) / count
    finally:
        if job is not None and job.poll() is None:
            job.terminate()
            job.wait(30)
        broker.stop()
