"""Parsing and validating Avro schemas as the registry receives them (JSON text).

fastavro does the structural validation (types, names, most defaults). Two things it lets through
are checked here first, because a student meets them on day one: a union field's default must
match the union's *first* branch (the Avro specification's rule, which Confluent's registry
enforces), and ``"default": "null"`` (a string) is not ``"default": null``. The lecture's own
``Customer`` schema has that slip, so the message says exactly how to fix it.

The schema is also normalised into a small tree (full names resolved, named types collected) that
:mod:`kcli.schema_registry.compatibility` walks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import fastavro
import orjson

from kcli.schema_registry.errors import INVALID_SCHEMA, RegistryError

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)


def invalid(message: str) -> RegistryError:
    return RegistryError(INVALID_SCHEMA, f"Invalid schema: {message}")


@dataclass
class AvroSchema:
    """A valid schema: its canonical text, the normalised tree and its named types by full name."""

    canonical: str
    raw: Any
    tree: Any
    named: dict[str, dict[str, Any]] = field(default_factory=dict)
    parsed: Any = None  # fastavro's parsed form, for encoding/decoding
    references: Sequence[AvroSchema] = ()

    def resolve(self, node: Any) -> Any:
        """Follow a reference to a named type (a full name) to its definition."""
        if isinstance(node, str) and node not in PRIMITIVES:
            return self.named[node]
        return node


def parse(text: str | Any, references: Sequence[AvroSchema] = ()) -> AvroSchema:
    """Parse schema text (or an already decoded JSON value); raise 42201 with a teaching message.

    ``references`` are the parsed schemas this one refers to by name (Confluent's schema
    references): their named types are known before this schema is read, as if defined earlier.
    """
    if isinstance(text, str):
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise invalid(
                f"the schema is not valid JSON ({exc}); check quotes, commas and brackets"
            ) from None
    else:
        raw = text
    named: dict[str, dict[str, Any]] = {}
    fastavro_named: dict[str, Any] = {}
    _add_references(references, named, fastavro_named)
    tree = _normalise(raw, None, named, "")
    _check_defaults(tree, named, "")
    try:
        parsed = fastavro.parse_schema(raw, named_schemas=fastavro_named)
    except Exception as exc:  # fastavro raises several types (SchemaParseException, UnknownType...)
        raise invalid(f"{exc}") from None
    canonical = orjson.dumps(raw).decode()
    return AvroSchema(canonical, raw, tree, named, parsed, tuple(references))


def _add_references(
    references: Sequence[AvroSchema], named: dict[str, dict[str, Any]], fastavro_named: dict[str, Any]
) -> None:
    """Make the named types of ``references`` (and of theirs, first) known to both parsers."""
    for ref in references:
        if ref.named and all(name in fastavro_named for name in ref.named):
            continue  # reached twice (two references share one)
        _add_references(ref.references, named, fastavro_named)
        named.update(ref.named)
        fastavro.parse_schema(ref.raw, named_schemas=fastavro_named)


def _fullname(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _normalise(node: Any, namespace: str | None, named: dict[str, dict[str, Any]], path: str) -> Any:
    """A copy of the schema where names are full names and named types are defined once in ``named``."""
    if isinstance(node, str):
        if node in PRIMITIVES:
            return node
        full = _fullname(node, namespace)
        if full in named:
            return full
        if node in named:
            return node
        raise invalid(
            f"at {path or '/'}: unknown type '{node}'; define it before it is used, or use a primitive"
        )
    if isinstance(node, list):
        return [_normalise(branch, namespace, named, f"{path}/{i}") for i, branch in enumerate(node)]
    if not isinstance(node, dict):
        raise invalid(f"at {path or '/'}: expected a type name, a JSON object or a union array, got {node!r}")
    kind = node.get("type")
    if isinstance(kind, dict | list):
        return _normalise(kind, namespace, named, path)
    if kind in PRIMITIVES:
        return kind
    if kind == "array":
        return {"type": "array", "items": _normalise(node.get("items"), namespace, named, f"{path}/items")}
    if kind == "map":
        return {"type": "map", "values": _normalise(node.get("values"), namespace, named, f"{path}/values")}
    if kind in NAMED:
        name = node.get("name")
        if not isinstance(name, str) or not name:
            raise invalid(f'at {path or "/"}: a {kind} needs a "name"')
        own_ns = node.get("namespace") if "." not in name else name.rsplit(".", 1)[0]
        full = _fullname(name, own_ns if own_ns is not None else namespace)
        inner_ns = full.rsplit(".", 1)[0] if "." in full else None
        out: dict[str, Any] = {
            "type": "record" if kind == "error" else kind,
            "name": full,
            "aliases": [_fullname(a, inner_ns) for a in node.get("aliases") or ()],
        }
        named[full] = out
        if kind in ("record", "error"):
            fields = node.get("fields")
            if not isinstance(fields, list):
                raise invalid(f'record {full} needs a "fields" array')
            out["fields"] = []
            for i, f in enumerate(fields):
                if not isinstance(f, dict) or "name" not in f or "type" not in f:
                    raise invalid(f'record {full}, field #{i + 1}: a field needs a "name" and a "type"')
                entry = {
                    "name": f["name"],
                    "type": _normalise(f["type"], inner_ns, named, f"{path}/fields/{i}"),
                    "aliases": list(f.get("aliases") or ()),
                }
                if "default" in f:
                    entry["default"] = f["default"]
                out["fields"].append(entry)
        elif kind == "enum":
            out["symbols"] = list(node.get("symbols") or ())
            if "default" in node:
                out["default"] = node["default"]
        else:
            out["size"] = node.get("size")
        return full
    if isinstance(kind, str):
        return _normalise(kind, namespace, named, path)
    raise invalid(f'at {path or "/"}: missing or unknown "type" {kind!r}')


def _check_defaults(tree: Any, named: dict[str, dict[str, Any]], path: str) -> None:
    """Every record field default must match its type (a union: its first branch)."""
    for full, definition in named.items():
        if definition["type"] != "record":
            continue
        for f in definition["fields"]:
            if "default" not in f:
                continue
            problem = default_problem(f["type"], f["default"], named)
            if problem is not None:
                raise invalid(f'field "{f["name"]}" of record {full}: {problem}')


def _describe(value: Any) -> str:
    return orjson.dumps(value).decode()


def _type_text(node: Any) -> str:
    return node if isinstance(node, str) else orjson.dumps(node).decode()


def default_problem(node: Any, value: Any, named: dict[str, dict[str, Any]]) -> str | None:
    """Why ``value`` is not a valid default for ``node``, or None when it is."""
    if isinstance(node, list):
        if not node:
            return "an empty union has no valid default"
        first = node[0]
        if default_problem(first, value, named) is None:
            return None
        if first == "null" and value == "null":
            return (
                'the default is the string "null", but a union\'s default must match its first branch, '
                'here "null". Write "default": null (JSON null, no quotes).'
            )
        fits = [b for b in node[1:] if default_problem(b, value, named) is None]
        hint = (
            f" Either put {_type_text(fits[0])} first in the union, or give a default of type {_type_text(first)}"
            + (' ("default": null)' if first == "null" else "")
            + "."
            if fits
            else ""
        )
        return (
            f"the default {_describe(value)} does not match the union's first branch {_type_text(first)}; "
            f"a union's default must match its first branch.{hint}"
        )
    if isinstance(node, str) and node not in PRIMITIVES:
        node = named[node]
    kind = node if isinstance(node, str) else node["type"]
    ok = True
    if kind == "null":
        if value is not None:
            if value == "null":
                return 'the default is the string "null"; write "default": null (JSON null, no quotes).'
            ok = False
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        lo, hi = _INT_RANGE if kind == "int" else _LONG_RANGE
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    elif kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind in ("string", "bytes", "fixed"):
        ok = isinstance(value, str)
    elif kind == "enum":
        ok = isinstance(value, str) and value in node["symbols"]
    elif kind == "array":
        if not isinstance(value, list):
            ok = False
        else:
            for item in value:
                problem = default_problem(node["items"], item, named)
                if problem is not None:
                    return f"an array item: {problem}"
    elif kind == "map":
        if not isinstance(value, dict):
            ok = False
        else:
            for item in value.values():
                problem = default_problem(node["values"], item, named)
                if problem is not None:
                    return f"a map value: {problem}"
    elif kind == "record":
        if not isinstance(value, dict):
            ok = False
        else:
            for f in node["fields"]:
                if f["name"] in value:
                    problem = default_problem(f["type"], value[f["name"]], named)
                    if problem is not None:
                        return f"field {f['name']}: {problem}"
                elif "default" not in f:
                    return f"the default record has no value for field {f['name']}"
    if ok:
        return None
    shown = kind if isinstance(node, str) else node.get("name", kind)
    return f"the default {_describe(value)} is not a valid {shown}"
