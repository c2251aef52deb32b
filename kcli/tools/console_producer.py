"""kafka-console-producer: one record per line of standard input.

Same options as Kafka's ConsoleProducer (plus the pre-3.x ``--broker-list``, and KIP-1147's
names of Kafka 4.2: ``--command-property``, ``--command-config`` and ``--reader-property``, which
mean ``--producer-property``, ``--producer.config`` and ``--property``; both spellings are accepted
without a deprecation warning, since lectures type the old ones). On a terminal it shows Kafka's
``>`` prompt with line editing and history (prompt-toolkit); from a pipe it prints nothing on
stdout. Every record is delivered or its error reported before the tool exits, and the exit code
is 1 if any record was not delivered, except a record larger than ``max.request.size``
(1048576 as in Java): as Kafka's tool, that one is reported with Java's wording and the tool keeps
reading, exit code 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from kcli.properties import parse_key_values
from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

if TYPE_CHECKING:
    from kcli.java_settings import ClientConfig

PROG = "kafka-console-producer"

#: (option dest, Java producer key, default) merged like Kafka's maybeMergeOptions: an explicit
#: option always wins, its default only applies when the key is not set by a property/file.
_MERGED: list[tuple[str, str, str | None]] = [
    ("timeout", "linger.ms", "1000"),
    ("request_required_acks", "acks", "-1"),
    ("request_timeout_ms", "request.timeout.ms", "1500"),
    ("message_send_max_retries", "retries", "3"),
    ("retry_backoff_ms", "retry.backoff.ms", "100"),
    ("socket_buffer_size", "send.buffer.bytes", "102400"),
    ("batch_size", "batch.size", "16384"),
    ("max_partition_memory_bytes", "batch.size", None),
    ("metadata_expiry_ms", "metadata.max.age.ms", "300000"),
]


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, "This tool helps to read data from standard input and publish it to Kafka.")
    p.add_argument("--topic", metavar="topic", help="REQUIRED: The topic name to produce messages to.")
    cli.add_bootstrap(p, broker_list=True)
    p.add_argument("--sync", action="store_true", help="Send message requests synchronously, one at a time.")
    p.add_argument(
        "--compression-codec",
        nargs="?",
        const="gzip",
        metavar="compression-codec",
        help="The compression codec: 'none', 'gzip', 'snappy', 'lz4' or 'zstd'. Without a value: 'gzip'.",
    )
    p.add_argument("--batch-size", type=int, metavar="size", help="Batch size in bytes (default: 16384).")
    p.add_argument("--message-send-max-retries", type=int, metavar="Integer", help="Retries (default: 3).")
    p.add_argument(
        "--retry-backoff-ms", type=int, metavar="Long", help="Backoff before a retry (default: 100)."
    )
    p.add_argument(
        "--timeout",
        "--linger-ms",
        dest="timeout",
        type=int,
        metavar="timeout_ms",
        help="linger.ms (default: 1000).",
    )
    p.add_argument("--request-required-acks", metavar="request required acks", help="acks (default: -1).")
    p.add_argument("--request-timeout-ms", type=int, metavar="request timeout ms", help="Default: 1500.")
    p.add_argument(
        "--metadata-expiry-ms", type=int, metavar="metadata expiration interval", help="metadata.max.age.ms."
    )
    p.add_argument(
        "--max-block-ms",
        type=int,
        metavar="max block on send",
        help="Max time to block on a full buffer (default: 60000).",
    )
    p.add_argument(
        "--max-memory-bytes",
        type=int,
        metavar="total memory in bytes",
        help="buffer.memory (default: 33554432).",
    )
    p.add_argument(
        "--max-partition-memory-bytes", type=int, metavar="memory in bytes per partition", help="batch.size."
    )
    p.add_argument(
        "--socket-buffer-size", type=int, metavar="size", help="send.buffer.bytes (default: 102400)."
    )
    p.add_argument(
        "--line-reader", metavar="reader_class", default="kafka.tools.LineMessageReader", help="Reader class."
    )
    p.add_argument(
        "--reader-property",
        "--property",
        dest="property",
        action="append",
        metavar="prop",
        help="Reader properties: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, "
        "headers.key.separator, null.marker, ignore.error.",
    )
    p.add_argument("--reader-config", metavar="config file", help="Reader properties file (--property wins).")
    p.add_argument(
        "--command-property",
        "--producer-property",
        dest="producer_property",
        action="append",
        metavar="producer_prop",
        help="Producer setting key=value.",
    )
    p.add_argument(
        "--command-config",
        "--producer.config",
        dest="producer_config",
        metavar="config file",
        help="Producer properties file.",
    )
    cli.add_explain(p)
    return p


#: Java's ``max.request.size`` default; librdkafka's ``message.max.bytes`` (1000000) is smaller.
MAX_REQUEST_SIZE = 1048576


def producer_settings(args: argparse.Namespace, bootstrap: str) -> tuple[ClientConfig, int]:
    """The client settings and the max-block time (ms) for the parsed options."""
    from kcli.client import client_settings, load_config_file

    java: dict[str, str] = {}
    if args.producer_config:
        java.update(load_config_file(args.producer_config))
    java.update(parse_key_values(args.producer_property, "producer property"))
    java["bootstrap.servers"] = bootstrap
    if args.compression_codec is not None:
        java["compression.type"] = args.compression_codec or "gzip"
    java.setdefault("compression.type", "none")
    java.setdefault("client.id", "console-producer")
    for dest, key, default in _MERGED:
        explicit = getattr(args, dest)
        if explicit is not None:
            java[key] = str(explicit)
        elif key not in java and default is not None:
            java[key] = default
    if args.max_memory_bytes is not None or "buffer.memory" in java:
        memory = int(args.max_memory_bytes if args.max_memory_bytes is not None else java["buffer.memory"])
        java["queue.buffering.max.kbytes"] = str(max(1, memory // 1024))
    java.setdefault("delivery.timeout.ms", "120000")
    java.setdefault("max.request.size", str(MAX_REQUEST_SIZE))
    if args.max_block_ms is not None:
        java["max.block.ms"] = str(args.max_block_ms)
    settings = client_settings(None, None, java, "producer")
    # Java's producer puts a keyed record in toPositive(murmur2(key)) % partitions; librdkafka's
    # default (consistent_random, a CRC32) would send the same key elsewhere than Kafka's tool does.
    settings.conf.setdefault("partitioner", "murmur2_random")
    max_block = int(settings.java_only.get("max.block.ms", "60000"))
    return settings, max_block


def reader_properties(args: argparse.Namespace) -> dict[str, str]:
    from kcli.client import load_config_file

    props: dict[str, str] = {}
    if args.reader_config:
        props.update(load_config_file(args.reader_config))
    props["topic"] = args.topic
    props.update(parse_key_values(args.property))
    return props


def input_lines() -> Iterator[str]:
    """Lines to send: with Kafka's ``>`` prompt on a terminal, silently from a pipe (reusable by the
    Avro console producer)."""
    return _lines_from_terminal() if sys.stdin.isatty() and sys.stdout.isatty() else _lines_from_pipe()


def _lines_from_pipe() -> Iterator[str]:
    """Lines of stdin as text, like Java's BufferedReader.readLine (\\n, \\r\\n or \\r ended)."""
    stream = sys.stdin.buffer
    for raw in stream:
        text = raw.decode("utf-8", errors="replace")
        if text.endswith("\r\n"):
            text = text[:-2]
        elif text.endswith(("\n", "\r")):
            text = text[:-1]
        yield text


