"""kafka-protobuf-console-consumer: the console consumer printing Protobuf records as JSON.

Like Confluent's ProtobufMessageFormatter: protobuf's JSON mapping of the message the record's
message indexes name (``{"id":1,"name":"Ann"}``). Options and properties are shared with the
other schema-aware consumers (:mod:`kcli.tools.schema_console_consumer`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kcli.tools.cli import ToolParser
from kcli.tools.schema_console_consumer import ConsumerFormat, run
from kcli.tools.schema_console_consumer import build_parser as _build_parser

PROG = "kafka-protobuf-console-consumer"
FORMAT = ConsumerFormat(
    "Protobuf",
    PROG,
    "io.confluent.kafka.serializers.protobuf.KafkaProtobufDeserializer",
    frozenset({"io.confluent.kafka.formatter.protobuf.ProtobufMessageFormatter"}),
)


def build_parser() -> ToolParser:
    return _build_parser(FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    return run(FORMAT, argv)


if __name__ == "__main__":
    sys.exit(main())
