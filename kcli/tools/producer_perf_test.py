"""kafka-producer-perf-test: produce N records as fast as allowed and report Kafka's figures.

Prints a progress line every 5 s (``N records sent, X records/sec (Y MB/sec), A ms avg latency,
M ms max latency.``) and the final line with the 50th/95th/99th/99.9th latency percentiles, in
Kafka's ProducerPerformance format.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-producer-perf-test"
REPORTING_INTERVAL_MS = 5000


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
    p.add_argument("--producer-props", nargs="+", metavar="PROP-NAME=PROP-VALUE", help="producer settings")
    p.add_argument(
        "--producer.config", dest="producer_config", metavar="CONFIG-FILE", help="producer config file"
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
    """Kafka's ProducerPerformance.Stats: totals, a 5 s window and sampled latencies."""

    def __init__(self, num_records: int, reporting_interval_ms: int = REPORTING_INTERVAL_MS, out: Any = None):
        self.out = out or sys.stdout
        self.start = time.monotonic()
        self.window_start = self.start
        self.sampling = max(1, num_records // min(max(num_records, 1), 500000))
        self.latencies: list[int] = []
        self.iteration = 0
        self.count = 0
        self.bytes = 0
        self.max_latency = 0
        self.total_latency = 0
        self.window_count = 0
        self.window_max_latency = 0
        self.window_total_latency = 0
        self.window_bytes = 0
        self.reporting_interval = reporting_interval_ms / 1000

    def record(self, latency_ms: int, size: int, now: float) -> None:
        self.count += 1
        self.bytes += size
        self.total_latency += latency_ms
        self.max_latency = max(self.max_latency, latency_ms)
        self.window_count += 1
        self.window_bytes += size
        self.window_total_latency += latency_ms
        self.window_max_latency = max(self.window_max_latency, latency_ms)
        if self.iteration % self.sampling == 0:
            self.latencies.append(latency_ms)
        self.iteration += 1
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

    def total_line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.start, 1e-9)
        percentiles = percentiles_of(self.latencies, (0.5, 0.95, 0.99, 0.999))
        return (
            f"{self.count} records sent, {self.count / elapsed:.1f} records/sec "
            f"({self.bytes / elapsed / (1024 * 1024):.2f} MB/sec), "
            f"{self.total_latency / max(self.count, 1):.2f} ms avg latency, {float(self.max_latency):.2f} ms max latency, "
            f"{percentiles[0]} ms 50th, {percentiles[1]} ms 95th, {percentiles[2]} ms 99th, {percentiles[3]} ms 99.9th."
        )


def percentiles_of(latencies: list[int], wanted: Sequence[float]) -> list[int]:
    """Kafka's nearest-rank percentiles: sorted[(int)(p * size)]."""
    ordered = sorted(latencies)
    if not ordered:
        return [0 for _ in wanted]
    return [ordered[min(int(p * len(ordered)), len(ordered) - 1)] for p in wanted]


def _payloads(args: Any) -> tuple[list[bytes] | None, int | None]:
    if args.payload_file:
        delimiter = args.payload_delimiter.encode().decode("unicode_escape")
        try:
            with open(args.payload_file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            raise ToolError("File does not exist or empty file provided.") from None
        if not text:
            raise ToolError("File does not exist or empty file provided.")
        import os

        print(f"Reading payloads from: {os.path.abspath(args.payload_file)}")
        items = [p.encode() for p in text.split(delimiter)]
        while items and items[-1] == b"":
            items.pop()
        print(f"Number of messages read: {len(items)}")
        return items, None
    return None, args.record_size


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
    if args.transactional_id:
        java["transactional.id"] = args.transactional_id
    settings = client.client_settings(None, None, java, "producer")
    client.check_reachable(str(settings.conf["bootstrap.servers"]))
    producer = client.build("producer", settings.conf)
    payloads, size = _payloads(args)
    transactional = "transactional.id" in settings.conf
    if transactional:
        producer.init_transactions()
    run(producer, args, payloads, size, transactional)
    return 0


def run(
    producer: Any, args: Any, payloads: list[bytes] | None, size: int | None, transactional: bool
) -> None:
    rng = random.Random(0)
    stats = Stats(args.num_records)
    pool = bytes(rng.randrange(26) + 65 for _ in range(max(size or 0, 1) + 4096)) if size else b""
    throughput = args.throughput
    start = time.monotonic()
    duration_s = (args.transaction_duration_ms or 3000) / 1000
    tx_started = 0.0
    in_tx = 0

    def callback_for(sent_at: float, length: int) -> Any:
        def done(err: Any, _msg: Any) -> None:
            now = time.monotonic()
            if err is None:
                stats.record(int((now - sent_at) * 1000), length, now)

        return done

    try:
        for i in range(args.num_records):
            if payloads is not None:
                payload = payloads[rng.randrange(len(payloads))]
            elif size is not None:
                shift = rng.randrange(4096)
                payload = pool[shift : shift + size]
            else:
                payload = str(i).encode()
            if transactional and in_tx == 0:
                producer.begin_transaction()
                tx_started = time.monotonic()
            sent_at = time.monotonic()
            while True:
                try:
                    producer.produce(args.topic, payload, on_delivery=callback_for(sent_at, len(payload)))
                    break
                except BufferError:
                    producer.poll(0.01)
            producer.poll(0)
            in_tx += 1
            if transactional and sent_at - tx_started >= duration_s:
                producer.commit_transaction()
                in_tx = 0
            if throughput > 0:
                expected = (i + 1) / throughput
                ahead = expected - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)  # throttling, as Kafka's ThroughputThrottler
        if transactional and in_tx:
            producer.commit_transaction()
    except KeyboardInterrupt:
        pass
    producer.flush()
    print(stats.total_line(), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