def _lines_from_terminal() -> Iterator[str]:
    """Interactive lines with Kafka's ``>`` prompt, line editing and history."""
    import os

    if os.environ.get("TERM", "dumb") in ("", "dumb", "unknown"):
        # prompt-toolkit's dumb-terminal mode does not end on Ctrl-D; the line discipline does
        yield from _lines_from_plain_terminal()
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory

    session: PromptSession[str] = PromptSession(history=InMemoryHistory())
    while True:
        try:
            yield session.prompt(">")
        except EOFError:
            return


def _lines_from_plain_terminal() -> Iterator[str]:
    """``>`` prompt with readline editing, for terminals prompt-toolkit cannot drive."""
    try:
        import readline  # noqa: F401  (gives input() line editing and history)
    except ImportError:
        pass
    while True:
        try:
            yield input(">")
        except EOFError:
            print()
            return


class Delivery:
    """Counts deliveries and prints one line per failed record, as Kafka's ErrorLoggingCallback."""

    def __init__(self, topic: str):
        self.topic = topic
        self.failed = 0
        self.delivered = 0
        self.max_request_size = MAX_REQUEST_SIZE
        #: ``--explain``: told about every delivery report (see kcli/tools/explain.py)
        self.observer: Any = None

    def __call__(self, err: Any, msg: Any) -> None:
        if self.observer is not None:
            self.observer(err, msg)
        if err is None:
            self.delivered += 1
            return
        from confluent_kafka import KafkaError

        if err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            # the broker refused the batch: Java's RecordTooLargeException, and Kafka's tool goes on
            self.too_large(msg.key(), msg.value(), SERVER_TOO_LARGE)
            return
        self.failed += 1
        print(
            f"Error when sending message to topic {self.topic} with key: {_size(msg.key())}, "
            f"value: {_size(msg.value())} with error: {err.str()}",
            file=sys.stderr,
        )

    def too_large(self, key: bytes | None, value: bytes | None, reason: str) -> None:
        """Java's ErrorLoggingCallback for a RecordTooLargeException: two lines, nothing fails."""
        print(
            f"ERROR Error when sending message to topic {self.topic} with key: {_size(key)}, value: "
            f"{_size(value)} with error: (org.apache.kafka.clients.producer.internals.ErrorLoggingCallback)\n"
            f"org.apache.kafka.common.errors.RecordTooLargeException: {reason}",
            file=sys.stderr,
            flush=True,
        )


