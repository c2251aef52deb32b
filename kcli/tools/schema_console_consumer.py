"""The schema-aware console consumers (Avro, JSON Schema, Protobuf): the console consumer with a
registry-backed deserializer.

Options, print properties and the consumer loop are the plain console consumer's
(:mod:`kcli.tools.console_consumer`); a tool module names its :class:`ConsumerFormat` and calls
:func:`run`. Records are decoded by :class:`kcli.schema_registry.decoding.SchemaDecoder` and
printed as Confluent's formatters print them: Avro-JSON (``{"faxNumber":{"string":"x"}}``), the
JSON itself, protobuf's JSON mapping. Extra properties: ``schema.registry.url`` (``http://localhost:8081`` unless given),
``print.schema.ids`` (false) and ``schema.id.separator`` (tab). A key that is not in the wire
format (a plain string key) is printed as text rather than failing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kcli.tools import cli
from kcli.tools.cli import ToolParser, UsageError

#: Confluent's tools use the local registry when ``schema.registry.url`` is not given.
DEFAULT_REGISTRY_URL = "http://localhost:8081"
#: Confluent's generic formatter, accepted by every schema-aware consumer.
SCHEMA_FORMATTER = "io.confluent.kafka.formatter.SchemaMessageFormatter"


@dataclass(frozen=True)
class ConsumerFormat:
    name: str  # "Avro", "JSON Schema", "Protobuf"
    prog: str
    deserializer: str  # Confluent's deserializer class name, which selects this tool's decoding
    formatters: frozenset[str]  # Confluent's formatter class names: this tool's own formatting


def build_parser(fmt: ConsumerFormat) -> ToolParser:
    from kcli.tools.console_consumer import build_parser as consumer_parser

    parser = consumer_parser(fmt.prog)
    parser.description = f"Reads {fmt.name} records from Kafka topics and prints them as JSON."
    return parser


def schema_text(
    url: str, is_key: bool, print_ids: bool, id_separator: str
) -> Callable[[bytes | None], str | None]:
    """Wire-format bytes -> JSON text (plus ``<sep><schema id>`` when asked)."""
    from kcli.schema_registry.client import SchemaRegistryClient
    from kcli.schema_registry.decoding import MAGIC_BYTE, SchemaDecoder

    decoder = SchemaDecoder(SchemaRegistryClient(url))

    def deserialize(data: bytes | None) -> str | None:
        if data is None:
            return None
        if is_key and (len(data) < 5 or data[0] != MAGIC_BYTE):
            return data.decode("utf-8", errors="replace")
        decoded = decoder.decode(data)
        return f"{decoded.text}{id_separator}{decoded.schema_id}" if print_ids else decoded.text

    return deserialize


def _body(fmt: ConsumerFormat, argv: list[str]) -> int:
    from kcli.serde import SerdeError
    from kcli.tools.console_consumer import consume, parse_options
    from kcli.tools.formatter import DEFAULT_FORMATTER, build_formatter

    opts = parse_options(build_parser(fmt), argv)
    props = opts.formatter_properties
    url = props.get("schema.registry.url") or DEFAULT_REGISTRY_URL
    print_ids = props.get("print.schema.ids", "false").lower() == "true"
    separator = props.get("schema.id.separator", "\t")
    plain = {k: v for k, v in props.items() if k not in ("key.deserializer", "value.deserializer")}
    ours = fmt.formatters | {SCHEMA_FORMATTER}
    formatter_class = DEFAULT_FORMATTER if opts.formatter_class in ours else opts.formatter_class
    explicit = {
        k: v
        for k, v in props.items()
        if k in ("key.deserializer", "value.deserializer") and v != fmt.deserializer
    }
    try:
        formatter = build_formatter(formatter_class, {**plain, **explicit})
    except SerdeError as exc:
        raise UsageError(str(exc)) from None
    # the schema's format unless the user chose another deserializer (e.g. StringDeserializer for keys)
    if props.get("value.deserializer", fmt.deserializer) == fmt.deserializer:
        formatter.value_deserializer = schema_text(url, False, print_ids, separator)
    if props.get("key.deserializer", fmt.deserializer) == fmt.deserializer:
        formatter.key_deserializer = schema_text(url, True, print_ids, separator)
    cli.terminate_like_ctrl_c()
    consume(opts, formatter, sys.stdout.buffer)
    return 0


def run(fmt: ConsumerFormat, argv: Sequence[str] | None = None) -> int:
    """A schema-aware console consumer's ``main``."""
    return cli.run(lambda args: _body(fmt, args), argv, lambda: build_parser(fmt))
