"""kafka-delete-records: delete records below an offset, per partition, from a JSON file.

The file is Kafka's ``{"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version": 1}``
(offset -1 means the high watermark). Output, as DeleteRecordsCommand:
``Executing records delete operation`` / ``Records delete operation completed:`` /
``partition: foo-1\tlow_watermark: 1``, and for a partition that failed Java's
``partition: foo-1\terror: <exception class>: <message>`` (an offset past the end is
``OffsetOutOfRangeException``; a topic the cluster does not know is reported as Java's admin
client reports it, without asking the broker to delete anything). Kafka exits 0 even then; kcli
exits 1 when a partition failed, so that scripts notice.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-delete-records"


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(
        PROG, "This tool helps to delete records of the given partitions down to the specified offset."
    )
    p.add_argument(
        "--bootstrap-server",
        metavar="server(s) to use for bootstrapping",
        help="REQUIRED: The server to connect to.",
    )
    p.add_argument(
        "--offset-json-file",
        metavar="Offset json file path",
        help='REQUIRED: JSON file with offset per partition: {"partitions": [{"topic": "foo", "partition": 1, '
        '"offset": 1}], "version": 1}',
    )
    p.add_argument(
        "--command-config", metavar="command config property file path", help="Admin client properties file."
    )
    return p


def parse_offset_json(text: str) -> list[tuple[str, int, int]]:
    """(topic, partition, offset) entries; duplicates and unknown versions are errors, as in Kafka."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ToolError("The input string is not a valid JSON") from None
    if not isinstance(data, dict):
        raise ToolError("The input string is not a valid JSON")
    version = data.get("version", 1)
    if version != 1:
        raise ToolError(f"Not supported version field value {version}")
    if "partitions" not in data:
        raise ToolError("Missing partitions field")
    entries: list[tuple[str, int, int]] = []
    try:
        for item in data["partitions"]:
            entries.append((str(item["topic"]), int(item["partition"]), int(item["offset"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"Invalid partition entry in the offset JSON file: {exc}") from None
    seen: set[tuple[str, int]] = set()
    duplicates = []
    for topic, partition, _ in entries:
        if (topic, partition) in seen:
            duplicates.append(f"{topic}-{partition}")
        seen.add((topic, partition))
    if duplicates:
        raise ToolError(f"Offset json file contains duplicate topic partitions: {','.join(duplicates)}")
    return entries


#: Kafka's own messages (``Errors``) for the errors DeleteRecords meets; others keep librdkafka's text.
JAVA_MESSAGES = {
    1: "The requested offset is not within the range of offsets maintained by the server.",
    3: "This server does not host this topic-partition.",
    6: "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.",
    7: "The request timed out.",
    29: "Topic authorization failed.",
    44: "The request parameters do not satisfy the configured policy.",
}


def java_exception(code: int, message: str) -> str:
    """``org.apache.kafka.common.errors.<Name>Exception: <message>`` as Java's ``toString``."""
    from kio.schema.errors import ErrorCode

    try:
        name = ErrorCode(code).name
    except ValueError:
        return message
    camel = "".join(part.capitalize() for part in name.split("_"))
    if not camel.endswith("Exception"):
        camel += "Exception"
    return f"org.apache.kafka.common.errors.{camel}: {JAVA_MESSAGES.get(code, message)}"


def unknown_topic(topic: str, partition: int) -> str:
    """What Java's admin client (PartitionLeaderStrategy) says for a topic missing from metadata."""
    return (
        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Failed to fetch metadata for "
        f"partition {topic}-{partition} because metadata for topic `{topic}` could not be found"
    )


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for dest, name in (("bootstrap_server", "bootstrap-server"), ("offset_json_file", "offset-json-file")):
        if not getattr(args, dest):
            raise UsageError(f'Missing required argument "{name}"')
    try:
        with open(args.offset_json_file, encoding="utf-8") as handle:
            entries = parse_offset_json(handle.read())
    except OSError as exc:
        raise ToolError(f"{args.offset_json_file} ({exc.strerror})") from None
    from confluent_kafka import KafkaException, TopicPartition

    from kcli.client import kafka_error_text
    from kcli.tools.admin import admin_client, list_topic_metadata

    admin = admin_client(args.bootstrap_server, args.command_config)
    print("Executing records delete operation")
    known = list_topic_metadata(admin).topics
    wanted = [(t, p, o) for t, p, o in entries if t in known and p in known[t].partitions]
    futures = (
        admin.delete_records(
            [TopicPartition(t, p, o) for t, p, o in wanted], request_timeout=30, operation_timeout=30
        )
        if wanted
        else {}
    )
    results = {(tp.topic, tp.partition): future for tp, future in futures.items()}
    print("Records delete operation completed:")
    failed = False
    for topic, partition, _ in entries:
        future = results.get((topic, partition))
        if future is None:
            failed = True
            error = unknown_topic(topic, partition) if topic not in known else java_exception(3, "")
            print(f"partition: {topic}-{partition}\terror: {error}")
            continue
        try:
            result = future.result(timeout=60)
            print(f"partition: {topic}-{partition}\tlow_watermark: {result.low_watermark}")
        except KafkaException as exc:
            failed = True
            err = exc.args[0]
            code = err.code() if hasattr(err, "code") else -1
            text = java_exception(code, kafka_error_text(exc)) if code > 0 else kafka_error_text(exc)
            print(f"partition: {topic}-{partition}\terror: {text}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