#: The message of Java's RecordTooLargeException for a batch the broker refused.
SERVER_TOO_LARGE = "The request included a message larger than the max message size the server will accept."


def _size(data: bytes | None) -> str:
    return "null" if data is None else f"{len(data)} bytes"


def _varint_size(value: int) -> int:
    """Bytes of Kafka's zig-zag varint for ``value`` (``ByteUtils.sizeOfVarint``)."""
    zigzag = (value << 1) ^ (value >> 31)
    size = 1
    while zigzag >= 0x80:
        zigzag >>= 7
        size += 1
    return size


def serialized_size(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]) -> int:
    """Java's ``estimateSizeInBytesUpperBound`` for one record in its own batch (magic 2): the size
    ``KafkaProducer`` compares with ``max.request.size``."""
    size = 61 + 21  # RECORD_BATCH_OVERHEAD + DefaultRecord.MAX_RECORD_OVERHEAD
    for data in (key, value):
        size += 1 if data is None else _varint_size(len(data)) + len(data)
    size += _varint_size(len(headers))
    for name, data in headers:
        raw = name.encode()
        size += _varint_size(len(raw)) + len(raw)
        size += 1 if data is None else _varint_size(len(data)) + len(data)
    return size


def too_large_reason(size: int, max_request_size: int) -> str:
    return (
        f"The message is {size} bytes when serialized which is larger than {max_request_size}, "
        "which is the value of the max.request.size configuration."
    )


def _produce(producer: Any, topic: str, record: Any, on_delivery: Delivery, max_block_ms: int) -> None:
    """Queue one record, waiting (up to max.block.ms) while librdkafka's queue is full.

    A record over ``max.request.size`` is reported as Java's producer reports it (its size
    estimate, its wording) and skipped: Kafka's console producer goes on with the next line.
    """
    import time

    from confluent_kafka import KafkaError, KafkaException

    size = serialized_size(record.key, record.value, list(record.headers or ()))
    if size > on_delivery.max_request_size:
        on_delivery.too_large(record.key, record.value, too_large_reason(size, on_delivery.max_request_size))
        return
    deadline = time.monotonic() + max_block_ms / 1000
    while True:
        try:
            producer.produce(
                topic,
                value=record.value,
                key=record.key,
                headers=record.headers or None,
                on_delivery=on_delivery,
            )
            return
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                raise
            on_delivery.too_large(
                record.key, record.value, too_large_reason(size, on_delivery.max_request_size)
            )
            return
        except BufferError:
            if time.monotonic() > deadline:
                raise ToolError(
                    f"Failed to send a record to {topic} after {max_block_ms} ms: the send buffer is full"
                ) from None
            producer.poll(0.1)


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.topic:
        raise UsageError('Missing required argument "topic"')
    bootstrap = cli.resolve_bootstrap(parser, args)
    assert bootstrap is not None
    if args.line_reader not in _reader_classes():
        raise UsageError(f"{args.line_reader}: kcli only provides kafka.tools.LineMessageReader")
    from kcli.tools.line_reader import LineMessageReader, ReaderError

    try:
        reader = LineMessageReader(reader_properties(args))
    except ReaderError as exc:
        raise ToolError(str(exc)) from None
    settings, max_block_ms = producer_settings(args, bootstrap)

    from kcli import client

    cli.terminate_like_ctrl_c()
    client.prepare(settings, "producer")
    producer = client.build("producer", settings.conf)
    delivery = Delivery(args.topic)
    delivery.max_request_size = int(settings.conf.get("message.max.bytes", MAX_REQUEST_SIZE))
    explainer = None
    if args.explain:
        from kcli.tools.explain import ProducerExplainer

        explainer = ProducerExplainer(settings.conf, args.topic)
        explainer.start(producer)
        delivery.observer = explainer.on_delivery
    lines = input_lines()
    exit_code = 0
    try:
        for number, line in enumerate(lines, start=1):
            try:
                record = reader.parse(line, number)
            except ReaderError as exc:
                print(str(exc), file=sys.stderr)
                exit_code = 1
                break
            _produce(producer, args.topic, record, delivery, max_block_ms)
            if args.sync:
                producer.flush()
            else:
                producer.poll(0)
    except KeyboardInterrupt:
        pass
    finally:
        remaining = _flush(producer)
    if explainer is not None:
        explainer.finish(remaining)
    if remaining:
        print(
            f"{remaining} record(s) could not be delivered to {args.topic} before the timeout",
            file=sys.stderr,
        )
    if delivery.failed or remaining:
        return 1
    return exit_code


def _flush(producer: Any) -> int:
    """Deliver everything queued; a second Ctrl-C gives up. Returns the records left undelivered."""
    try:
        return int(producer.flush())
    except KeyboardInterrupt:
        return len(producer)


def _reader_classes() -> frozenset[str]:
    from kcli.tools.line_reader import READER_CLASSES

    return READER_CLASSES


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
