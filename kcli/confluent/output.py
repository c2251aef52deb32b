"""Printing results as the Confluent CLI does, for ``-o human`` (default), ``json`` and ``yaml``.

Human output of one object is a two-column boxed table (``| Name | orders |``); of a list, a
borderless table with centred headers, ``-`` and ``+`` under them, numbers right-aligned, rows
sorted, and ``None found.`` when empty (the layout of the tablewriter settings in the Confluent
CLI's ``pkg/output``). JSON is indented by two spaces; YAML is block style. Each row is a list
of :class:`Field` (human name, serialized name, value) so one description serves all formats.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FORMATS = ("human", "json", "yaml")


@dataclass(frozen=True)
class Field:
    human: str
    serialized: str
    value: Any
    omitempty: bool = False


Row = Sequence[Field]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def _serialized(row: Row) -> dict[str, Any]:
    return {f.serialized: f.value for f in row if not (f.omitempty and f.value in (None, "", [], {}))}


def _dump(value: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    import yaml

    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return text


def render_table(row: Row, fmt: str = "human") -> str:
    """One object."""
    if fmt != "human":
        return _dump(_serialized(row), fmt)
    shown = [f for f in row if not (f.omitempty and f.value in (None, "", [], {}))]
    keys = [f.human for f in shown]
    values = [_text(f.value) for f in shown]
    lines_per = [v.split("\n") for v in values]
    kw = max((len(k) for k in keys), default=0)
    vw = max((len(line) for lines in lines_per for line in lines), default=0)
    border = f"+{'-' * (kw + 2)}+{'-' * (vw + 2)}+"
    out = [border]
    for key, lines in zip(keys, lines_per, strict=True):
        for i, line in enumerate(lines):
            out.append(f"| {(key if i == 0 else ''):<{kw}} | {line:<{vw}} |")
    out.append(border)
    return "\n".join(out) + "\n"


def _center(text: str, width: int) -> str:
    gap = width - len(text)
    left = gap // 2
    return " " * left + text + " " * (gap - left)


def render_list(rows: Sequence[Row], fmt: str = "human", sort: bool = True) -> str:
    """Several objects of one shape."""
    if sort:  # as the Confluent CLI sorts: field by field, compared as printed text ("10" < "2")
        rows = sorted(rows, key=lambda r: [_text(f.value) for f in r if f.human != "Current"])
    if fmt != "human":
        return _dump([_serialized(r) for r in rows], fmt)
    if not rows:
        return "None found.\n"
    headers = [f.human for f in rows[0]]
    numeric = [isinstance(f.value, int) and not isinstance(f.value, bool) for f in rows[0]]
    cells = [[_text(f.value) for f in r] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]

    def line(parts: list[str]) -> str:
        return " " + "|".join(f" {p} " for p in parts) + " "

    out = [line([_center(h, w) for h, w in zip(headers, widths, strict=True)])]
    dashes = ["-" * (w + 2) for w in widths]
    dashes[0] = "-" + dashes[0]
    dashes[-1] = dashes[-1] + "-"
    out.append("+".join(dashes))
    for c in cells:
        parts = [(c[i].rjust(w) if numeric[i] else c[i].ljust(w)) for i, w in enumerate(widths)]
        out.append(line(parts))
    return "\n".join(out) + "\n"


def print_table(row: Row, fmt: str = "human") -> None:
    sys.stdout.write(render_table(row, fmt))


def print_list(rows: Sequence[Row], fmt: str = "human", sort: bool = True) -> None:
    sys.stdout.write(render_list(rows, fmt, sort))
