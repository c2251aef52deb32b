"""The schema-aware console producers (Avro, JSON Schema, Protobuf): one loop, one option set.

Confluent's ``kafka-avro-console-producer``, ``kafka-json-schema-console-producer`` and
``kafka-protobuf-console-producer`` differ only in the schema language; each tool module names
its :class:`SchemaFormat` and calls :func:`run`. Options are the console producer's plus the
schema properties (``--property``): ``schema.registry.url``, ``value.schema`` /
``value.schema.file`` / ``value.schema.id``, the same for ``key.``, ``value.refs`` / ``key.refs``
(a JSON array of references, as Confluent's tools take them), ``parse.key``, ``key.separator``,
``auto.register.schemas`` (true), ``use.latest.version``. Schemas are registered under
``<topic>-value`` / ``<topic>-key`` (TopicNameStrategy); each line is JSON in the format's own
mapping (Avro's JSON encoding, plain JSON, protobuf's JSON mapping).

From a pipe every line is checked before anything is sent, so a bad line 7 sends nothing and the
error names line 7 and the field; at a terminal each line is sent as it is typed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kcli.properties import parse_key_values
from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

#: Confluent's tools use the local registry when ``schema.registry.url`` is not given.
DEFAULT_REGISTRY_URL = "http://localhost:8081"


@dataclass(frozen=True)
class SchemaFormat:
    """What differs between the schema-aware producers."""

    name: str  # as messages say it: "Avro", "JSON Schema", "Protobuf"
    schema_type: str  # the registry's schemaType
    prog: str
    make_encoder: Callable[[Any, Any, int, dict[str, str], str], Any]  # (client, parsed, id, props, prefix)


def build_parser(fmt: SchemaFormat) -> ToolParser:
    """The console producer's parser under the tool's name."""
    from kcli.tools.console_producer import build_parser as producer_parser

    parser = producer_parser()
    parser.prog = fmt.prog
    parser.description = f"Reads JSON lines from standard input and publishes them to Kafka in {fmt.name}."
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


def _references(props: dict[str, str], prefix: str) -> list[dict[str, Any]]:
    import orjson

    raw = props.get(f"{prefix}.refs")
    if not raw:
        return []
    try:
        refs = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UsageError(
            f'{prefix}.refs must be a JSON array like [{{"name":...,"subject":...,"version":1}}]'
        ) from None
    if not isinstance(refs, list):
        raise UsageError(f"{prefix}.refs must be a JSON array of references")
    return refs


def build_encoder(props: dict[str, str], topic: str, prefix: str, required: bool, fmt: SchemaFormat) -> Any:
    """An encoder for ``<topic>-<prefix>``, or None when no schema is given and none is required."""
    from kcli.schema_registry.client import RegistryClientError, SchemaRegistryClient
    from kcli.schema_registry.client_schemas import parse_registered, parse_text
    from kcli.schema_registry.errors import RegistryError

    subject = f"{topic}-{prefix}"
    text = _schema_text(props, prefix)
    by_id = props.get(f"{prefix}.schema.id")
    latest = props.get("use.latest.version", "false").lower() == "true"
    if text is None and by_id is None and not latest:
        if required:
            raise UsageError(
                f"Must provide the {fmt.name} schema: --property {prefix}.schema='...', "
                f"{prefix}.schema.file=FILE or {prefix}.schema.id=N"
            )
        return None
    client = SchemaRegistryClient(props.get("schema.registry.url") or DEFAULT_REGISTRY_URL)
    refs = _references(props, prefix)
    try:
        if text is not None:
            try:
                parsed = parse_text(client, fmt.schema_type, text, refs)
            except RegistryError as exc:
                raise ToolError(f"Error parsing the {prefix} schema: {exc.message}") from None
            if props.get("auto.register.schemas", "true").lower() == "false":
                schema_id = client.lookup(subject, parsed.canonical, fmt.schema_type, refs).schema_id
            else:
                schema_id = client.register(subject, parsed.canonical, fmt.schema_type, refs)
            return fmt.make_encoder(client, parsed, schema_id, props, prefix)
        found = client.get_schema_by_id(int(by_id)) if by_id is not None else client.latest(subject)
        if found.schema_type != fmt.schema_type:
            raise ToolError(
                f"Schema {found.schema_id} is a {found.schema_type} schema, not {fmt.schema_type}"
            )
        return fmt.make_encoder(client, parse_registered(client, found), found.schema_id, props, prefix)
    except RegistryClientError as exc:
        code = f" (error code {exc.error_code})" if exc.error_code else ""
        raise ToolError(f"Error registering {fmt.name} schema for subject {subject}: {exc}{code}") from None
    except RegistryError as exc:
        raise ToolError(f"Error reading the {fmt.name} schema of subject {subject}: {exc.message}") from None
    except ValueError as exc:
        if by_id is not None and not by_id.isdigit():
            raise UsageError(f"{prefix}.schema.id must be a number, got {by_id}") from None
        raise ToolError(f"Error preparing the {fmt.name} schema of subject {subject}: {exc}") from None


def _body(fmt: SchemaFormat, argv: list[str]) -> int:
    from kcli.tools.console_producer import Delivery, input_lines, producer_settings

    parser = build_parser(fmt)
    args = parser.parse_args(argv)
    if not args.topic:
        raise UsageError('Missing required argument "topic"')
    bootstrap = cli.resolve_bootstrap(parser, args)
    assert bootstrap is not None
    from kcli.client import load_config_file

    props: dict[str, str] = load_config_file(args.reader_config) if args.reader_config else {}
    props.update(parse_key_values(args.property))
    parse_key = props.get("parse.key", "false").lower() == "true"
    separator = props.get("key.separator", "\t")
    props.setdefault("schema.registry.url", DEFAULT_REGISTRY_URL)
    settings, _max_block_ms = producer_settings(args, bootstrap)

    from kcli import client

    if not any(
        k in props for k in ("value.schema", "value.schema.file", "value.schema.id", "use.latest.version")
    ):
        raise UsageError(
            f"Must provide the {fmt.name} schema: --property value.schema='...', "
            "value.schema.file=FILE or value.schema.id=N"
        )
    client.prepare(settings, "producer")
    value_encoder = build_encoder(props, args.topic, "value", True, fmt)
    key_encoder = build_encoder(props, args.topic, "key", False, fmt) if parse_key else None

    def encode_line(number: int, line: str) -> tuple[bytes | None, bytes]:
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
        except ValueError as exc:  # AvroJsonError, SchemaValueError: the message names the field
            raise ToolError(
                f"Error on line {number}: the {what} does not match its {fmt.name} schema: {exc}"
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
                    key, value = encode_line(number, line)
                except ToolError as exc:
                    print(str(exc), file=sys.stderr)
                    exit_code = 1
                    break
                producer.produce(args.topic, value=value, key=key, on_delivery=delivery)
                producer.poll(0)
        else:
            records = [encode_line(n, line) for n, line in enumerate(input_lines(), start=1) if line.strip()]
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


def run(fmt: SchemaFormat, argv: Sequence[str] | None = None) -> int:
    """A schema-aware console producer's ``main``."""
    return cli.run(lambda args: _body(fmt, args), argv, lambda: build_parser(fmt))
