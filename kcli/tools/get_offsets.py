"""kafka-get-offsets: print ``topic:partition:offset`` for the partitions matching a filter.

Kafka's GetOffsetShell: ``--topic`` (regex) with ``--partitions 0,1``, or ``--topic-partitions``
patterns (``topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3``); ``--time`` is -1/latest,
-2/earliest, -3/max-timestamp or a timestamp in ms. Lines are sorted by ``topic-partition`` text.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-get-offsets"
_RULE = re.compile(r"([^:,]*)(?::(?:([0-9]*)|(?:([0-9]*)-([0-9]*))))?")
_INT_MAX = 2**31 - 1

PartitionFilter = Callable[[str, int], bool]


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, "An interactive shell for getting topic-partition offsets.")
    p.add_argument(
        "--bootstrap-server", "--broker-list", dest="bootstrap_server", metavar="HOST1:PORT1,...,HOST3:PORT3"
    )
    p.add_argument("--topic-partitions", metavar="topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3")
    p.add_argument(
        "--topic", metavar="topic", help="The topic to get the offsets for (a regular expression)."
    )
    p.add_argument("--partitions", metavar="partition ids", help="Comma separated list of partition ids.")
    p.add_argument(
        "--time",
        default="latest",
        metavar="<timestamp> / -1 or latest / -2 or earliest / -3 or max-timestamp",
        help="Timestamp of the offsets before that.",
    )
    p.add_argument("--command-config", metavar="config file", help="Admin client properties file.")
    p.add_argument("--exclude-internal-topics", action="store_true", help="Exclude internal topics.")
    return p


def parse_time(text: str) -> int:
    """``--time`` -> a ListOffsets timestamp (-1 latest, -2 earliest, -3 max-timestamp, or ms)."""
    named = {"latest": -1, "earliest": -2, "max-timestamp": -3, "earliest-local": -4, "latest-tiered": -5}
    if text in named:
        return named[text]
    try:
        return int(text)
    except ValueError:
        raise ToolError(
            f"Malformed time argument {text}. Please use -1 or latest / -2 or earliest / -3 or max-timestamp "
            "/ -4 or earliest-local / -5 or latest-tiered, or a specified long format timestamp"
        ) from None


def rule_filter(spec: str) -> PartitionFilter:
    """One ``--topic-partitions`` rule."""
    from kcli.tools.admin import topic_filter

    match = _RULE.fullmatch(spec)
    if not match:
        raise ToolError(f"Invalid rule specification: {spec}")
    topic_re, single, low, high = (g or None for g in match.groups())
    pattern = topic_filter(topic_re or ".*")
    if single is not None:
        number = int(single)
        return lambda t, p: bool(pattern.fullmatch(t)) and p == number
    lower = int(low) if low else 0
    upper = int(high) if high else _INT_MAX
    return lambda t, p: bool(pattern.fullmatch(t)) and lower <= p < upper


def build_filter(topic_partitions: str | None, topic: str | None, partitions: str | None) -> PartitionFilter:
    from kcli.tools.admin import topic_filter

    if topic_partitions is not None:
        if topic is not None or partitions is not None:
            raise ToolError("--topic-partitions cannot be used with --topic or --partitions")
        rules = [rule_filter(spec) for spec in topic_partitions.split(",")]
        return lambda t, p: any(rule(t, p) for rule in rules)
    pattern = topic_filter(topic if topic is not None else ".*")
    wanted: set[int] = set()
    if partitions:
        try:
            wanted = {int(x) for x in partitions.split(",")}
        except ValueError:
            raise ToolError(
                f"--partitions expects a comma separated list of numeric partition ids, but received: {partitions}"
            ) from None
    return lambda t, p: bool(pattern.fullmatch(t)) and (not wanted or p in wanted)


def fetch_offsets(
    admin: Any, accept: PartitionFilter, timestamp: int, exclude_internal: bool
) -> list[tuple[str, int, int]]:
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    from kcli.tools.admin import INTERNAL_TOPICS, future_result, list_topic_metadata

    metadata = list_topic_metadata(admin)
    partitions = [
        (name, pid)
        for name, topic in metadata.topics.items()
        if not (exclude_internal and name in INTERNAL_TOPICS)
        for pid in topic.partitions
        if accept(name, pid)
    ]
    if not partitions:
        raise ToolError("Could not match any topic-partitions with the specified filters")
    spec = {-1: OffsetSpec.latest, -2: OffsetSpec.earliest, -3: OffsetSpec.max_timestamp}.get(timestamp)
    offset_spec = spec() if spec else OffsetSpec.for_timestamp(timestamp)
    futures = admin.list_offsets(
        {TopicPartition(t, p): offset_spec for t, p in partitions}, request_timeout=30
    )
    results: list[tuple[str, int, int]] = []
    for tp, future in futures.items():
        try:
            info = future_result(future)
        except ToolError as exc:
            print(
                f"Skip getting offsets for topic-partition {tp.topic}-{tp.partition} due to error: {exc}",
                file=sys.stderr,
            )
            continue
        if info.offset != -1:
            results.append((tp.topic, tp.partition, info.offset))
    results.sort(key=lambda r: f"{r[0]}-{r[1]}")
    return results


def _body(argv: list[str]) -> int:
    parser = build_parser()
    if not argv:
        raise UsageError("An interactive shell for getting topic-partition offsets.")
    args = parser.parse_args(argv)
    if not args.bootstrap_server:
        raise UsageError('Missing required argument "bootstrap-server"')
    timestamp = parse_time(args.time)
    accept = build_filter(args.topic_partitions, args.topic, args.partitions)
    from kcli.tools.admin import admin_client

    admin = admin_client(args.bootstrap_server, args.command_config, ["client.id=GetOffsetShell"])
    for topic, partition, offset in fetch_offsets(admin, accept, timestamp, args.exclude_internal_topics):
        print(f"{topic}:{partition}:{offset}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    def body(a: list[str]) -> int:
        try:
            return _body(a)
        except UsageError:
            raise
        except ToolError as exc:
            raise ToolError(f"Error occurred: {exc}") from None

    return cli.run(body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
