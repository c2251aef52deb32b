"""The lecture's Spark Structured Streaming job as a continuous streaming job (on Quix Streams).

The slides' job reads ``json_topic`` from the earliest offset, parses ``{"id", "firstname",
"lastname", "age"}``, keeps the running ``avg(age) AS avg_age`` and ``count(*) AS count`` over
everything read so far, and in complete mode writes the whole (one-row) result each time it
changes to ``avg_age``: key ``CAST(count AS STRING)``, value ``to_json(struct(*))``, e.g. key
``3`` and value ``{"avg_age":29.333333333333332,"count":3}``. ``checkpointLocation`` makes a
restarted job resume where it stopped. This does the same, record by record:

    python examples/avg_age_stream.py [--bootstrap-server localhost:9092] [--checkpoint-location /tmp/checkpoint]
    python examples/avg_age_stream.py --sink console      # the slides' writeStream.format("console")

How it maps onto the engine: the running aggregate is state in a RocksDB store under the
checkpoint location, backed by a changelog topic. ``groupBy()`` with no columns is one global
group: records are re-keyed to one key (through a repartition topic when ``json_topic`` has
several partitions). Processing is exactly-once (Quix Streams' exactly-once mode, on the broker's
transactions): each checkpoint commits the output rows, the state's changelog and the consumer
offsets of the job's group (``avg-age-stream``) in one transaction. After a crash the job resumes
from the last committed checkpoint: the aggregate counts every record once, and a read_committed
reader of ``avg_age`` sees every row once; the rows of the transaction the crash cut short stay in
the log, aborted, so a read_uncommitted reader (the console consumer's default) may see those
again (the same key and value). Like Spark's checkpoint, the checkpoint location is the job's
identity: it keeps an id (``<checkpoint>/<group>/kafka-streams-process-metadata``) that names the
job's transactional producer and its static group membership, so a job restarted on it fences
the one that died and takes over at once; a second job on the same checkpoint is refused, as
Spark refuses two queries on one checkpoint. Like Spark's ``from_json``, a record that is not JSON
(or has no numeric age) still counts in ``count(*)`` but not in the average.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

GLOBAL_KEY = "avg_age"
#: As Kafka Streams' exactly-once default: a transaction left open by a job that died (and whose
#: checkpoint is gone, so nothing restarts under its id) is aborted after 10 s.
TRANSACTION_TIMEOUT_MS = 10000


def parse(value: bytes | None) -> float | None:
    """``from_json(value, schema).age``: the age, or None for unparsable records or ages."""
    try:
        record = json.loads(value) if value is not None else None
    except ValueError:
        return None
    age = record.get("age") if isinstance(record, dict) else None
    if isinstance(age, bool) or not isinstance(age, (int, float)):
        return None
    return float(age)


def result_json(state: dict[str, Any]) -> str:
    """``to_json(struct(avg_age, count))`` as Spark writes it (a null average is left out)."""
    from kcli.serde import java_double_to_string

    parts = []
    if state["ages"]:
        parts.append(f'"avg_age":{java_double_to_string(state["sum"] / state["ages"])}')
    parts.append(f'"count":{state["count"]}')
    return "{" + ",".join(parts) + "}"


def update(age: float | None, state: Any) -> dict[str, Any]:
    """Fold one record's age into the running aggregate (exactly once: the engine's transactions
    see to it that a record read again after a crash was not counted before)."""
    agg = state.get("agg") or {"count": 0, "sum": 0.0, "ages": 0}
    agg["count"] += 1
    if age is not None:
        agg["sum"] += age
        agg["ages"] += 1
    state.set("agg", agg)
    return agg


class ConsoleSink:
    """Spark's console sink: the whole result table, printed per trigger (at most once a second)."""

    def __init__(self, interval_s: float = 1.0):
        self.interval_s = interval_s
        self.batch = 0
        self.latest: dict[str, Any] | None = None
        self.printed: dict[str, Any] | None = None
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def offer(self, agg: dict[str, Any]) -> None:
        with self.lock:
            self.latest = {"count": agg["count"], "avg": agg["sum"] / agg["ages"] if agg["ages"] else None}

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval_s)
            with self.lock:
                latest = self.latest
            if latest is not None and latest != self.printed:
                self.printed = latest
                print(render_batch(self.batch, latest["avg"], latest["count"]), flush=True)
                self.batch += 1


