"""kafka-json-schema-console-consumer: the console consumer printing JSON Schema records as JSON.

Like Confluent's JsonSchemaMessageFormatter. Options and properties are shared with the other
schema-aware consumers (:mod:`kcli.tools.schema_console_consumer`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kcli.tools.cli import ToolParser
from kcli.tools.schema_console_consumer import ConsumerFormat, run
from kcli.tools.schema_console_consumer import build_parser as _build_parser

PROG = "kafka-json-schema-console-consumer"
FORMAT = ConsumerFormat(
    "JSON Schema",
    PROG,
    "io.confluent.kafka.serializers.json.KafkaJsonSchemaDeserializer",
    frozenset({"io.confluent.kafka.formatter.json.JsonSchemaMessageFormatter"}),
)


def build_parser() -> ToolParser:
    return _build_parser(FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    return run(FORMAT, argv)


if __name__ == "__main__":
    sys.exit(main())
