"""kafka-json-schema-console-producer: JSON lines in, Confluent wire-format JSON Schema records out.

``--property value.schema='{"type":"object",...}'`` (or ``value.schema.file``/``value.schema.id``,
``value.refs`` for references); each line is validated against the schema before anything is
sent, and a line that does not match names the field. Shared loop and options:
:mod:`kcli.tools.schema_console_producer`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools.cli import ToolParser
from kcli.tools.schema_console_producer import SchemaFormat, run
from kcli.tools.schema_console_producer import build_parser as _build_parser

PROG = "kafka-json-schema-console-producer"


def _encoder(_client: Any, parsed: Any, schema_id: int, _props: dict[str, str], _prefix: str) -> Any:
    from kcli.schema_registry.json_serde import JsonSchemaEncoder

    return JsonSchemaEncoder(parsed, schema_id)


FORMAT = SchemaFormat("JSON Schema", "JSON", PROG, _encoder)


def build_parser() -> ToolParser:
    return _build_parser(FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    return run(FORMAT, argv)


if __name__ == "__main__":
    sys.exit(main())
