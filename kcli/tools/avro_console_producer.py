"""kafka-avro-console-producer: Avro-JSON lines in, Confluent wire-format records out.

The console producer's options plus the schema properties of Confluent's tool (``--property``):
``schema.registry.url`` (``http://localhost:8081`` unless given, as in Confluent's scripts), ``value.schema`` / ``value.schema.file`` / ``value.schema.id``, the same
for ``key.``, ``parse.key``, ``key.separator``, ``auto.register.schemas`` (true),
``use.latest.version``. Schemas are registered under ``<topic>-value`` / ``<topic>-key``
(TopicNameStrategy). Each line is Avro's JSON encoding (unions as ``{"string": "x"}``).

From a pipe every line is checked before anything is sent, so a bad line 7 sends nothing and the
error names line 7 and the field; at a terminal each line is sent as it is typed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-avro-console-producer"
#: Confluent's tools use the local registry when ``schema.registry.url`` is not given.
DEFAULT_REGISTRY_URL = "http://localhost:8081"
SCHEMA_PROPERTIES = (
    "schema.registry.url",
    "value.schema",
    "value.schema.file",
    "value.schema.id",
    "key.schema",
    "key.schema.file",
    "key.schema.id",
    "auto.register.schemas",
    "use.latest.version",
)


def build_parser() -> ToolParser:
    """The console producer's parser under this tool's name."""
    from kcli.tools.console_producer import build_parser as producer_parser

    parser = producer_parser()
    parser.prog = PROG
    parser.description = "Reads Avro-JSON lines from standard input and publishes them to Kafka in Avro."
    return parser


def _schema_text(props: dict[str, str], prefix: str) -> str | None:
    if f"{prefix}.schema" in props:
        return props[f"{prefix}.schema"]
    if f"{prefix}.schema.file" in props:
        path = Path(props[f"{prefix}.schema.file"]).expanduser()
        try:
            return path.read_text()
        except OSError as exc:
            raise ToolError(f"Cannot read {prefix}.schema.file {path}: {exc.strerror}") from None
    return None


def build_encoder(props: dict[str, str], topic: str, prefix: str, required: bool) -> Any:
    """An AvroEncoder for ``<topic>-<prefix>``, or None when no schema is given and none is required."""
    from kcli.schema_registry import avro_schema
    from kcli.schema_registry.client import RegistryClientError, SchemaRegistryClient
    from kcli.schema_registry.errors import RegistryError
    from kcli.schema_registry.serde import AvroEncoder

    subject = f"{topic}-{prefix}"
    text = _schema_text(props, prefix)
    by_id = props.get(f"{prefix}.schema.id")
    latest = props.get("use.latest.version", "false").lower() == "true"
    if text is None and by_id is None and not latest:
        if required:
            raise UsageError(
                f"Must provide the Avro schema: --property {prefix}.schema='{{...}}', "
                f"{prefix}.schema.file=FILE or {prefix}.schema.id=N"
            )
        return None
    client = SchemaRegistryClient(props.get("schema.registry.url") or DEFAULT_REGISTRY_URL)
    try:
        if text is not None:
            try:
                schema = avro_schema.parse(text)
            except RegistryError as exc:
                raise ToolError(f"Error parsing the {prefix} schema: {exc.message}") from None
            if props.get("auto.register.schemas", "true").lower() == "false":
                schema_id = client.lookup(subject, schema.canonical).schema_id
            else:
                schema_id = client.register(subject, schema.canonical)
            return AvroEncoder(client, schema, schema_id)
        found = client.get_schema_by_id(int(by_id)) if by_id is not None else client.latest(subject)
        return AvroEncoder(client, avro_schema.parse(found.schema), found.schema_id)
    except RegistryClientError as exc:
        code = f" (error code {exc.error_code})" if exc.error_code else ""
        raise ToolError(f"Error registering Avro schema for subject {subject}: {exc}{code}") from None
    except ValueError:
        raise UsageError(f"{prefix}.schema.id must be a number, got {by_id}") from None


def _body(argv: list[str]) -> int:
    from kcli.schema_registry.avro_json import AvroJsonError
    from kcli.tools.console_producer import Delivery, input_lines, producer_settings

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.topic:
        raise UsageError('Missing required argument "topic"')
    bootstrap = cli.resolve_bootstrap(parser, args)
    assert bootstrap is not None
    from kcli.client import load_config_file

    props: dict[str, str] = load_config_file(args.reader_config) if args.reader_config else {}
    props.update(cli.parse_key_values(args.property))
    parse_key = props.get("parse.key", "false").lower() == "true"
    separator = props.get("key.separator", "\t")
    props.setdefault("schema.registry.url", DEFAULT_REGISTRY_URL)
    settings, _max_block_ms = producer_settings(args, bootstrap)

    from kcli import client

    if not any(
        k in props for k in ("value.schema", "value.schema.file", "value.schema.id", "use.latest.version")
    ):
        raise UsageError(
            "Must provide the Avro schema: --property value.schema='{...}', value.schema.file=FILE or value.schema.id=N"
        )
    client.prepare(settings, "producer")
    value_encoder = build_encoder(props, args.topic, "value", required=True)
    key_encoder = build_encoder(props, args.topic, "key", required=False) if parse_key else None

    def encode(number: int, line: str) -> tuple[bytes | None, bytes]:
        key: bytes | None = None
        if parse_key:
            if separator not in line:
                raise ToolError(f"Error on line {number}: no key separator {separator!r} found in: {line}")
            key_text, line = line.split(separator, 1)
            key = key_text.encode() if key_encoder is None else _encode(key_encoder, number, key_text, "key")
        return key, _encode(value_encoder, number, line, "value")

    def _encode(encoder: Any, number: int, text: str, what: str) -> bytes:
        try:
            return encoder.encode_json(text)
        except AvroJsonError as exc:
            raise ToolError(
                f"Error on line {number}: the {what} does not match its Avro schema: {exc}"
            ) from None

    cli.terminate_like_ctrl_c()
    interactive = sys.stdin.isatty()
    producer = client.build("producer", settings.conf)
    delivery = Delivery(args.topic)
    exit_code = 0
    try:
        if interactive:
            for number, line in enumerate(input_lines(), start=1):
                try:
                    key, value = encode(number, line)
                except ToolError as exc:
                    print(str(exc), file=sys.stderr)
                    exit_code = 1
                    break
                producer.produce(args.topic, value=value, key=key, on_delivery=delivery)
                producer.poll(0)
        else:
            records = [encode(n, line) for n, line in enumerate(input_lines(), start=1) if line.strip()]
            for key, value in records:
                while True:
                    try:
                        producer.produce(args.topic, value=value, key=key, on_delivery=delivery)
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
    except KeyboardInterrupt:
        pass
    finally:
        remaining = producer.flush(30)
    if remaining:
        print(f"{remaining} record(s) could not be delivered to {args.topic}", file=sys.stderr)
    return 1 if delivery.failed or remaining else exit_code


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
