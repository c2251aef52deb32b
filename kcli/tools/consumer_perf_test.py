"""kafka-consumer-perf-test: consume N messages and print Kafka's CSV figures.

Header ``start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`` and one result line, as Kafka's
ConsumerPerformance (``--show-detailed-stats`` prints a line per reporting interval instead).
KIP-1147's ``--command-property`` and ``--command-config`` (Kafka 4.2) are accepted next to
``--consumer.config``.

The figures are the broker's and librdkafka's: records are taken 10,000 at a time and counted
with C-level passes over the batch (``len`` of a message is its value's size), so no Python
statement runs per record. librdkafka pauses fetching for ``fetch.queue.backoff.ms`` (1 s) when
its local queue is full, which Java's consumer never does; the tool sets 10 ms unless told.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kcli.properties import parse_key_values
from kcli.tools import cli
from kcli.tools.cli import ToolParser, UsageError

PROG = "kafka-consumer-perf-test"
HEADER_EXTRA = ", rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, "This tool is used to verify the consumer performance.")
    p.add_argument(
        "--bootstrap-server", "--broker-list", dest="bootstrap_server", metavar="server to connect to"
    )
    p.add_argument("--topic", metavar="topic", help="REQUIRED: The topic to consume from.")
    p.add_argument("--group", metavar="gid", help="The group id to consume on.")
    p.add_argument(
        "--fetch-size", type=int, default=1024 * 1024, metavar="size", help="Data to fetch in one request."
    )
    p.add_argument(
        "--from-latest", action="store_true", help="Start from the latest message without a committed offset."
    )
    p.add_argument(
        "--socket-buffer-size", type=int, default=2 * 1024 * 1024, metavar="size", help="TCP receive size."
    )
    p.add_argument(
        "--command-config",
        "--consumer.config",
        dest="consumer_config",
        metavar="config file",
        help="Consumer properties file.",
    )
    p.add_argument(
        "--command-property",
        action="append",
        metavar="prop",
        help="Consumer setting key=value (takes precedence over --command-config).",
    )
    p.add_argument("--print-metrics", action="store_true", help="Print out the metrics.")
    p.add_argument(
        "--show-detailed-stats", action="store_true", help="Report stats every reporting interval."
    )
    p.add_argument(
        "--timeout",
        type=int,
        nargs="?",
        const=10000,
        default=10000,
        metavar="milliseconds",
        help="Max ms between records.",
    )
    p.add_argument(
        "--messages", type=int, metavar="count", help="REQUIRED: The number of messages to consume."
    )
    p.add_argument(
        "--reporting-interval", type=int, default=5000, metavar="interval_ms", help="Progress interval."
    )
    p.add_argument(
        "--date-format",
        default="yyyy-MM-dd HH:mm:ss:SSS",
        metavar="date format",
        help="SimpleDateFormat pattern.",
    )
    p.add_argument("--hide-header", action="store_true", help="Do not print the header.")
    return p


_JAVA_DATE = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
]


def format_time(epoch_s: float, pattern: str) -> str:
    """A SimpleDateFormat pattern (the common letters) applied to a local time."""
    moment = datetime.fromtimestamp(epoch_s)
    millis = f"{int(epoch_s * 1000) % 1000:03d}"
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("SSS", i):
            out += millis
            i += 3
            continue
        for java, py in _JAVA_DATE:
            if pattern.startswith(java, i):
                out += moment.strftime(py)
                i += len(java)
                break
        else:
            out += pattern[i]
            i += 1
    return out


def result_line(start: float, end: float, total_bytes: int, messages: int, join_ms: int, pattern: str) -> str:
    elapsed = max(end - start, 1e-9)
    fetch_ms = int((end - start) * 1000) - join_ms
    mb = total_bytes / (1024 * 1024)
    fetch_s = fetch_ms / 1000 if fetch_ms > 0 else float("nan")
    return (
        f"{format_time(start, pattern)}, {format_time(end, pattern)}, {mb:.4f}, {mb / elapsed:.4f}, {messages}, "
        f"{messages / elapsed:.4f}, {join_ms}, {fetch_ms}, {_java_num(mb / fetch_s)}, {_java_num(messages / fetch_s)}"
    )


def _java_num(value: float) -> str:
    if value != value:
        return "NaN"
    return f"{value:.4f}"


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for dest in ("topic", "messages"):
        if getattr(args, dest) is None:
            raise UsageError(f'Missing required argument "{dest}"')
    if not args.bootstrap_server:
        raise UsageError('Missing required argument "bootstrap-server"')
    if args.reporting_interval <= 0:
        raise UsageError("Reporting interval must be greater than 0.")
    from kcli import client

    java: dict[str, str] = {}
    if args.consumer_config:
        java.update(client.load_config_file(args.consumer_config))
    java.update(parse_key_values(args.command_property, "command property"))
    java.update(
        {
            "bootstrap.servers": args.bootstrap_server,
            "group.id": args.group or f"perf-consumer-{random.randrange(100000)}",
            "receive.buffer.bytes": str(args.socket_buffer_size),
            "max.partition.fetch.bytes": str(args.fetch_size),
            "auto.offset.reset": "latest" if args.from_latest else "earliest",
            "check.crcs": "false",
        }
    )
    java.setdefault("client.id", "perf-consumer-client")
    java.setdefault("fetch.queue.backoff.ms", "10")
    settings = client.client_settings(None, None, java, "consumer")
    conf = settings.conf
    client.prepare(settings, "consumer")
    if not args.hide_header:
        if args.show_detailed_stats:
            print(
                f"time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{HEADER_EXTRA}"
            )
        else:
            print(
                f"start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{HEADER_EXTRA}"
            )
    consumer = client.build("consumer", conf)
    joined: dict[str, float] = {"start": time.time(), "total_ms": 0}

    def on_assign(_consumer: Any, _partitions: Any) -> None:
        joined["total_ms"] += int((time.time() - joined["start"]) * 1000)

    def on_revoke(_consumer: Any, _partitions: Any) -> None:
        joined["start"] = time.time()

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    start = time.time()
    messages = 0
    total_bytes = 0
    last_consumed = time.time()
    last_report = start
    last_bytes = 0
    last_messages = 0
    from confluent_kafka import Message

    key_of, error_of = Message.key, Message.error
    try:
        while messages < args.messages and (time.time() - last_consumed) * 1000 <= args.timeout:
            batch = consumer.consume(num_messages=min(10000, args.messages - messages), timeout=0.1)
            now = time.time()
            if not batch:
                continue
            if any(map(error_of, batch)):
                batch = [m for m in batch if m.error() is None]
            last_consumed = now
            messages += len(batch)
            # len(message) is its value's size; keys are summed only when present
            total_bytes += sum(map(len, batch)) + sum(map(len, filter(None, map(key_of, batch))))
            if args.show_detailed_stats and (now - last_report) * 1000 >= args.reporting_interval:
                elapsed_ms = max((now - last_report) * 1000, 1e-9)
                mb = total_bytes / (1024 * 1024)
                interval_mb = (total_bytes - last_bytes) / (1024 * 1024)
                print(
                    f"{format_time(now, args.date_format)}, 0, {mb:.4f}, {1000 * interval_mb / elapsed_ms:.4f}, "
                    f"{messages}, {1000 * (messages - last_messages) / elapsed_ms:.4f}, 0, {int(elapsed_ms)}, "
                    f"{1000 * interval_mb / elapsed_ms:.4f}, {1000 * (messages - last_messages) / elapsed_ms:.4f}"
                )
                last_report, last_bytes, last_messages = now, total_bytes, messages
    except KeyboardInterrupt:
        pass
    end = time.time()
    if messages < args.messages:
        print(
            f"WARNING: Exiting before consuming the expected number of messages: timeout ({args.timeout} ms) exceeded. "
            "You can use the --timeout option to increase the timeout."
        )
    consumer.close()
    if not args.show_detailed_stats:
        print(result_line(start, end, total_bytes, messages, int(joined["total_ms"]), args.date_format))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
