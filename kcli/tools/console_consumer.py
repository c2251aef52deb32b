"""kafka-console-consumer: print records of a topic, Kafka's way.

Options and checks follow Kafka's ConsoleConsumerOptions (with KIP-1147's names of Kafka 4.2,
``--command-property``, ``--command-config`` and ``--formatter-property``, next to the older
``--consumer-property``, ``--consumer.config`` and ``--property`` the lectures type); printing is
:class:`kcli.tools.formatter.DefaultMessageFormatter`. ``Processed a total of N messages`` goes to
stderr at exit, Ctrl-C included (exit 0).

A ``--topic`` that does not exist yet is created as Java's consumer creates it: its metadata
request for the subscribed topic allows auto-creation (``allow.auto.create.topics``, true by
default in Java). librdkafka leaves that flag out of a subscription's metadata requests
(librdkafka issue 3395), so the tool asks for the topic's metadata itself before subscribing. All
of such a topic's records are then newer than the consumer, so it is read from its start: with
``latest``, what was produced while the group formed (``group.initial.rebalance.delay.ms``, 3 s
by default) would be lost, and the two-terminal demo would miss its first lines.

Reusable pieces (the Avro console consumer builds on them): :func:`build_parser`,
:func:`parse_options` (-> :class:`ConsumerOptions`) and :func:`consume`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from kcli.properties import parse_key_values
from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError
from kcli.tools.formatter import DEFAULT_FORMATTER, DefaultMessageFormatter, FormatError, FormattedRecord

if TYPE_CHECKING:
    from kcli.java_settings import ClientConfig

PROG = "kafka-console-consumer"


def build_parser(prog: str = PROG) -> ToolParser:
    """The option parser (also used to generate shell completions and by the Avro consumer)."""
    p = ToolParser(prog, "This tool helps to read data from Kafka topics and outputs it to standard output.")
    p.add_argument("--topic", metavar="topic", help="The topic to consume on.")
    p.add_argument(
        "--include",
        "--whitelist",
        dest="include",
        metavar="Java regex (String)",
        help="Regular expression of topics to include.",
    )
    p.add_argument("--partition", type=int, metavar="partition", help="The partition to consume from.")
    p.add_argument(
        "--offset",
        metavar="consume offset",
        help="The offset to consume from: a non-negative number, 'earliest' or 'latest'.",
    )
    p.add_argument(
        "--command-property",
        "--consumer-property",
        dest="consumer_property",
        action="append",
        metavar="consumer_prop",
        help="Consumer setting key=value.",
    )
    p.add_argument(
        "--command-config",
        "--consumer.config",
        dest="consumer_config",
        metavar="config file",
        help="Consumer properties file.",
    )
    p.add_argument("--formatter", default=DEFAULT_FORMATTER, metavar="class", help="Message formatter class.")
    p.add_argument(
        "--formatter-property",
        "--property",
        dest="property",
        action="append",
        metavar="prop",
        help="Formatter properties: print.timestamp, print.key, print.offset, print.partition, print.headers, "
        "print.value, key.separator, line.separator, headers.separator, null.literal, key.deserializer, "
        "value.deserializer, headers.deserializer.",
    )
    p.add_argument(
        "--formatter-config", metavar="config file", help="Formatter properties file (--property wins)."
    )
    p.add_argument(
        "--from-beginning",
        action="store_true",
        help="Start with the earliest message without a committed offset.",
    )
    p.add_argument("--max-messages", type=int, metavar="num_messages", help="Exit after this many messages.")
    p.add_argument(
        "--timeout-ms", type=int, metavar="timeout_ms", help="Exit if no message arrives for this long."
    )
    p.add_argument(
        "--skip-message-on-error", action="store_true", help="Skip a message that cannot be processed."
    )
    cli.add_bootstrap(p)
    p.add_argument(
        "--zookeeper", metavar="urls", help="REMOVED in Kafka 2.0 (old consumer): resolved to its brokers."
    )
    p.add_argument("--key-deserializer", metavar="deserializer for key", help="Deserializer class for keys.")
    p.add_argument(
        "--value-deserializer", metavar="deserializer for values", help="Deserializer class for values."
    )
    p.add_argument(
        "--enable-systest-events", action="store_true", help="Log lifecycle events (system tests)."
    )
    p.add_argument(
        "--isolation-level",
        metavar="String",
        help="read_committed or read_uncommitted (default).",
    )
    p.add_argument("--group", metavar="consumer group id", help="The consumer group id of the consumer.")
    cli.add_explain(p)
    return p


@dataclass
class ConsumerOptions:
    """The checked options: what to read, how to print it, and the librdkafka configuration."""

    conf: dict[str, Any]
    bootstrap: str
    topic: str | None
    include: str | None
    partition: int | None
    offset: str  # "earliest", "latest" or a number
    max_messages: int
    timeout_ms: int | None
    skip_message_on_error: bool
    formatter_properties: dict[str, str]
    formatter_class: str
    #: The client settings behind ``conf`` (Java-only keys, notes) for :func:`kcli.client.prepare`.
    settings: ClientConfig | None = None
    #: True when nothing chose where to start (no --from-beginning, no auto.offset.reset).
    default_reset: bool = False
    #: ``--explain``: say on stderr what the group protocol did (kcli/tools/explain.py)
    explain: bool = False


def formatter_properties(args: argparse.Namespace) -> dict[str, str]:
    from kcli.client import load_config_file

    props: dict[str, str] = {}
    if args.formatter_config:
        props.update(load_config_file(args.formatter_config))
    if args.key_deserializer:
        props["key.deserializer"] = args.key_deserializer
    if args.value_deserializer:
        props["value.deserializer"] = args.value_deserializer
    props.update(parse_key_values(args.property))
    return props


def parse_options(parser: ToolParser, argv: Sequence[str]) -> ConsumerOptions:
    """Parse and check the options exactly as Kafka's ConsoleConsumerOptions does."""
    from kcli.client import client_settings, load_config_file

    args = parser.parse_args(list(argv))
    if (args.topic is None) == (args.include is None):
        raise UsageError("Exactly one of --include/--topic is required. ")
    if args.partition is not None:
        if args.topic is None:
            raise UsageError("The topic is required when partition is specified.")
        if args.from_beginning and args.offset is not None:
            raise UsageError("Options from-beginning and offset cannot be specified together.")
    elif args.offset is not None:
        raise UsageError("The partition is required when offset is specified.")
    bootstrap = cli.resolve_bootstrap(parser, args)
    assert bootstrap is not None

    from_file = load_config_file(args.consumer_config) if args.consumer_config else {}
    extra = parse_key_values(args.consumer_property, "consumer property")
    groups = {g for g in (args.group, from_file.get("group.id"), extra.get("group.id")) if g is not None}
    if len(groups) > 1:
        detected = ", ".join(f"'{g}'" for g in sorted(groups))
        raise UsageError(
            "The group ids provided in different places (directly using '--group', via '--consumer-property', "
            f"or via '--consumer.config') do not match. Detected group ids: {detected}"
        )
    if groups and args.partition is not None:
        raise UsageError("Options group and partition cannot be specified together.")
    java = {**from_file, **extra}
    default_reset = "auto.offset.reset" not in java and not args.from_beginning
    if "auto.offset.reset" in java:
        if args.from_beginning and java["auto.offset.reset"] != "earliest":
            raise ToolError(
                f"Can't simultaneously specify --from-beginning and 'auto.offset.reset={java['auto.offset.reset']}', "
                "please remove one option"
            )
    else:
        java["auto.offset.reset"] = "earliest" if args.from_beginning else "latest"
    java["bootstrap.servers"] = bootstrap
    java.setdefault("client.id", "console-consumer")
    # the Java consumer asks the broker to auto-create a subscribed topic (allow.auto.create.topics=true);
    # librdkafka's default is false, and lab flows start the consumer before the producer
    java.setdefault("allow.auto.create.topics", "true")
    if args.isolation_level is not None:
        java["isolation.level"] = args.isolation_level
    else:
        java.setdefault("isolation.level", "read_uncommitted")
    if groups:
        java["group.id"] = groups.pop()
    else:
        java["group.id"] = f"console-consumer-{random.randrange(100000)}"
        java.setdefault("enable.auto.commit", "false")
    settings = client_settings(None, None, java, "consumer")
    settings.conf.setdefault("enable.partition.eof", False)

    offset = "latest"
    if args.offset is not None:
        offset = args.offset.lower()
        if offset not in ("earliest", "latest"):
            try:
                if int(args.offset) < 0:
                    raise ValueError
            except ValueError:
                raise UsageError(
                    f"The provided offset value '{args.offset}' is incorrect. Valid values are 'earliest', 'latest', "
                    "or a non-negative long."
                ) from None
    elif args.from_beginning:
        offset = "earliest"
    timeout = args.timeout_ms if args.timeout_ms is not None and args.timeout_ms >= 0 else None
    return ConsumerOptions(
        conf=settings.conf,
        bootstrap=bootstrap,
        topic=args.topic,
        include=args.include,
        partition=args.partition,
        offset=offset,
        max_messages=args.max_messages if args.max_messages is not None else -1,
        timeout_ms=timeout,
        skip_message_on_error=args.skip_message_on_error,
        formatter_properties=formatter_properties(args),
        formatter_class=args.formatter,
        settings=settings,
        default_reset=default_reset,
        explain=bool(getattr(args, "explain", False)),
    )


