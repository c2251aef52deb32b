"""kafka-avro-console-producer: Avro-JSON lines in, Confluent wire-format records out.

Options, schema properties and the produce loop are shared with the other schema-aware producers
(:mod:`kcli.tools.schema_console_producer`). Each line is Avro's JSON encoding (unions as
``{"string": "x"}``), checked field by field (:mod:`kcli.schema_registry.avro_json`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools.cli import ToolParser
from kcli.tools.schema_console_producer import SchemaFormat, run
from kcli.tools.schema_console_producer import build_parser as _build_parser

PROG = "kafka-avro-console-producer"


def _encoder(client: Any, parsed: Any, schema_id: int, _props: dict[str, str], _prefix: str) -> Any:
    from kcli.schema_registry.serde import AvroEncoder

    return AvroEncoder(client, parsed.schema, schema_id)


FORMAT = SchemaFormat("Avro", "AVRO", PROG, _encoder)


def build_parser() -> ToolParser:
    return _build_parser(FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    return run(FORMAT, argv)


if __name__ == "__main__":
    sys.exit(main())
