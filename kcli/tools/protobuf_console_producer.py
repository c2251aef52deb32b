"""kafka-protobuf-console-producer: JSON lines in, Confluent wire-format Protobuf records out.

``--property value.schema='syntax = "proto3"; message Order { ... }'`` (or ``value.schema.file``,
``value.schema.id``, ``value.refs`` for imports); each line is the first message of the schema in
protobuf's JSON mapping (``{"id": 1, "name": "Ann"}``), as Confluent's tool reads it. The record
carries the message indexes ([0]) after the schema id. Shared loop and options:
:mod:`kcli.tools.schema_console_producer`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools.cli import ToolParser
from kcli.tools.schema_console_producer import SchemaFormat, run
from kcli.tools.schema_console_producer import build_parser as _build_parser

PROG = "kafka-protobuf-console-producer"


def _encoder(_client: Any, parsed: Any, schema_id: int, _props: dict[str, str], _prefix: str) -> Any:
    from kcli.schema_registry.protobuf_serde import ProtobufEncoder

    return ProtobufEncoder(parsed, schema_id)


FORMAT = SchemaFormat("Protobuf", "PROTOBUF", PROG, _encoder)


def build_parser() -> ToolParser:
    return _build_parser(FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    return run(FORMAT, argv)


if __name__ == "__main__":
    sys.exit(main())