def include_regex(raw: str) -> str:
    """Kafka's TopicFilter clean-up (commas mean '|', quotes and spaces dropped), anchored for librdkafka."""
    regex = raw.strip().replace(",", "|").replace(" ", "").strip("\"'")
    return f"^({regex})$"


def to_formatted(msg: Any) -> FormattedRecord:
    """A confluent_kafka Message as the formatter's record."""
    from kcli.tools.formatter import TIMESTAMP_TYPES

    ts_type, ts = msg.timestamp()
    return FormattedRecord(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp_type=TIMESTAMP_TYPES.get(ts_type),
        timestamp=ts,
        key=msg.key(),
        value=msg.value(),
        headers=list(msg.headers() or ()),
    )


def _create_on_subscribe(consumer: Any, opts: ConsumerOptions) -> Any:
    """Create a missing ``--topic`` as Java's consumer does on subscribe; returns the consumer to use.

    One metadata request for all topics tells whether it exists (that request creates nothing);
    if not, one for the topic itself, with auto-creation allowed as Java's consumer asks, creates
    it (when the broker's ``auto.create.topics.enable`` allows). A topic that did not exist when the
    consumer started holds only newer records, so unless the user chose where to start, the
    consumer is rebuilt to read it from the beginning (see the module docstring).
    """
    from confluent_kafka import KafkaException

    from kcli import client

    assert opts.topic is not None
    timeout_s = 10.0
    try:
        if opts.topic in consumer.list_topics(timeout=timeout_s).topics:
            return consumer
        if str(opts.conf.get("allow.auto.create.topics", "false")).lower() == "true":
            consumer.list_topics(opts.topic, timeout=timeout_s)
    except KafkaException:
        return consumer  # the subscription reports what is wrong, as before
    if not opts.default_reset:
        return consumer
    consumer.close()
    return client.build("consumer", {**opts.conf, "auto.offset.reset": "earliest"})


