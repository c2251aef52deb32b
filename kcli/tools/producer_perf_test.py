"""kafka-producer-perf-test: produce N records as fast as allowed and report Kafka's figures.

Prints a progress line every 5 s (``N records sent, X records/sec (Y MB/sec), A ms avg latency,
M ms max latency.``) and the final line with the 50th/95th/99th/99.9th latency percentiles, in
Kafka's ProducerPerformance format. Options are Kafka's, with KIP-1147's ``--command-property``
and ``--command-config`` (Kafka 4.2) next to ``--producer-props`` and ``--producer.config``;
precedence, as the KIP says: ``--bootstrap-server``, then properties, then the config file.

The figures are the broker's and the client library's, not Python's, so that ``batch.size``,
``linger.ms``, ``compression.type`` and ``acks`` move them as they move Kafka's:

* the producer starts from the Java producer's defaults where librdkafka's differ (Kafka 3.9:
  ``batch.size=16384``, ``linger.ms=0``, five requests in flight, idempotence on when
  ``acks=all``); librdkafka's own ``batch.size`` (1 MB) would make tuning it a no-op;
* records are handed to librdkafka a thousand at a time (``produce_batch``), each with a new
  payload of random capital letters as Kafka's tool generates them;
* latency is Kafka's (send to acknowledgement, whole milliseconds), taken from librdkafka's
  per-message latency of every k-th record (k = records / 50,000, at least 1) rather than by a
  Python callback per record, which alone would cap the tool near 300,000 records/s. Averages
  and percentiles come from those samples, as Kafka's percentiles come from samples; the record
  and byte counts are exact unless deliveries fail (then failures are estimated from the samples).
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-producer-perf-test"
REPORTING_INTERVAL_MS = 5000
#: Records per ``produce_batch`` call: large enough that Python's per-call cost vanishes.
CHUNK = 1000
#: At most this many latency samples (one delivery callback each) per run.
MAX_SAMPLES = 50_000
#: Java 3.9 producer defaults where librdkafka's differ (librdkafka: batch.size 1 MB, linger.ms 5,
#: a million requests in flight).
JAVA_PRODUCER_DEFAULTS = {
    "batch.size": "16384",
    "linger.ms": "0",
    "max.in.flight.requests.per.connection": "5",
    "max.request.size": "1048576",
}
DEFAULT_TRANSACTION_DURATION_MS = 3000


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, "This tool is used to verify the producer performance.")
    p.add_argument("--topic", metavar="TOPIC", help="produce messages to this topic")
    p.add_argument("--num-records", type=int, metavar="NUM-RECORDS", help="number of messages to produce")
    p.add_argument("--record-size", type=int, metavar="RECORD-SIZE", help="message size in bytes")
    p.add_argument("--payload-file", metavar="PAYLOAD-FILE", help="file to read the message payloads from")
    p.add_argument(
        "--payload-monotonic", action="store_true", help="payload is a monotonically increasing integer"
    )
    p.add_argument(
        "--payload-delimiter", default="\\n", metavar="PAYLOAD-DELIMITER", help="delimiter for --payload-file"
    )
    p.add_argument(
        "--throughput", type=float, metavar="THROUGHPUT", help="maximum messages/sec (-1: no throttling)"
    )
    p.add_argument(
        "--command-property",
        "--producer-props",
        dest="producer_props",
        nargs="+",
        action="extend",
        metavar="PROP-NAME=PROP-VALUE",
        help="producer settings (they take precedence over --command-config)",
    )
    p.add_argument(
        "--command-config",
        "--producer.config",
        dest="producer_config",
        metavar="CONFIG-FILE",
        help="producer config file",
    )
    p.add_argument(
        "--bootstrap-server", metavar="BOOTSTRAP-SERVERS", help="servers to connect to (or bootstrap.servers)"
    )
    p.add_argument("--print-metrics", action="store_true", help="print out metrics at the end of the test")
    p.add_argument("--transactional-id", metavar="TRANSACTIONAL-ID", help="the transactional id to use")
    p.add_argument(
        "--transaction-duration-ms", type=int, metavar="TRANSACTION-DURATION", help="max age of a transaction"
    )
    return p


class Stats:
    """Kafka's ProducerPerformance.Stats, fed by latency samples that each stand for ``weight``
    records: totals, a 5 s window and the sampled latencies."""

    def __init__(self, reporting_interval_ms: int = REPORTING_INTERVAL_MS, out: Any = None):
        self.out = out or sys.stdout
        self.start = time.monotonic()
        self.window_start = self.start
        self.latencies: list[int] = []
        self.count = 0
        self.bytes = 0
        self.max_latency = 0
        self.total_latency = 0
        self.window_count = 0
        self.window_max_latency = 0
        self.window_total_latency = 0
        self.window_bytes = 0
        self.reporting_interval = reporting_interval_ms / 1000

    def record(self, latency_ms: int, size: int, now: float, weight: int = 1) -> None:
        self.count += weight
        self.bytes += size * weight
        self.total_latency += latency_ms * weight
        self.max_latency = max(self.max_latency, latency_ms)
        self.window_count += weight
        self.window_bytes += size * weight
        self.window_total_latency += latency_ms * weight
        self.window_max_latency = max(self.window_max_latency, latency_ms)
        self.latencies.append(latency_ms)
        if now - self.window_start >= self.reporting_interval:
            self.print_window(now)
            self.window_start = now
            self.window_count = self.window_bytes = self.window_total_latency = self.window_max_latency = 0

    def print_window(self, now: float) -> None:
        elapsed = max(now - self.window_start, 1e-9)
        print(
            f"{self.window_count} records sent, {self.window_count / elapsed:.1f} records/sec "
            f"({self.window_bytes / elapsed / (1024 * 1024):.2f} MB/sec), "
            f"{self.window_total_latency / max(self.window_count, 1):.1f} ms avg latency, "
            f"{float(self.window_max_latency):.1f} ms max latency.",
            file=self.out,
            flush=True,
        )

    def total_line(self, count: int, total_bytes: int, now: float | None = None) -> str:
        """Kafka's final line for ``count`` records of ``total_bytes`` (exact, from the run)."""
        elapsed = max((now or time.monotonic()) - self.start, 1e-9)
        percentiles = percentiles_of(self.latencies, (0.5, 0.95, 0.99, 0.999))
        avg = self.total_latency / max(self.count, 1)
        return (
            f"{count} records sent, {count / elapsed:.1f} records/sec "
            f"({total_bytes / elapsed / (1024 * 1024):.2f} MB/sec), "
            f"{avg:.2f} ms avg latency, {float(self.max_latency):.2f} ms max latency, "
            f"{percentiles[0]} ms 50th, {percentiles[1]} ms 95th, {percentiles[2]} ms 99th, {percentiles[3]} ms 99.9th."
        )


