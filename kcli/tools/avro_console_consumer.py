"""kafka-avro-console-consumer: the console consumer printing Avro records as Avro-JSON.

Like Confluent's AvroMessageFormatter: ``{"id":1,"name":"Ann","faxNumber":{"string":"x"}}``.
Options and properties are shared with the other schema-aware consumers
(:mod:`kcli.tools.schema_console_consumer`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kcli.tools.cli import ToolParser
from kcli.tools.schema_console_consumer import ConsumerFormat, run
from kcli.tools.schema_console_consumer import build_parser as _build_parser

PROG = "kafka-avro-console-consumer"
AVRO_DESERIALIZER = "io.confluent.kafka.serializers.KafkaAvroDeserializer"
#: Confluent's formatter class names, typed by older tutorials (``--formatter ...AvroMessageFormatter``):
#: this tool's own formatting is exactly that, so they select the default formatter.
AVRO_FORMATTERS = frozenset({"io.confluent.kafka.formatter.AvroMessageFormatter"})
FORMAT = ConsumerFormat("Avro", PROG, AVRO_DESERIALIZER, AVRO_FORMATTERS)


def build_parser() -> ToolParser:
    return _build_parser(FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    return run(FORMAT, argv)


if __name__ == "__main__":
    sys.exit(main())
