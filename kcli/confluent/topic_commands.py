"""The ``topic`` command group, shared by ``confluent kafka topic`` (any cluster, by ``--bootstrap``
or the current context) and ``confluent local kafka topic`` (the local cluster)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcli.confluent import consume, context, produce, topics
from kcli.confluent.errors import CLIError
from kcli.confluent.framework import Args, CobraGroup, Flag, command, group
from kcli.confluent.output import FORMATS

OUTPUT = Flag(
    "output", 'Specify the output format as "human", "json", or "yaml".', short="o", default="human"
)
REGISTRY = Flag("schema-registry-endpoint", "The URL of the Schema Registry cluster.")


def output_format(value: str | None) -> str:
    value = (value or "human").lower()
    if value not in FORMATS:
        raise CLIError(f'invalid value "{value}" for flag `--output`', 'Use "human", "json", or "yaml".')
    return value


Connect = Callable[[dict[str, Any], str], tuple[str, dict[str, Any]]]


def rest_url(values: dict[str, Any]) -> str | None:
    """``--url`` (or ``CONFLUENT_REST_URL``) on commands that have the flag: use a REST Proxy."""
    import os

    if "url" not in values:
        return None
    return values.get("url") or os.environ.get("CONFLUENT_REST_URL") or None


def build(
    parent: CobraGroup, connection_flags: list[Flag], connect: Connect, example_prefix: str
) -> CobraGroup:
    """Add ``topic`` with its seven commands; ``connect(flags, role)`` gives (bootstrap, client conf)."""
    node = group(parent, "topic", "Manage Kafka topics.")

    def admin(values: dict[str, Any]) -> Any:
        bootstrap, conf = connect(values, "admin")
        context.check_reachable(bootstrap)
        return topics.admin(conf)

    def backend(values: dict[str, Any]) -> tuple[Any, Any]:
        """(operations module, its client): a REST Proxy with --url, else the Kafka protocol."""
        rest = rest_url(values)
        if rest:
            from kcli.confluent import rest_admin

            return rest_admin, rest_admin.Rest(rest)
        return topics, admin(values)

    def list_topics(**values: Any) -> None:
        fmt = output_format(values.get("output"))
        ops, client = backend(values)
        ops.list_topics(client, fmt)

    def describe(**values: Any) -> None:
        fmt = output_format(values.get("output"))
        ops, client = backend(values)
        ops.describe(client, values["args"][0], fmt)

    def create(**values: Any) -> None:
        changed = values["changed"]
        ops, client = backend(values)
        ops.create(
            client,
            values["args"][0],
            values["partitions"] if "partitions" in changed else None,
            values["replication_factor"] if "replication_factor" in changed else None,
            topics.parse_configs(values["config"]),
            values["if_not_exists"],
        )

    def update(**values: Any) -> None:
        if not values["config"]:
            raise CLIError('required flag(s) "config" not set')
        topics.update(
            admin(values),
            values["args"][0],
            topics.parse_configs(values["config"]),
            output_format(values.get("output")),
        )

    def delete(**values: Any) -> None:
        topics.delete(admin(values), values["args"][0], values["force"])

    def produce_cmd(**values: Any) -> None:
        bootstrap, conf = connect(values, "producer")
        context.check_reachable(bootstrap)
        produce.produce(
            conf,
            values["args"][0],
            produce.check_format("value-format", values["value_format"]),
            produce.check_format("key-format", values["key_format"]),
            values["parse_key"],
            values["delimiter"],
            context.registry(values.get("schema_registry_endpoint")),
            values["schema"],
            values["schema_id"],
            values["key_schema"],
            values["references"],
        )

    def consume_cmd(**values: Any) -> None:
        bootstrap, conf = connect(values, "consumer")
        context.check_reachable(bootstrap)
        consume.consume(
            conf,
            values["args"][0],
            values["group"],
            values["from_beginning"],
            values["partition"] if "partition" in values["changed"] else None,
            values["offset"] if "offset" in values["changed"] else None,
            values["print_key"],
            values["delimiter"],
            produce.check_format("value-format", values["value_format"]),
            produce.check_format("key-format", values["key_format"]),
            context.registry(values.get("schema_registry_endpoint")),
            values["timestamp"],
        )

    topic_arg = Args(1, 1, "<topic>")
    command(node, "list", "List Kafka topics.", list_topics, [*connection_flags, OUTPUT])
    command(
        node, "describe", "Describe a Kafka topic.", describe, [*connection_flags, OUTPUT], args=topic_arg
    )
    command(
        node,
        "create",
        "Create a Kafka topic.",
        create,
        [
            *connection_flags,
            Flag("partitions", "Number of topic partitions.", "uint32"),
            Flag("replication-factor", "Number of replicas.", "uint32"),
            Flag(
                "config",
                'A comma-separated list of configuration overrides ("key=value") for the topic being created.',
                "stringSlice",
            ),
            Flag("if-not-exists", "Exit gracefully if topic already exists.", "bool"),
        ],
        args=topic_arg,
        example=f'  Create a topic named "my_topic".\n\n  $ {example_prefix} topic create my_topic --partitions 6\n',
    )
    command(
        node,
        "update",
        "Update a Kafka topic.",
        update,
        [
            *connection_flags,
            Flag(
                "config",
                'A comma-separated list of topic configuration ("key=value") overrides.',
                "stringSlice",
            ),
            OUTPUT,
        ],
        args=topic_arg,
    )
    command(
        node,
        "delete",
        "Delete a Kafka topic.",
        delete,
        [*connection_flags, Flag("force", "Skip the deletion confirmation prompt.", "bool")],
        args=topic_arg,
    )
    format_usage = '"string", "integer", "double", "avro", "jsonschema", or "protobuf"'
    command(
        node,
        "produce",
        "Produce messages to a Kafka topic.",
        produce_cmd,
        [
            *connection_flags,
            Flag("parse-key", "Parse key from the message.", "bool"),
            Flag("delimiter", "The delimiter separating each key and value.", default=":"),
            Flag("value-format", f"Format of message value as {format_usage}.", default="string"),
            Flag("key-format", f"Format of message key as {format_usage}.", default="string"),
            Flag("schema", "The ID or filepath of the message value schema."),
            Flag("schema-id", "The ID of the message value schema.", "int"),
            Flag("key-schema", "The filepath of the message key schema."),
            Flag("references", "The path to the message value schema references file."),
            REGISTRY,
            Flag(
                "config",
                'A comma-separated list of configuration overrides ("key=value") for the producer client.',
                "stringSlice",
            ),
        ],
        args=topic_arg,
    )
    command(
        node,
        "consume",
        "Consume messages from a Kafka topic.",
        consume_cmd,
        [
            *connection_flags,
            Flag("group", "Consumer group ID."),
            Flag("from-beginning", "Consume from beginning of the topic.", "bool", short="b"),
            Flag("offset", "The offset from the beginning to consume from.", "int"),
            Flag("partition", "The partition to consume from.", "int"),
            Flag("print-key", "Print key of the message.", "bool"),
            Flag("delimiter", "The delimiter separating each key and value.", default="\t"),
            Flag("timestamp", "Print message timestamp in milliseconds.", "bool"),
            Flag("value-format", f"Format of message value as {format_usage}.", default="string"),
            Flag("key-format", f"Format of message key as {format_usage}.", default="string"),
            REGISTRY,
            Flag(
                "config",
                'A comma-separated list of configuration overrides ("key=value") for the consumer client.',
                "stringSlice",
            ),
        ],
        args=topic_arg,
    )
    return node