def percentiles_of(latencies: list[int], wanted: Sequence[float]) -> list[int]:
    """Kafka's nearest-rank percentiles: sorted[(int)(p * size)]."""
    ordered = sorted(latencies)
    if not ordered:
        return [0 for _ in wanted]
    return [ordered[min(int(p * len(ordered)), len(ordered) - 1)] for p in wanted]


def _payload_file(args: Any) -> list[bytes] | None:
    if not args.payload_file:
        return None
    delimiter = "\n" if args.payload_delimiter == "\\n" else args.payload_delimiter
    print(f"Reading payloads from: {os.path.abspath(args.payload_file)}")
    try:
        with open(args.payload_file, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        raise ToolError("File does not exist or empty file provided.") from None
    if not text:
        raise ToolError("File does not exist or empty file provided.")
    items = [p.encode() for p in text.split(delimiter)]
    while items and items[-1] == b"":  # Java's String.split drops trailing empty strings
        items.pop()
    print(f"Number of messages read: {len(items)}")
    return items


class Payloads:
    """Each record's value, as Kafka generates it: random capital letters of ``--record-size``
    (a fresh slice of a random pool per record), a random line of ``--payload-file``, or the
    record's number (``--payload-monotonic``)."""

    POOL_EXTRA = 8192

    def __init__(self, size: int | None, lines: list[bytes] | None, seed: int = 0):
        self.size = size
        self.lines = lines
        self.rng = random.Random(seed)
        if size is not None:
            letters = bytes(range(65, 91))
            raw = self.rng.randbytes(size + self.POOL_EXTRA)
            self.pool = raw.translate(bytes(letters[b % 26] for b in range(256)))

    def take(self, first: int, count: int) -> list[bytes]:
        if self.lines is not None:
            return [self.lines[self.rng.randrange(len(self.lines))] for _ in range(count)]
        if self.size is not None:
            size, pool, extra = self.size, self.pool, self.POOL_EXTRA
            starts = [self.rng.randrange(extra) for _ in range(count)]
            return [pool[s : s + size] for s in starts]
        return [str(i).encode() for i in range(first, first + count)]


def producer_java_settings(args: Any) -> dict[str, str]:
    """Java settings from file, properties and options, with KIP-1147's precedence."""
    from kcli import client

    java: dict[str, str] = {}
    if args.producer_config:
        java.update(client.load_config_file(args.producer_config))
    for prop in args.producer_props or ():
        pieces = prop.split("=")
        if len(pieces) != 2:
            raise ToolError(f"Invalid property: {prop}")
        java[pieces[0]] = pieces[1]
    if args.bootstrap_server:
        java["bootstrap.servers"] = args.bootstrap_server
    java.setdefault("client.id", "perf-producer-client")
    for key, value in JAVA_PRODUCER_DEFAULTS.items():
        java.setdefault(key, value)
    transactional = args.transactional_id or java.get("transactional.id") or args.transaction_duration_ms
    if transactional:
        java["transactional.id"] = str(
            args.transactional_id or java.get("transactional.id") or f"performance-producer-{uuid.uuid4()}"
        )
    elif "enable.idempotence" not in java and java.get("acks", "all").strip().lower() in ("all", "-1"):
        # Java 3.0+: idempotence is on by default unless the settings conflict with it
        java["enable.idempotence"] = "true"
    return java


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for dest in ("topic", "num_records", "throughput"):
        if getattr(args, dest) is None:
            raise UsageError(f"argument --{dest.replace('_', '-')} is required")
    chosen = [
        x for x in (args.record_size is not None, args.payload_file is not None, args.payload_monotonic) if x
    ]
    if len(chosen) != 1:
        raise UsageError(
            "Exactly one of --record-size, --payload-file or --payload-monotonic must be specified."
        )
    if args.num_records <= 0:
        raise UsageError("--num-records should be greater than zero")
    if args.record_size is not None and args.record_size <= 0:
        raise UsageError("--record-size should be greater than zero")
    if args.transaction_duration_ms is not None and args.transaction_duration_ms <= 0:
        raise UsageError("--transaction-duration-ms should be greater than zero")
    if not (args.producer_props or args.producer_config or args.bootstrap_server):
        raise UsageError("Either --producer-props or --producer.config must be specified.")
    from kcli import client

    lines = _payload_file(args)
    settings = client.client_settings(None, None, producer_java_settings(args), "producer")
    client.prepare(settings, "producer")
    producer = client.build("producer", settings.conf)
    transactional = "transactional.id" in settings.conf
    if transactional:
        producer.init_transactions()
    duration_ms = args.transaction_duration_ms or DEFAULT_TRANSACTION_DURATION_MS
    limit = int(settings.conf.get("message.max.bytes", 1048576))
    run(producer, args, Payloads(args.record_size, lines), transactional, duration_ms, limit)
    return 0


class _Run:
    """One run's counters and its sampled delivery callback."""

    def __init__(self, stats: Stats, every: int, total: int):
        self.stats = stats
        self.every = every
        self.total = total
        self.enqueued = 0
        self.enqueued_bytes = 0
        self.failed_estimate = 0
        self.failed_bytes_estimate = 0
        self.errors_seen: set[str] = set()
        self.max_request_size = 1048576

    def callback(self, index: int, size: int) -> Any:
        weight = min(self.every, self.total - index)

        def sampled(err: Any, msg: Any) -> None:
            if err is None:
                latency = msg.latency()
                self.stats.record(int((latency or 0.0) * 1000), size, time.monotonic(), weight)
                return
            self.failed_estimate += weight
            self.failed_bytes_estimate += size * weight
            self.report(err)

        return sampled

    def refused(self, err: Any, value: bytes) -> None:
        """A record librdkafka would not queue: too large is said as Java's producer says it."""
        from confluent_kafka import KafkaError

        if err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            from kcli.tools.console_producer import serialized_size, too_large_reason

            limit = self.max_request_size
            self.say(
                "org.apache.kafka.common.errors.RecordTooLargeException: "
                + too_large_reason(serialized_size(None, value, []), limit)
            )
            return
        self.report(err)

    def report(self, err: Any) -> None:
        self.say(_java_exception(err))

    def say(self, text: str) -> None:
        if text not in self.errors_seen:  # Java prints a stack trace per record; one line per kind here
            self.errors_seen.add(text)
            print(text, file=sys.stderr, flush=True)


def _java_exception(err: Any) -> str:
    from confluent_kafka import KafkaError

    if err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
        return (
            "org.apache.kafka.common.errors.RecordTooLargeException: The request included a message larger "
            "than the max message size the server will accept."
        )
    return f"org.apache.kafka.common.KafkaException: {err.str()}"


def run(
    producer: Any,
    args: Any,
    payloads: Payloads,
    transactional: bool,
    duration_ms: int,
    max_request_size: int = 1048576,
) -> None:
    """Produce ``--num-records`` records and print Kafka's lines (see the module docstring)."""
    total = args.num_records
    stats = Stats()
    every = max(1, total // MAX_SAMPLES)
    state = _Run(stats, every, total)
    state.max_request_size = max_request_size
    throughput = args.throughput
    chunk = CHUNK if throughput <= 0 else max(1, min(CHUNK, int(throughput // 100)))
    batch = getattr(producer, "produce_batch", None)
    start = time.monotonic()
    tx_started = 0.0
    in_tx = 0
    index = 0
    try:
        while index < total:
            count = min(chunk, total - index)
            values = payloads.take(index, count)
            messages: list[dict[str, Any]] = [{"value": v} for v in values]
            first_sample = -index % every
            for j in range(first_sample, count, every):
                messages[j]["callback"] = state.callback(index + j, len(values[j]))
            if transactional and in_tx == 0:
                producer.begin_transaction()
                tx_started = time.monotonic()
            _enqueue(producer, batch, args.topic, messages, state)
            in_tx += count
            index += count
            producer.poll(0)
            now = time.monotonic()
            if transactional and (now - tx_started) * 1000 >= duration_ms:
                producer.commit_transaction()
                in_tx = 0
            if throughput > 0:
                ahead = index / throughput - (now - start)
                if ahead > 0:
                    time.sleep(ahead)  # throttling, as Kafka's ThroughputThrottler
        if transactional and in_tx:
            producer.commit_transaction()
    except KeyboardInterrupt:
        pass
    left = producer.flush()
    sent = max(0, state.enqueued - left - state.failed_estimate)
    sent_bytes = max(0, state.enqueued_bytes - state.failed_bytes_estimate)
    if state.enqueued:
        sent_bytes = sent_bytes * sent // max(1, state.enqueued - state.failed_estimate)
    print(stats.total_line(sent, sent_bytes), flush=True)


def _enqueue(producer: Any, batch: Any, topic: str, messages: list[dict[str, Any]], state: _Run) -> None:
    """Hand ``messages`` to librdkafka, waiting while its queue is full (as Java's send() blocks)."""
    from confluent_kafka import KafkaError, KafkaException

    pending = messages
    while pending:
        if batch is not None:
            batch(topic, pending)
            retry = []
            for message in pending:
                err = message.pop("_error", None)
                if err is None:
                    state.enqueued += 1
                    state.enqueued_bytes += len(message["value"])
                elif err.code() == KafkaError._QUEUE_FULL:
                    retry.append(message)
                else:
                    state.refused(err, message["value"])
            pending = retry
        else:  # confluent-kafka without produce_batch
            retry = []
            for message in pending:
                try:
                    producer.produce(topic, message["value"], on_delivery=message.get("callback"))
                    state.enqueued += 1
                    state.enqueued_bytes += len(message["value"])
                except BufferError:
                    retry.append(message)
                except KafkaException as exc:
                    state.refused(exc.args[0], message["value"])
            pending = retry
        if pending:
            producer.poll(0.005)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
