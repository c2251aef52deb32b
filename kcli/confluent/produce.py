"""``confluent kafka topic produce`` and ``confluent local kafka topic produce``.

Lines from standard input become records: ``--parse-key`` splits each at ``--delimiter`` (``:``
by default, as the Confluent CLI does), and each side is written in its format: ``string``
(UTF-8), ``integer`` (4-byte big-endian), ``double`` (8-byte big-endian), or with a schema,
``avro``, ``jsonschema``, ``protobuf`` in Confluent's wire format, the schema (``--schema FILE``,
or ``--schema-id N``) registered under ``<topic>-value``/``-key``. The schema work is the
console producers' (:func:`kcli.tools.schema_console_producer.build_encoder`), so the CLI and
``kafka-*-console-producer`` accept and refuse the same values; a value that does not match its
schema stops the command with an error naming the line and the field.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

from kcli.confluent.errors import CLIError

PLAIN = ("string", "integer", "double")
SCHEMA = ("avro", "jsonschema", "protobuf")
FORMATS = PLAIN + SCHEMA


def schema_format(name: str) -> Any:
    if name == "avro":
        from kcli.tools.avro_console_producer import FORMAT
    elif name == "jsonschema":
        from kcli.tools.json_schema_console_producer import FORMAT
    else:
        from kcli.tools.protobuf_console_producer import FORMAT
    return FORMAT


def check_format(flag: str, value: str) -> str:
    value = value.lower()
    if value not in FORMATS:
        raise CLIError(f'invalid value "{value}" for flag `--{flag}`', f"Use one of: {', '.join(FORMATS)}.")
    return value


def plain_encoder(fmt: str) -> Any:
    def encode(text: str) -> bytes:
        if fmt == "string":
            return text.encode()
        try:
            if fmt == "integer":
                return struct.pack(">i", int(text))
            return struct.pack(">d", float(text))
        except (ValueError, struct.error):
            raise ValueError(f'"{text}" is not a valid {fmt}') from None

    return encode


def _schema_encoder(
    fmt: str,
    topic: str,
    prefix: str,
    registry: str,
    schema: str | None,
    schema_id: int | None,
    references: str | None,
) -> Any:
    from kcli.tools.cli import ToolError, UsageError
    from kcli.tools.schema_console_producer import build_encoder

    props = {"schema.registry.url": registry}
    if schema:
        path = Path(schema).expanduser()
        if not path.is_file():
            raise CLIError(f"open {schema}: no such file or directory")
        props[f"{prefix}.schema.file"] = str(path)
    elif schema_id is not None:
        props[f"{prefix}.schema.id"] = str(schema_id)
    else:
        raise CLIError(
            f"a schema is required for the {fmt} {prefix} format",
            f"Pass --{'key-' if prefix == 'key' else ''}schema FILE or --schema-id N.",
        )
    if references:
        try:
            props[f"{prefix}.refs"] = Path(references).expanduser().read_text()
        except OSError as exc:
            raise CLIError(f"open {references}: {exc.strerror}") from None
    try:
        encoder = build_encoder(props, topic, prefix, True, schema_format(fmt))
    except (ToolError, UsageError) as exc:
        raise CLIError(str(exc)) from None
    return encoder.encode_json


def produce(
    conf: dict[str, Any],
    topic: str,
    value_format: str,
    key_format: str,
    parse_key: bool,
    delimiter: str,
    registry: str,
    schema: str | None,
    schema_id: int | None,
    key_schema: str | None,
    references: str | None,
) -> None:
    from confluent_kafka import KafkaException, Producer

    from kcli.confluent.topics import admin, metadata

    found = metadata(admin(conf)).topics.get(topic)
    if found is None or found.error is not None:
        raise CLIError(
            f'topic "{topic}" does not exist',
            "To list topics for the cluster, use `confluent kafka topic list`.",
        )
    if value_format in SCHEMA:
        value_encode = _schema_encoder(value_format, topic, "value", registry, schema, schema_id, references)
    else:
        value_encode = plain_encoder(value_format)
    key_encode = None
    if parse_key:
        if key_format in SCHEMA:
            key_encode = _schema_encoder(key_format, topic, "key", registry, key_schema, None, None)
        else:
            key_encode = plain_encoder(key_format)
    sys.stderr.write("Starting Kafka Producer. Use Ctrl-C or Ctrl-D to exit.\n")
    sys.stderr.flush()
    failures: list[str] = []

    def report(err: Any, msg: Any) -> None:
        if err is not None:
            failures.append(f"failed to produce offset {msg.offset()}: {err.str()}")

    producer = Producer(conf)
    try:
        for number, raw in enumerate(sys.stdin, start=1):
            line = raw.rstrip("\r\n")
            if not line:
                continue
            key = None
            if parse_key:
                if delimiter not in line:
                    raise CLIError(
                        f'missing key in message "{line}"',
                        f"Use the delimiter {delimiter!r} between key and value.",
                    )
                key_text, line = line.split(delimiter, 1)
                key = _encode(key_encode, key_text, number, "key")
            value = _encode(value_encode, line, number, "value")
            while True:
                try:
                    producer.produce(topic, value=value, key=key, on_delivery=report)
                    break
                except BufferError:
                    producer.poll(0.1)
                except KafkaException as exc:
                    raise CLIError(str(exc.args[0].str())) from None
            producer.poll(0)
    except KeyboardInterrupt:
        pass
    finally:
        remaining = producer.flush(30)
    for failure in failures:
        sys.stderr.write(failure + "\n")
    if remaining:
        raise CLIError(f"{remaining} message(s) could not be delivered to topic {topic}")


def _encode(encode: Any, text: str, number: int, what: str) -> bytes:
    try:
        return encode(text)
    except ValueError as exc:
        raise CLIError(f"line {number}: the {what} does not match its format: {exc}") from None
