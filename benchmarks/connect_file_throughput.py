"""Kafka Connect's FileStream source and sink throughput, in lines per second (printed, never asserted).

Starts the kcli broker (or uses ``--against HOST:PORT``, e.g. an Apache Kafka broker, for a
side-by-side run with the same worker), writes ``--lines`` lines of ``--line-bytes`` bytes to a
file, starts ``connect-standalone`` with the quickstart's FileStreamSource and FileStreamSink
(JsonConverter with schemas, as the quickstart's worker file) and measures:

* source: lines per second from the worker's start until the topic holds every line;
* sink: lines per second from the worker's start until the sink file holds every line
  (the sink starts reading while the source is still writing, so this is end to end).

    python benchmarks/connect_file_throughput.py [--lines 200000] [--line-bytes 100] [--against HOST:PORT]
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.broker_process import BrokerProcess, free_port


@contextlib.contextmanager
def kcli_broker() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = BrokerProcess(Path(tmp)).start()
        try:
            yield broker.bootstrap
        finally:
            broker.stop()


def topic_end(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watch"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in meta.partitions
        )
    finally:
        consumer.close()


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def run(bootstrap: str, lines: int, line_bytes: int, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        topic = f"connect-bench-{uuid.uuid4().hex[:8]}"
        source, sink = work / "in.txt", work / "out.txt"
        body = "x" * max(0, line_bytes - 8)
        with source.open("w") as out:
            for i in range(lines):
                out.write(f"{i:07d} {body}\n")
        port = free_port()
        (work / "worker.properties").write_text(
            f"bootstrap.servers={bootstrap}\n"
            "key.converter=org.apache.kafka.connect.json.JsonConverter\n"
            "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
            f"offset.storage.file.filename={work / 'offsets'}\n"
            "offset.flush.interval.ms=10000\n"
            f"listeners=http://127.0.0.1:{port}\n"
        )
        (work / "source.properties").write_text(
            f"name=bench-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={source}\ntopic={topic}\n"
        )
        (work / "sink.properties").write_text(
            f"name=bench-sink\nconnector.class=FileStreamSink\ntasks.max=1\nfile={sink}\ntopics={topic}\n"
        )
        started = time.monotonic()
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kcli.connect.standalone",
                "worker.properties",
                "source.properties",
                "sink.properties",
            ],
            cwd=work,
            stdout=(work / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        source_done = sink_done = None
        try:
            deadline = started + 600
            while (source_done is None or sink_done is None) and time.monotonic() < deadline:
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited: {(work / 'worker.log').read_text()[-2000:]}")
                if source_done is None and topic_end(bootstrap, topic) >= lines:
                    source_done = time.monotonic()
                if sink_done is None and count_lines(sink) >= lines:
                    sink_done = time.monotonic()
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(60)
        if source_done is None or sink_done is None:
            raise SystemExit(f"{label}: timed out after 600 s")
        print(
            f"{label:>8}: FileStreamSource {lines / (source_done - started):>10,.0f} lines/s   "
            f"FileStreamSink (end to end) {lines / (sink_done - started):>10,.0f} lines/s   "
            f"({lines:,} lines of {line_bytes} B, JsonConverter with schemas)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--line-bytes", type=int, default=100)
    parser.add_argument("--against", help="also run against this broker (HOST:PORT)")
    args = parser.parse_args()
    with kcli_broker() as bootstrap:
        run(bootstrap, args.lines, args.line_bytes, "kcli")
    if args.against:
        run(args.against, args.lines, args.line_bytes, args.against)
    return 0


if __name__ == "__main__":
    sys.exit(main())
