"""Avro's JSON encoding (what the Avro console tools read and print), checked field by field.

In Avro's JSON encoding a union value that is not null is wrapped in an object naming its branch:
``{"faxNumber": {"string": "555-1234"}}``; bytes and fixed are strings of code points 0-255.
fastavro's JSON reader is lenient (a wrong type passes, a missing field is filled in silently), so
the tools use this strict converter: a line that does not match the schema gets an error that
names the field and the expected type, as Confluent's producer does.
"""

from __future__ import annotations

import math
from typing import Any

from kcli.schema_registry.avro_schema import PRIMITIVES, AvroSchema

_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class AvroJsonError(ValueError):
    """A value does not match the schema; ``path`` names the field (``faxNumber``, ``items[2]``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"field '{path or '<root>'}': {message}" if path else message)
        self.path = path


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _branch_name(schema: AvroSchema, branch: Any) -> str:
    node = schema.resolve(branch)
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "name" in node:
        return node["name"]
    return node["type"]


def from_avro_json(schema: AvroSchema, value: Any, node: Any = None, path: str = "") -> Any:
    """The datum (for fastavro's writer) that the Avro-JSON ``value`` encodes; AvroJsonError if invalid.

    Union values become ``(branch name, datum)`` tuples so fastavro writes exactly the branch named.
    """
    node = schema.resolve(schema.tree if node is None else node)
    if isinstance(node, list):
        if value is None:
            if "null" in node:
                return ("null", None)
            raise AvroJsonError(
                path, f"null is not allowed; the union is {[_branch_name(schema, b) for b in node]}"
            )
        names = {_branch_name(schema, b): b for b in node}
        shorts = {n.rsplit(".", 1)[-1]: b for n, b in names.items()}
        if isinstance(value, dict) and len(value) == 1:
            ((label, inner),) = value.items()
            branch = names.get(label, shorts.get(label))
            if branch is not None:
                return (_branch_name(schema, branch), from_avro_json(schema, inner, branch, path))
        example = next((n for n in names if n != "null"), "string")
        raise AvroJsonError(
            path,
            f'a union value must be null or an object naming its type, e.g. {{"{example}": ...}}; '
            f"got {_short(value)} (the union is {list(names)})",
        )
    kind = node if isinstance(node, str) else node["type"]
    if kind in PRIMITIVES:
        return _primitive(kind, value, path)
    if kind == "record":
        if not isinstance(value, dict):
            raise AvroJsonError(
                path, f"expected a JSON object for record {node['name']}, got {_short(value)}"
            )
        known = {f["name"] for f in node["fields"]}
        extra = [k for k in value if k not in known]
        if extra:
            raise AvroJsonError(_join(path, extra[0]), f"record {node['name']} has no field '{extra[0]}'")
        out: dict[str, Any] = {}
        for f in node["fields"]:
            here = _join(path, f["name"])
            if f["name"] in value:
                out[f["name"]] = from_avro_json(schema, value[f["name"]], f["type"], here)
            elif "default" in f:
                out[f["name"]] = _from_default(schema, f["default"], f["type"], here)
            else:
                raise AvroJsonError(
                    here, f"missing (record {node['name']} requires it and it has no default)"
                )
        return out
    if kind == "enum":
        if value not in node["symbols"]:
            raise AvroJsonError(path, f"{_short(value)} is not one of the symbols {node['symbols']}")
        return value
    if kind == "fixed":
        data = _primitive("bytes", value, path)
        if len(data) != node["size"]:
            raise AvroJsonError(
                path, f"fixed {node['name']} needs exactly {node['size']} bytes, got {len(data)}"
            )
        return data
    if kind == "array":
        if not isinstance(value, list):
            raise AvroJsonError(path, f"expected a JSON array, got {_short(value)}")
        return [from_avro_json(schema, v, node["items"], f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise AvroJsonError(path, f"expected a JSON object (map), got {_short(value)}")
        return {k: from_avro_json(schema, v, node["values"], f"{path}[{k!r}]") for k, v in value.items()}
    raise AvroJsonError(path, f"unsupported type {kind}")


def _from_default(schema: AvroSchema, value: Any, node: Any, path: str) -> Any:
    """Field defaults are written without union wrappers: a union default is its first branch."""
    resolved = schema.resolve(node)
    if isinstance(resolved, list):
        first = resolved[0]
        return (_branch_name(schema, first), _from_default(schema, value, first, path))
    if isinstance(resolved, dict) and resolved["type"] == "record" and isinstance(value, dict):
        return {
            f["name"]: _from_default(
                schema, value.get(f["name"], f.get("default")), f["type"], _join(path, f["name"])
            )
            for f in resolved["fields"]
        }
    if isinstance(resolved, dict) and resolved["type"] == "array" and isinstance(value, list):
        return [_from_default(schema, v, resolved["items"], path) for v in value]
    if isinstance(resolved, dict) and resolved["type"] == "map" and isinstance(value, dict):
        return {k: _from_default(schema, v, resolved["values"], path) for k, v in value.items()}
    return from_avro_json(schema, value, node, path)


def _primitive(kind: str, value: Any, path: str) -> Any:
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in _RANGES:
        lo, hi = _RANGES[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    elif kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            return float(value)
    elif kind == "string":
        ok = isinstance(value, str)
    else:  # bytes
        if isinstance(value, str):
            try:
                return value.encode("latin-1")
            except UnicodeEncodeError:
                raise AvroJsonError(
                    path, "bytes are written as a string of characters \\u0000-\\u00ff"
                ) from None
        ok = False
    if not ok:
        raise AvroJsonError(path, f"expected {kind}, got {_short(value)}")
    return value


def _short(value: Any) -> str:
    import orjson

    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_avro_json(schema: AvroSchema, datum: Any, node: Any = None) -> Any:
    """The Avro-JSON value of a decoded ``datum`` (unions wrapped as ``{"type": value}``).

    Read the datum with fastavro's ``return_named_type=True`` so that a union branch of a named type
    is known exactly; other branches are recognised by the Python type (int/long: the first listed).
    """
    node = schema.resolve(schema.tree if node is None else node)
    if isinstance(node, list):
        if datum is None and "null" in node:
            return None
        if isinstance(datum, tuple) and len(datum) == 2:  # fastavro's return_named_type=True
            name, inner = datum
            for branch in node:
                full = _branch_name(schema, branch)
                if name in (full, full.rsplit(".", 1)[-1]):
                    return {full: to_avro_json(schema, inner, branch)}
        for branch in node:
            if branch != "null" and not _is_named(schema, branch) and _fits(schema, datum, branch):
                return {_branch_name(schema, branch): to_avro_json(schema, datum, branch)}
        for branch in node:
            if branch != "null" and _fits(schema, datum, branch):
                return {_branch_name(schema, branch): to_avro_json(schema, datum, branch)}
        return datum
    kind = node if isinstance(node, str) else node["type"]
    if kind in ("bytes", "fixed"):
        return bytes(datum).decode("latin-1")
    if kind in ("float", "double") and isinstance(datum, float) and not math.isfinite(datum):
        return str(datum)
    if kind == "record":
        return {f["name"]: to_avro_json(schema, datum.get(f["name"]), f["type"]) for f in node["fields"]}
    if kind == "array":
        return [to_avro_json(schema, v, node["items"]) for v in datum]
    if kind == "map":
        return {k: to_avro_json(schema, v, node["values"]) for k, v in datum.items()}
    return datum


def _is_named(schema: AvroSchema, branch: Any) -> bool:
    node = schema.resolve(branch)
    return isinstance(node, dict) and "name" in node


def _fits(schema: AvroSchema, datum: Any, branch: Any) -> bool:
    """Does a decoded datum belong to this union branch (used to name the branch when printing)?"""
    node = schema.resolve(branch)
    kind = node if isinstance(node, str) else node["type"]
    if kind == "null":
        return datum is None
    if kind == "boolean":
        return isinstance(datum, bool)
    if kind in _RANGES:
        return isinstance(datum, int) and not isinstance(datum, bool)
    if kind in ("float", "double"):
        return isinstance(datum, float)
    if kind == "string":
        return isinstance(datum, str)
    if kind in ("bytes", "fixed"):
        return isinstance(datum, bytes | bytearray) and (kind == "bytes" or len(datum) == node["size"])
    if kind == "enum":
        return isinstance(datum, str) and datum in node["symbols"]
    if kind == "array":
        return isinstance(datum, list)
    if kind == "map":
        return isinstance(datum, dict) and not _is_record_of(schema, datum, None)
    if kind == "record":
        return isinstance(datum, dict) and _is_record_of(schema, datum, node)
    return False


def _is_record_of(schema: AvroSchema, datum: dict[str, Any], node: Any) -> bool:
    if node is None:
        return False
    return set(datum) == {f["name"] for f in node["fields"]}