def render_batch(batch: int, avg: float | None, count: int) -> str:
    """One batch of Spark's console output for the one-row result."""
    from kcli.serde import java_double_to_string

    cells = ["null" if avg is None else java_double_to_string(avg), str(count)]
    widths = [max(len("avg_age"), len(cells[0])), max(len("count"), len(cells[1]))]
    rule = "+" + "+".join("-" * w for w in widths) + "+"
    header = "|" + "|".join(h.rjust(w) for h, w in zip(("avg_age", "count"), widths, strict=True)) + "|"
    row = "|" + "|".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + "|"
    return "\n".join(["-" * 43, f"Batch: {batch}", "-" * 43, rule, header, rule, row, rule, ""])


def build(args: argparse.Namespace) -> Any:
    from quixstreams import Application
    from quixstreams.models.serializers import Serializer

    from kcli.streams.state_directory import StateDirectory

    # The checkpoint location is the job's identity (and only one job may use it at a time).
    checkpoint = StateDirectory(args.checkpoint_location, args.group, owner="the streaming job")
    job_id = f"{args.group}-{checkpoint.process_id()}"
    app = Application(
        broker_address=args.bootstrap_server,
        consumer_group=args.group,
        auto_offset_reset="earliest",  # .option("startingOffsets", "earliest")
        state_dir=args.checkpoint_location,  # .option("checkpointLocation", ...)
        commit_interval=args.commit_interval,
        processing_guarantee="exactly-once",
        consumer_extra_config={"group.instance.id": job_id},
        producer_extra_config={
            "transactional.id": job_id,
            "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
        },
        loglevel="WARNING",
    )
    source = app.topic(args.input, key_deserializer="bytes", value_deserializer="bytes")
    sdf = app.dataframe(source)
    sdf = sdf.apply(parse)
    sdf = sdf.group_by(lambda _age: GLOBAL_KEY, name="global")  # groupBy(): one group
    sdf = sdf.apply(update, stateful=True)
    if args.sink == "console":
        console = ConsoleSink()
        sdf = sdf.update(console.offer)
        return app

    class ResultSerializer(Serializer):
        """The value written to ``avg_age``: ``to_json(struct(*))`` of the aggregate."""

        def __call__(self, value: dict[str, Any], ctx: Any) -> bytes:
            return result_json(value).encode()

    output = app.topic(args.output, key_serializer="str", value_serializer=ResultSerializer())
    # .selectExpr("CAST(count AS STRING) AS key", "to_json(struct(*)) AS value")
    sdf.to_topic(output, key=lambda agg: str(agg["count"]))
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", default="localhost:9092")
    parser.add_argument("--input", default="json_topic")
    parser.add_argument("--output", default="avg_age")
    parser.add_argument("--sink", choices=("kafka", "console"), default="kafka")
    parser.add_argument("--checkpoint-location", default="/tmp/checkpoint")
    parser.add_argument("--group", default="avg-age-stream", help="consumer group (the job's identity)")
    parser.add_argument("--commit-interval", type=float, default=1.0, help="seconds between checkpoints")
    args = parser.parse_args(argv)
    if not 0 < args.commit_interval * 1000 < TRANSACTION_TIMEOUT_MS:
        parser.error(
            f"--commit-interval must be above 0 and below the transaction timeout ({TRANSACTION_TIMEOUT_MS} ms)"
        )
    from kcli.client import wait_for_broker
    from kcli.streams.app import quiet_import_quixstreams
    from kcli.streams.state_directory import StateDirectoryError
    from kcli.tools.cli import ToolError

    try:
        wait_for_broker(args.bootstrap_server)  # a job started with its broker waits for it
        quiet_import_quixstreams()
        app = build(args)
    except (ToolError, StateDirectoryError) as exc:
        print(exc, file=sys.stderr)
        return 1
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
