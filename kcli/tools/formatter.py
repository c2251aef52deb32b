"""Kafka's DefaultMessageFormatter: how the console consumer prints one record.

Fields, in this order, each followed by ``key.separator`` when something follows it:
``CreateTime:<ms>`` (``print.timestamp``), ``Partition:<p>``, ``Offset:<o>``, headers ``k:v,k2:v2``
or ``NO_HEADERS`` (``print.headers``), the key (``print.key``), the value (``print.value``, on by
default) and then ``line.separator``. Null fields print ``null.literal``. Output is bytes because
keys and values may be any bytes and ``ByteArrayDeserializer`` passes them through untouched.

Kept free of confluent_kafka so that other consoles (the Avro console consumer) and tests can
reuse it: records are given as :class:`FormattedRecord`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kcli.serde import Deserializer, SerdeError, deserializer

DEFAULT_FORMATTER = "kafka.tools.DefaultMessageFormatter"
FORMATTER_CLASSES = frozenset(
    {
        DEFAULT_FORMATTER,
        "org.apache.kafka.tools.consumer.DefaultMessageFormatter",
        "kafka.tools.DefaultMessageFormatter$",
    }
)
#: timestamp type codes as librdkafka reports them (Message.timestamp()[0]).
TIMESTAMP_TYPES = {0: None, 1: "CreateTime", 2: "LogAppendTime"}


@dataclass
class FormattedRecord:
    """What the formatter needs of a consumed record (independent of the client library)."""

    topic: str
    partition: int
    offset: int
    timestamp_type: str | None  # "CreateTime", "LogAppendTime" or None (NO_TIMESTAMP)
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = field(default_factory=list)


AVRO_DESERIALIZERS = frozenset(
    {
        "io.confluent.kafka.serializers.KafkaAvroDeserializer",
        "io.confluent.kafka.streams.serdes.avro.GenericAvroDeserializer",
    }
)


def deserializer_for(class_name: str, properties: dict[str, str], is_key: bool) -> Deserializer:
    """The ``key.deserializer``/``value.deserializer`` a class name stands for: Kafka's Java ones
    (:func:`kcli.serde.deserializer`) and Confluent's Avro deserializer, which needs
    ``schema.registry.url`` in ``properties``."""
    if class_name.strip() in AVRO_DESERIALIZERS:
        from kcli.schema_registry.serde import avro_deserializer_from_properties

        return avro_deserializer_from_properties(properties, is_key)
    return deserializer(class_name, properties, is_key)


class FormatError(Exception):
    """A deserializer rejected a record; the message names the partition and offset."""


def _flag(props: dict[str, str], key: str, default: bool) -> bool:
    return props[key].strip().lower() == "true" if key in props else default


class DefaultMessageFormatter:
    """Configured from the ``--property`` / ``--formatter-config`` settings, as Kafka's is."""

    def __init__(self, properties: dict[str, str] | None = None):
        props = dict(properties or {})
        self.print_timestamp = _flag(props, "print.timestamp", False)
        self.print_key = _flag(props, "print.key", False)
        self.print_value = _flag(props, "print.value", True)
        self.print_partition = _flag(props, "print.partition", False)
        self.print_offset = _flag(props, "print.offset", False)
        self.print_headers = _flag(props, "print.headers", False)
        # Kafka's ConsoleConsumer hands the formatter records without delivery count or leader epoch,
        # so these two always print NOT_PRESENT there; kcli keeps that output.
        self.print_delivery = _flag(props, "print.delivery", False)
        self.print_epoch = _flag(props, "print.epoch", False)
        self.key_separator = props.get("key.separator", "\t").encode()
        self.line_separator = props.get("line.separator", "\n").encode()
        self.headers_separator = props.get("headers.separator", ",").encode()
        self.null_literal = props.get("null.literal", "null").encode()
        self.key_deserializer = self._deserializer(props, "key.deserializer", True)
        self.value_deserializer = self._deserializer(props, "value.deserializer", False)
        self.headers_deserializer = self._deserializer(props, "headers.deserializer", False)

    @staticmethod
    def _deserializer(props: dict[str, str], name: str, is_key: bool) -> Deserializer | None:
        if name not in props:
            return None
        return deserializer_for(props[name], props, is_key)

    def _render(self, data: bytes | None, deser: Deserializer | None) -> bytes:
        if deser is None:
            return self.null_literal if data is None else data
        text = deser(data)
        return self.null_literal if text is None else text.encode("utf-8")

    def format(self, record: FormattedRecord) -> bytes:
        """The bytes printed for one record (line separator included)."""
        try:
            return self._format(record)
        except SerdeError as exc:
            raise FormatError(
                f"Error deserializing record at partition {record.topic}-{record.partition} "
                f"offset {record.offset}: {exc}"
            ) from None
        except Exception as exc:  # a third-party (e.g. Avro) deserializer failed
            raise FormatError(
                f"Error deserializing record at partition {record.topic}-{record.partition} "
                f"offset {record.offset}: {type(exc).__name__}: {exc}"
            ) from None

    def _format(self, record: FormattedRecord) -> bytes:
        parts: list[bytes] = []
        if self.print_timestamp:
            if record.timestamp_type:
                parts.append(f"{record.timestamp_type}:{record.timestamp}".encode())
            else:
                parts.append(b"NO_TIMESTAMP")
        if self.print_partition:
            parts.append(f"Partition:{record.partition}".encode())
        if self.print_offset:
            parts.append(f"Offset:{record.offset}".encode())
        if self.print_delivery:
            parts.append(b"Delivery:NOT_PRESENT")
        if self.print_epoch:
            parts.append(b"Epoch:NOT_PRESENT")
        if self.print_headers:
            if not record.headers:
                parts.append(b"NO_HEADERS")
            else:
                parts.append(
                    self.headers_separator.join(
                        key.encode("utf-8") + b":" + self._render(value, self.headers_deserializer)
                        for key, value in record.headers
                    )
                )
        if self.print_key:
            parts.append(self._render(record.key, self.key_deserializer))
        out = self.key_separator.join(parts)
        if self.print_value:
            value = self._render(record.value, self.value_deserializer)
            out = out + self.key_separator + value if parts else value
            return out + self.line_separator
        if parts:
            # Kafka writes the line separator after the last field when the value is not printed
            return out + self.line_separator
        return b""


class LoggingMessageFormatter(DefaultMessageFormatter):
    """``org.apache.kafka.tools.consumer.LoggingMessageFormatter``: same output, kept for lectures."""


class NoOpMessageFormatter(DefaultMessageFormatter):
    """``NoOpMessageFormatter``: prints nothing (used to measure consumption)."""

    def format(self, record: FormattedRecord) -> bytes:
        return b""


FORMATTERS: dict[str, Callable[[dict[str, str]], DefaultMessageFormatter]] = {
    **dict.fromkeys(FORMATTER_CLASSES, DefaultMessageFormatter),
    "org.apache.kafka.tools.consumer.LoggingMessageFormatter": LoggingMessageFormatter,
    "kafka.tools.LoggingMessageFormatter": LoggingMessageFormatter,
    "org.apache.kafka.tools.consumer.NoOpMessageFormatter": NoOpMessageFormatter,
    "kafka.tools.NoOpMessageFormatter": NoOpMessageFormatter,
}


def build_formatter(class_name: str, properties: dict[str, str]) -> DefaultMessageFormatter:
    """The formatter named by ``--formatter``; unknown classes raise KeyError-free SerdeError."""
    try:
        factory = FORMATTERS[class_name]
    except KeyError:
        raise SerdeError(f"{class_name}: no such formatter class in kcli") from None
    return factory(properties)
