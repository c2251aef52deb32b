"""``confluent kafka topic consume`` and ``confluent local kafka topic consume``.

Records are printed one per line, ``key<delimiter>value`` with ``--print-key`` (tab by default),
until Ctrl-C or SIGTERM; ``--from-beginning`` starts at the earliest offset (a group's committed
offsets win, as in Kafka), ``--partition``/``--offset`` read one partition from an offset.
Values are decoded by ``--value-format``: ``string``, ``integer``, ``double``, or ``avro``,
``jsonschema``, ``protobuf`` through the registry (:class:`kcli.schema_registry.decoding.SchemaDecoder`),
printed as JSON.
"""

from __future__ import annotations

import signal
import struct
import sys
import uuid
from typing import Any

from kcli.confluent.errors import CLIError
from kcli.confluent.produce import SCHEMA


def decoder(fmt: str, registry: str) -> Any:
    if fmt in SCHEMA:
        from kcli.schema_registry.client import SchemaRegistryClient
        from kcli.schema_registry.decoding import DecodeError, SchemaDecoder

        schemas = SchemaDecoder(SchemaRegistryClient(registry))

        def decode_schema(data: bytes) -> str:
            try:
                return schemas.decode(data).text
            except DecodeError as exc:
                if data[:1] != b"\x00":
                    return data.decode("utf-8", errors="replace")
                raise CLIError(str(exc)) from None

        return decode_schema

    def decode_plain(data: bytes) -> str:
        if fmt == "integer" and len(data) == 4:
            return str(struct.unpack(">i", data)[0])
        if fmt == "double" and len(data) == 8:
            return repr(struct.unpack(">d", data)[0])
        return data.decode("utf-8", errors="replace")

    return decode_plain


def consume(
    conf: dict[str, Any],
    topic: str,
    group: str | None,
    from_beginning: bool,
    partition: int | None,
    offset: int | None,
    print_key: bool,
    delimiter: str,
    value_format: str,
    key_format: str,
    registry: str,
    timestamp: bool,
) -> None:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

    from kcli.confluent.topics import admin, metadata

    found = metadata(admin(conf)).topics.get(topic)
    if found is None or found.error is not None:
        raise CLIError(
            f'topic "{topic}" does not exist',
            "To list topics for the cluster, use `confluent kafka topic list`.",
        )
    conf = dict(conf)
    conf["group.id"] = group or f"confluent_cli_consumer_{uuid.uuid4()}"
    conf["auto.offset.reset"] = "earliest" if from_beginning else "latest"
    value_decode, key_decode = decoder(value_format, registry), decoder(key_format, registry)
    consumer = Consumer(conf)

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write("Starting Kafka Consumer. Use Ctrl-C to exit.\n")
    sys.stderr.flush()
    try:
        if partition is not None:
            start = offset if offset is not None else (OFFSET_BEGINNING if from_beginning else OFFSET_END)
            consumer.assign([TopicPartition(topic, partition, start)])
        elif offset is not None:

            def on_assign(c: Any, partitions: list[Any]) -> None:
                for p in partitions:
                    p.offset = offset
                c.assign(partitions)

            consumer.subscribe([topic], on_assign=on_assign)
        else:
            consumer.subscribe([topic])
        while True:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == -191:  # end of partition
                    continue
                raise CLIError(msg.error().str())
            value = "" if msg.value() is None else value_decode(msg.value())
            line = value
            if print_key:
                key = "" if msg.key() is None else key_decode(msg.key())
                line = f"{key}{delimiter}{value}"
            if timestamp:
                line = f"Timestamp: {msg.timestamp()[1]}\t{line}"
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