class _Stop(Exception):
    pass


def consume(
    opts: ConsumerOptions,
    formatter: DefaultMessageFormatter,
    out: BinaryIO,
    to_record: Callable[[Any], FormattedRecord] = to_formatted,
) -> int:
    """Run the consumer loop; returns the number of messages processed. Ctrl-C ends it cleanly."""
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, TopicPartition

    from kcli import client

    if opts.settings is not None:
        client.prepare(opts.settings, "consumer")
    else:
        client.wait_for_broker(opts.bootstrap)
    explainer = None
    rebalance: dict[str, Any] = {}
    if opts.explain:
        from kcli.tools.explain import ConsumerExplainer

        explainer = ConsumerExplainer(opts.conf, opts.bootstrap)
        explainer.hook()
        rebalance = {"on_assign": explainer.on_assign, "on_revoke": explainer.on_revoke}
    consumer = client.build("consumer", opts.conf)
    if opts.topic is not None and opts.partition is None:
        consumer = _create_on_subscribe(consumer, opts)
    count = 0
    warned: set[int] = set()
    try:
        if opts.partition is not None:
            assert opts.topic is not None
            offset = {"earliest": OFFSET_BEGINNING, "latest": OFFSET_END}.get(opts.offset)
            consumer.assign(
                [TopicPartition(opts.topic, opts.partition, int(opts.offset) if offset is None else offset)]
            )
            if explainer is not None:
                explainer.assigning_directly(opts.topic, opts.partition, opts.offset)
        elif opts.topic is not None:
            if explainer is not None:
                explainer.subscribing(consumer, opts.topic)
            consumer.subscribe([opts.topic], **rebalance)
        else:
            assert opts.include is not None
            if explainer is not None:
                explainer.subscribing(consumer, f"topics matching {opts.include}")
            consumer.subscribe([include_regex(opts.include)], **rebalance)
        last_record = time.monotonic()
        while opts.max_messages < 0 or count < opts.max_messages:
            wanted = 500 if opts.max_messages < 0 else min(500, opts.max_messages - count)
            poll_s = 0.5 if opts.timeout_ms is None else min(0.5, max(opts.timeout_ms / 1000, 0.01))
            batch = consumer.consume(num_messages=wanted, timeout=poll_s)
            if not batch:
                if opts.timeout_ms is not None and (time.monotonic() - last_record) * 1000 >= opts.timeout_ms:
                    break
                continue
            if explainer is not None:
                explainer.on_records(batch)
            chunks: list[bytes] = []
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    if err.fatal():
                        raise ToolError(f"Consumer error: {err.str()}")
                    if err.code() not in warned:
                        warned.add(err.code())
                        print(f"WARN {err.str()}", file=sys.stderr)
                    continue
                last_record = time.monotonic()
                count += 1
                try:
                    chunks.append(formatter.format(to_record(msg)))
                except FormatError as exc:
                    if not opts.skip_message_on_error:
                        _write(out, chunks)
                        raise ToolError(str(exc)) from None
                    print(f"Error processing message, skipping this message: {exc}", file=sys.stderr)
            _write(out, chunks)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            consumer.close()
        except (KeyboardInterrupt, Exception):
            pass
        if explainer is not None:
            explainer.finish()
        print(f"Processed a total of {count} messages", file=sys.stderr, flush=True)
    return count


def _write(out: BinaryIO, chunks: list[bytes]) -> None:
    if chunks:
        out.write(b"".join(chunks))
        out.flush()


def _body(argv: list[str]) -> int:
    from kcli.serde import SerdeError
    from kcli.tools.formatter import build_formatter

    opts = parse_options(build_parser(), argv)
    try:
        formatter = build_formatter(opts.formatter_class, opts.formatter_properties)
    except SerdeError as exc:
        raise UsageError(str(exc)) from None
    cli.terminate_like_ctrl_c()
    consume(opts, formatter, sys.stdout.buffer)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
