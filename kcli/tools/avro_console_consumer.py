"""kafka-avro-console-consumer: the console consumer printing Avro records as Avro-JSON.

Options, print properties and the consumer loop are the plain console consumer's
(:mod:`kcli.tools.console_consumer`); this tool only sets the value (and key) deserializer to the
Avro one, like Confluent's AvroMessageFormatter: ``{"id":1,"name":"Ann","faxNumber":{"string":"x"}}``.
Extra properties: ``schema.registry.url`` (``http://localhost:8081`` unless given, as in
Confluent's scripts), ``print.schema.ids`` (false) and
``schema.id.separator`` (tab) to print each key's/value's schema id after it. A key that is not in
the wire format (a plain string key) is printed as text rather than failing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from kcli.tools import cli
from kcli.tools.cli import ToolParser, UsageError

PROG = "kafka-avro-console-consumer"
AVRO_DESERIALIZER = "io.confluent.kafka.serializers.KafkaAvroDeserializer"
#: Confluent's tools use the local registry when ``schema.registry.url`` is not given.
DEFAULT_REGISTRY_URL = "http://localhost:8081"
#: Confluent's formatter class names, typed by older tutorials (``--formatter ...AvroMessageFormatter``):
#: this tool's own formatting is exactly that, so they select the default formatter.
AVRO_FORMATTERS = frozenset(
    {
        "io.confluent.kafka.formatter.AvroMessageFormatter",
        "io.confluent.kafka.formatter.SchemaMessageFormatter",
    }
)


def build_parser() -> ToolParser:
    from kcli.tools.console_consumer import build_parser as consumer_parser

    parser = consumer_parser(PROG)
    parser.description = "Reads Avro records from Kafka topics and prints them as Avro-JSON."
    return parser


def avro_text(
    url: str, is_key: bool, print_ids: bool, id_separator: str
) -> Callable[[bytes | None], str | None]:
    """Wire-format bytes -> Avro-JSON (plus ``<sep><schema id>`` when asked)."""
    from kcli.schema_registry.client import SchemaRegistryClient
    from kcli.schema_registry.serde import MAGIC_BYTE, AvroDecoder

    decoder = AvroDecoder(SchemaRegistryClient(url))

    def deserialize(data: bytes | None) -> str | None:
        if data is None:
            return None
        if is_key and (len(data) < 5 or data[0] != MAGIC_BYTE):
            return data.decode("utf-8", errors="replace")
        text, schema_id = decoder.decode(data)
        return f"{text}{id_separator}{schema_id}" if print_ids else text

    return deserialize


def _body(argv: list[str]) -> int:
    from kcli.serde import SerdeError
    from kcli.tools.console_consumer import consume, parse_options
    from kcli.tools.formatter import DEFAULT_FORMATTER, build_formatter

    opts = parse_options(build_parser(), argv)
    props = opts.formatter_properties
    url = props.get("schema.registry.url") or DEFAULT_REGISTRY_URL
    print_ids = props.get("print.schema.ids", "false").lower() == "true"
    separator = props.get("schema.id.separator", "\t")
    plain = {k: v for k, v in props.items() if k not in ("key.deserializer", "value.deserializer")}
    formatter_class = DEFAULT_FORMATTER if opts.formatter_class in AVRO_FORMATTERS else opts.formatter_class
    try:
        formatter = build_formatter(formatter_class, {**plain, **_explicit(props)})
    except SerdeError as exc:
        raise UsageError(str(exc)) from None
    # Avro unless the user chose another deserializer (e.g. StringDeserializer for plain keys)
    if props.get("value.deserializer", AVRO_DESERIALIZER) == AVRO_DESERIALIZER:
        formatter.value_deserializer = avro_text(url, False, print_ids, separator)
    if props.get("key.deserializer", AVRO_DESERIALIZER) == AVRO_DESERIALIZER:
        formatter.key_deserializer = avro_text(url, True, print_ids, separator)
    cli.terminate_like_ctrl_c()
    consume(opts, formatter, sys.stdout.buffer)
    return 0


def _explicit(props: dict[str, str]) -> dict[str, str]:
    """Non-Avro deserializers the user named, passed to the formatter as they are."""
    return {
        k: v
        for k, v in props.items()
        if k in ("key.deserializer", "value.deserializer") and v != AVRO_DESERIALIZER
    }


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
