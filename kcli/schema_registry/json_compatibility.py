"""JSON Schema compatibility as Confluent's registry defines it (its ``JsonSchemaDiff`` rules).

``reader_problems(reader, writer)`` compares the writer's schema (the *original*) with the
reader's (the *update*) keyword by keyword and records each difference by Confluent's name for it
(``PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL``, ``TYPE_CHANGED``, ``MAX_LENGTH_DECREASED`` ...). Some
differences are compatible (a reader that accepts more than was written: a maximum raised, a
property removed from an open content model, an enum extended); any other one is a problem. The
*content model* of an object decides what adding or removing a property means: an open model
(``additionalProperties`` absent or true) may already hold any property, so a new typed property
may clash with old data, while a closed model (``additionalProperties: false``) can gain optional
properties freely. Arrays follow the same rule for tuple items.

Schemas are classified the way Confluent's loader (everit) models them: ``{"type": [a, b]}`` is an
``anyOf``, a ``$ref`` is replaced by what it refers to, ``true``/``{}`` accept anything, ``false``
nothing; ``integer`` is a number that requires an integer (so integer to number is an extension).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPATIBLE_CHANGES = frozenset(
    {
        "ID_CHANGED",
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "DEFAULT_CHANGED",
        "SCHEMA_REMOVED",
        "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_REMOVED",
        "MIN_LENGTH_DECREASED",
        "MIN_LENGTH_REMOVED",
        "PATTERN_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_REMOVED",
        "MINIMUM_DECREASED",
        "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED",
        "DEPENDENCY_SCHEMA_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_REMOVED",
        "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_REMOVED",
        "MIN_ITEMS_DECREASED",
        "MIN_ITEMS_REMOVED",
        "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_EXTENDED",
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED",
        "COMBINED_TYPE_EXTENDED",
        "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_NARROWED",
    }
)

_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "id",
        "title",
        "description",
        "default",
        "definitions",
        "$defs",
        "examples",
        "$comment",
    }
)
_COMBINERS = ("allOf", "anyOf", "oneOf")
_OBJECT_KEYS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "maxProperties",
        "minProperties",
        "propertyNames",
    }
)
_ARRAY_KEYS = frozenset({"items", "additionalItems", "prefixItems", "maxItems", "minItems", "uniqueItems"})
_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})


@dataclass
class Side:
    """A schema node with the resolver that resolves its ``$ref`` (references may be relative)."""

    node: Any
    resolver: Any


@dataclass
class Context:
    differences: list[tuple[str, str]] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def add(self, kind: str, *extra: str) -> None:
        self.differences.append((kind, "#/" + "/".join([*self.path, *extra])))

    def sub(self) -> Context:
        return Context([], list(self.path), self.seen)

    def compatible(self) -> bool:
        return all(kind in COMPATIBLE_CHANGES for kind, _ in self.differences)

    def enter(self, *parts: str) -> _Scope:
        return _Scope(self, parts)


class _Scope:
    def __init__(self, ctx: Context, parts: tuple[str, ...]):
        self.ctx, self.parts = ctx, parts

    def __enter__(self) -> None:
        self.ctx.path.extend(self.parts)

    def __exit__(self, *_: object) -> None:
        del self.ctx.path[len(self.ctx.path) - len(self.parts) :]


def reader_problems(reader: Any, writer: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader``: the incompatible differences."""
    ctx = Context()
    compare(ctx, Side(writer.raw, writer.resolver()), Side(reader.raw, reader.resolver()))
    return [
        f"{{errorType:'{kind}', description:'{_describe(kind)}', path:'{path}'}}"
        for kind, path in ctx.differences
        if kind not in COMPATIBLE_CHANGES
    ]


def _describe(kind: str) -> str:
    return kind.replace("_", " ").lower()


# --- classification, as Confluent's loader sees a schema -------------------------------------------


def _deref(side: Side) -> Side:
    """Follow ``$ref`` (a schema that is only a reference is the schema it refers to)."""
    hops = 0
    while isinstance(side.node, dict) and isinstance(side.node.get("$ref"), str) and hops < 64:
        resolved = side.resolver.lookup(side.node["$ref"])
        side = Side(resolved.contents, resolved.resolver)
        hops += 1
    return side


def _split(side: Side) -> Side:
    """A schema mixing a type with combiners is the ``allOf`` of its parts; ``type: [a, b]`` an ``anyOf``."""
    node = side.node
    if not isinstance(node, dict):
        return side
    combiners = [k for k in _COMBINERS if isinstance(node.get(k), list)]
    rest = {k: v for k, v in node.items() if k not in _COMBINERS}
    own = {k for k in rest if k not in _ANNOTATIONS}
    if combiners and (own or len(combiners) > 1):
        parts: list[Any] = [{k: node[k]} for k in combiners]
        if own:
            parts.insert(0, rest)
        return Side({"allOf": parts}, side.resolver)
    types = node.get("type")
    if isinstance(types, list):
        if len(types) == 1:
            return Side({**node, "type": types[0]}, side.resolver)
        return Side({"anyOf": [{**node, "type": t} for t in types]}, side.resolver)
    return side


def kind_of(node: Any) -> str:
    if node is True:
        return "empty"
    if node is False:
        return "false"
    if not isinstance(node, dict):
        return "empty"
    if any(k in node for k in _COMBINERS):
        return "combined"
    if "enum" in node:
        return "enum"
    if "const" in node:
        return "const"
    if "not" in node:
        return "not"
    kind = node.get("type")
    if isinstance(kind, str):
        return "number" if kind == "integer" else kind
    keys = set(node)
    if keys & _OBJECT_KEYS:
        return "object"
    if keys & _ARRAY_KEYS:
        return "array"
    if keys & _STRING_KEYS:
        return "string"
    if keys & _NUMBER_KEYS:
        return "number"
    return "empty"


def _normal(side: Side | None) -> tuple[Side, str] | None:
    if side is None:
        return None
    side = _split(_deref(side))
    return side, kind_of(side.node)


def _subschemas(side: Side) -> tuple[str, list[Side]]:
    for key in _COMBINERS:
        if isinstance(side.node.get(key), list):
            return key, [Side(n, side.resolver) for n in side.node[key]]
    return "anyOf", []


def _get(side: Side, key: str) -> Any:
    return side.node.get(key) if isinstance(side.node, dict) else None


def _child(side: Side, *keys: str | int) -> Side | None:
    node: Any = side.node
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return None
            node = node[key]
        else:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
    return Side(node, side.resolver)


# --- the comparison --------------------------------------------------------------------------------


def compare(ctx: Context, original: Side | None, update: Side | None) -> None:
    o, u = _normal(original), _normal(update)
    if o is None and u is None:
        return
    if o is None:
        ctx.add("SCHEMA_ADDED")
        return
    if u is None:
        ctx.add("SCHEMA_REMOVED")
        return
    (o_side, o_kind), (u_side, u_kind) = o, u
    if o_kind != "combined" and u_kind == "combined":
        criterion, subs = _subschemas(u_side)
        if len(subs) == 1:
            sub = ctx.sub()
            compare(sub, o_side, subs[0])
            if sub.compatible():
                ctx.differences += sub.differences
                return
        elif criterion in ("anyOf", "oneOf"):
            for candidate in subs:
                sub = ctx.sub()
                compare(sub, o_side, candidate)
                if sub.compatible():
                    ctx.differences += sub.differences
                    ctx.add("SUM_TYPE_EXTENDED")
                    return
    elif o_kind == "combined" and u_kind != "combined":
        _criterion, subs = _subschemas(o_side)
        if len(subs) == 1:
            sub = ctx.sub()
            compare(sub, subs[0], u_side)
            if sub.compatible():
                ctx.differences += sub.differences
                return
    if o_kind != u_kind:
        if o_kind == "false" or u_kind == "empty":
            return
        ctx.add("TYPE_CHANGED")
        return
    pair = (id(o_side.node), id(u_side.node))
    if pair in ctx.seen:
        return
    ctx.seen.add(pair)
    try:
        for key, change in (
            ("$id", "ID_CHANGED"),
            ("title", "TITLE_CHANGED"),
            ("description", "DESCRIPTION_CHANGED"),
            ("default", "DEFAULT_CHANGED"),
        ):
            if _get(o_side, key) != _get(u_side, key):
                ctx.add(change)
        compare_kind = {
            "string": _compare_string,
            "number": _compare_number,
            "enum": _compare_enum,
            "const": _compare_const,
            "combined": _compare_combined,
            "not": _compare_not,
            "object": _compare_object,
            "array": _compare_array,
        }.get(o_kind)
        if compare_kind is not None:
            compare_kind(ctx, o_side, u_side)
    finally:
        ctx.seen.discard(pair)


def _limit(
    ctx: Context,
    o: Any,
    u: Any,
    name: str,
    prefix: str,
    larger: str = "INCREASED",
    smaller: str = "DECREASED",
) -> None:
    if isinstance(o, bool) or isinstance(u, bool) or o == u:
        return
    if o is None:
        ctx.add(f"{prefix}_ADDED", name)
    elif u is None:
        ctx.add(f"{prefix}_REMOVED", name)
    elif o < u:
        ctx.add(f"{prefix}_{larger}", name)
    elif o > u:
        ctx.add(f"{prefix}_{smaller}", name)


def _compare_string(ctx: Context, o: Side, u: Side) -> None:
    _limit(ctx, _get(o, "maxLength"), _get(u, "maxLength"), "maxLength", "MAX_LENGTH")
    _limit(ctx, _get(o, "minLength"), _get(u, "minLength"), "minLength", "MIN_LENGTH")
    op, up = _get(o, "pattern"), _get(u, "pattern")
    if op != up:
        if op is None:
            ctx.add("PATTERN_ADDED", "pattern")
        elif up is None:
            ctx.add("PATTERN_REMOVED", "pattern")
        else:
            ctx.add("PATTERN_CHANGED", "pattern")


def _compare_number(ctx: Context, o: Side, u: Side) -> None:
    _limit(ctx, _get(o, "maximum"), _get(u, "maximum"), "maximum", "MAXIMUM")
    _limit(ctx, _get(o, "minimum"), _get(u, "minimum"), "minimum", "MINIMUM")
    _limit(
        ctx, _get(o, "exclusiveMaximum"), _get(u, "exclusiveMaximum"), "exclusiveMaximum", "EXCLUSIVE_MAXIMUM"
    )
    _limit(
        ctx, _get(o, "exclusiveMinimum"), _get(u, "exclusiveMinimum"), "exclusiveMinimum", "EXCLUSIVE_MINIMUM"
    )
    om, um = _get(o, "multipleOf"), _get(u, "multipleOf")
    if om != um:
        if om is None:
            ctx.add("MULTIPLE_OF_ADDED", "multipleOf")
        elif um is None:
            ctx.add("MULTIPLE_OF_REMOVED", "multipleOf")
        elif int(om) and int(um) % int(om) == 0:
            ctx.add("MULTIPLE_OF_EXPANDED", "multipleOf")
        elif int(um) and int(om) % int(um) == 0:
            ctx.add("MULTIPLE_OF_REDUCED", "multipleOf")
        else:
            ctx.add("MULTIPLE_OF_CHANGED", "multipleOf")
    o_int, u_int = _get(o, "type") == "integer", _get(u, "type") == "integer"
    if o_int != u_int:
        ctx.add("TYPE_EXTENDED" if o_int else "TYPE_NARROWED")


def _freeze(value: Any) -> Any:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _compare_enum(ctx: Context, o: Side, u: Side) -> None:
    old = {_freeze(v) for v in _get(o, "enum") or []}
    new = {_freeze(v) for v in _get(u, "enum") or []}
    if old != new:
        if new >= old:
            ctx.add("ENUM_ARRAY_EXTENDED", "enum")
        elif old >= new:
            ctx.add("ENUM_ARRAY_NARROWED", "enum")
        else:
            ctx.add("ENUM_ARRAY_CHANGED", "enum")


def _compare_const(ctx: Context, o: Side, u: Side) -> None:
    if _freeze(_get(o, "const")) != _freeze(_get(u, "const")):
        ctx.add("CONST_CHANGED", "const")


def _compare_not(ctx: Context, o: Side, u: Side) -> None:
    sub = ctx.sub()
    with sub.enter("not"):
        compare(sub, _child(u, "not"), _child(o, "not"))  # reversed: what is excluded may shrink
    if sub.compatible():
        ctx.add("NOT_TYPE_NARROWED", "not")
    else:
        ctx.add("NOT_TYPE_EXTENDED", "not")


def _compare_combined(ctx: Context, o: Side, u: Side) -> None:
    o_crit, o_subs = _subschemas(o)
    u_crit, u_subs = _subschemas(u)
    change = None
    if o_crit != u_crit:
        if (
            u_crit == "anyOf"
            or (u_crit == "oneOf" and len(o_subs) == 1)
            or (u_crit == "allOf" and len(o_subs) == 1 and len(u_subs) == 1)
        ):
            change = "COMBINED_TYPE_EXTENDED"
        else:
            change = "COMBINED_TYPE_CHANGED"
        ctx.add(change)
    if change == "COMBINED_TYPE_CHANGED":
        return
    o_subs = _unique(o_subs)
    u_subs = _unique(u_subs)
    if len(o_subs) < len(u_subs):
        ctx.add("PRODUCT_TYPE_EXTENDED" if u_crit == "allOf" else "SUM_TYPE_EXTENDED")
    elif len(o_subs) > len(u_subs):
        ctx.add("PRODUCT_TYPE_NARROWED" if u_crit == "allOf" else "SUM_TYPE_NARROWED")
    edges: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for i, os_ in enumerate(o_subs):
        for j, us in enumerate(u_subs):
            sub = ctx.sub()
            with sub.enter(f"{o_crit}/{i}"):
                compare(sub, os_, us)
            if sub.compatible():
                edges[(i, j)] = sub.differences
    matching = _max_matching(len(o_subs), len(u_subs), set(edges))
    for edge in matching:
        ctx.differences += edges[edge]
    if len(matching) < min(len(o_subs), len(u_subs)):
        ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")


def _unique(sides: list[Side]) -> list[Side]:
    seen, out = set(), []
    for side in sides:
        key = _freeze(side.node)
        if key not in seen:
            seen.add(key)
            out.append(side)
    return out


def _max_matching(left: int, right: int, edges: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """A maximum matching of a small bipartite graph (augmenting paths)."""
    match_right: dict[int, int] = {}

    def augment(i: int, visited: set[int]) -> bool:
        for j in range(right):
            if (i, j) in edges and j not in visited:
                visited.add(j)
                if j not in match_right or augment(match_right[j], visited):
                    match_right[j] = i
                    return True
        return False

    for i in range(left):
        augment(i, set())
    return [(i, j) for j, i in match_right.items()]


def _required(side: Side) -> set[str]:
    value = _get(side, "required")
    return set(value) if isinstance(value, list) else set()


def _properties(side: Side) -> dict[str, Any]:
    value = _get(side, "properties")
    return value if isinstance(value, dict) else {}


def _has_default(side: Side, name: str) -> bool:
    prop = _child(side, "properties", name)
    if prop is None:
        return False
    resolved = _deref(prop)
    return isinstance(resolved.node, dict) and "default" in resolved.node


def _additional_schema(side: Side, key: str) -> Side | None:
    value = _get(side, key)
    return Side(value, side.resolver) if isinstance(value, dict) else None


def _permits(side: Side, key: str) -> bool:
    return _get(side, key) is not False


def _object_open(side: Side) -> bool:
    return (
        not _get(side, "patternProperties")
        and _additional_schema(side, "additionalProperties") is None
        and _permits(side, "additionalProperties")
    )


def _partial(side: Side, name: str) -> Side | None:
    import re

    for pattern, schema in (_get(side, "patternProperties") or {}).items():
        try:
            if re.search(pattern, name):
                return Side(schema, side.resolver)
        except re.error:
            continue
    return _additional_schema(side, "additionalProperties")


def _compare_object(ctx: Context, o: Side, u: Side) -> None:
    o_props, u_props = _properties(o), _properties(u)
    o_req, u_req = _required(o), _required(u)
    with ctx.enter("required"):
        for name in o_props:
            if name in u_props:
                if name in o_req and name not in u_req:
                    ctx.add("REQUIRED_ATTRIBUTE_REMOVED", name)
                elif name not in o_req and name in u_req:
                    ctx.add(
                        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                        if _has_default(u, name)
                        else "REQUIRED_ATTRIBUTE_ADDED",
                        name,
                    )
    with ctx.enter("properties"):
        for name in list(dict.fromkeys([*o_props, *u_props])):
            with ctx.enter(name):
                o_prop, u_prop = _child(o, "properties", name), _child(u, "properties", name)
                if u_prop is None:
                    assert o_prop is not None
                    if _object_open(u):
                        ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
                    elif (partial := _partial(u, name)) is not None:
                        sub = ctx.sub()
                        compare(sub, o_prop, partial)
                        ctx.differences += sub.differences
                        ctx.add(
                            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            if sub.compatible()
                            else "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        )
                    elif o_prop.node is False:
                        ctx.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
                    else:
                        ctx.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")
                elif o_prop is None:
                    if _object_open(o):
                        is_empty = kind_of(_deref(u_prop).node) == "empty"
                        ctx.add(
                            "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                            if is_empty
                            else "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
                        )
                    else:
                        if (partial := _partial(o, name)) is not None:
                            sub = ctx.sub()
                            compare(sub, partial, u_prop)
                            ctx.differences += sub.differences
                            ctx.add(
                                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                                if sub.compatible()
                                else "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            )
                        if name in u_req:
                            ctx.add(
                                "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                                if _has_default(u, name)
                                else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
                            )
                        else:
                            ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
                else:
                    compare(ctx, o_prop, u_prop)
    _compare_dependencies(ctx, o, u)
    with ctx.enter("additionalProperties"):
        if _permits(o, "additionalProperties") != _permits(u, "additionalProperties"):
            ctx.add(
                "ADDITIONAL_PROPERTIES_ADDED"
                if _permits(u, "additionalProperties")
                else "ADDITIONAL_PROPERTIES_REMOVED"
            )
        else:
            o_add, u_add = (
                _additional_schema(o, "additionalProperties"),
                _additional_schema(u, "additionalProperties"),
            )
            if o_add is None and u_add is not None:
                ctx.add("ADDITIONAL_PROPERTIES_NARROWED")
            elif u_add is None and o_add is not None:
                ctx.add("ADDITIONAL_PROPERTIES_EXTENDED")
            elif o_add is not None and u_add is not None:
                compare(ctx, o_add, u_add)
    _limit(ctx, _get(o, "maxProperties"), _get(u, "maxProperties"), "maxProperties", "MAX_PROPERTIES")
    _limit(ctx, _get(o, "minProperties"), _get(u, "minProperties"), "minProperties", "MIN_PROPERTIES")


def _dependencies(side: Side) -> tuple[dict[str, set[str]], dict[str, Any]]:
    arrays: dict[str, set[str]] = {}
    schemas: dict[str, Any] = {}
    for key in ("dependencies", "dependentRequired", "dependentSchemas"):
        for name, value in (_get(side, key) or {}).items():
            if isinstance(value, list):
                arrays[name] = set(value)
            else:
                schemas[name] = value
    return arrays, schemas


def _compare_dependencies(ctx: Context, o: Side, u: Side) -> None:
    o_arrays, o_schemas = _dependencies(o)
    u_arrays, u_schemas = _dependencies(u)
    with ctx.enter("dependencies"):
        for name in sorted(set(o_arrays) | set(u_arrays)):
            old, new = o_arrays.get(name), u_arrays.get(name)
            if new is None:
                ctx.add("DEPENDENCY_ARRAY_REMOVED", name)
            elif old is None:
                ctx.add("DEPENDENCY_ARRAY_ADDED", name)
            elif old != new:
                ctx.add(
                    "DEPENDENCY_ARRAY_EXTENDED"
                    if new >= old
                    else "DEPENDENCY_ARRAY_NARROWED"
                    if old >= new
                    else "DEPENDENCY_ARRAY_CHANGED",
                    name,
                )
        for name in sorted(set(o_schemas) | set(u_schemas)):
            if name not in u_schemas:
                ctx.add("DEPENDENCY_SCHEMA_REMOVED", name)
            elif name not in o_schemas:
                ctx.add("DEPENDENCY_SCHEMA_ADDED", name)
            else:
                with ctx.enter(name):
                    compare(ctx, Side(o_schemas[name], o.resolver), Side(u_schemas[name], u.resolver))


def _tuple_items(side: Side) -> list[Side]:
    items = _get(side, "prefixItems")
    if not isinstance(items, list):
        items = _get(side, "items")
    return [Side(n, side.resolver) for n in items] if isinstance(items, list) else []


def _items_schema(side: Side) -> Side | None:
    items = _get(side, "items")
    if isinstance(items, dict | bool) and not isinstance(_get(side, "prefixItems"), list):
        return Side(items, side.resolver)
    if isinstance(_get(side, "prefixItems"), list) and isinstance(items, dict | bool):
        return None
    return None


def _additional_items_key(side: Side) -> str:
    return "items" if isinstance(_get(side, "prefixItems"), list) else "additionalItems"


def _array_open(side: Side) -> bool:
    key = _additional_items_key(side)
    return _permits(side, key) and _additional_schema(side, key) is None


def _compare_array(ctx: Context, o: Side, u: Side) -> None:
    with ctx.enter("items"):
        compare(ctx, _items_schema(o), _items_schema(u))
    o_items, u_items = _tuple_items(o), _tuple_items(u)
    for index in range(max(len(o_items), len(u_items))):
        with ctx.enter(f"items/{index}"):
            if index < len(o_items) and index < len(u_items):
                compare(ctx, o_items[index], u_items[index])
            elif index < len(o_items):
                partial = _additional_schema(u, _additional_items_key(u))
                if _array_open(u):
                    ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
                elif partial is not None:
                    sub = ctx.sub()
                    compare(sub, o_items[index], partial)
                    ctx.differences += sub.differences
                    ctx.add(
                        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        if sub.compatible()
                        else "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                    )
                elif o_items[index].node is False:
                    ctx.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
                else:
                    ctx.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")
            else:
                partial = _additional_schema(o, _additional_items_key(o))
                if _array_open(o):
                    is_empty = kind_of(_deref(u_items[index]).node) == "empty"
                    ctx.add(
                        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                        if is_empty
                        else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
                    )
                elif partial is not None:
                    sub = ctx.sub()
                    compare(sub, partial, u_items[index])
                    ctx.differences += sub.differences
                    ctx.add(
                        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        if sub.compatible()
                        else "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                    )
                else:
                    ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")
    if o_items or u_items:
        o_key, u_key = _additional_items_key(o), _additional_items_key(u)
        with ctx.enter("additionalItems"):
            if _permits(o, o_key) != _permits(u, u_key):
                ctx.add("ADDITIONAL_ITEMS_REMOVED" if _permits(o, o_key) else "ADDITIONAL_ITEMS_ADDED")
            else:
                o_add, u_add = _additional_schema(o, o_key), _additional_schema(u, u_key)
                if o_add is None and u_add is not None:
                    ctx.add("ADDITIONAL_ITEMS_NARROWED")
                elif u_add is None and o_add is not None:
                    ctx.add("ADDITIONAL_ITEMS_EXTENDED")
                elif o_add is not None and u_add is not None:
                    compare(ctx, o_add, u_add)
    _limit(ctx, _get(o, "maxItems"), _get(u, "maxItems"), "maxItems", "MAX_ITEMS")
    _limit(ctx, _get(o, "minItems"), _get(u, "minItems"), "minItems", "MIN_ITEMS")
    o_unique, u_unique = bool(_get(o, "uniqueItems")), bool(_get(u, "uniqueItems"))
    if o_unique != u_unique:
        ctx.add("UNIQUE_ITEMS_REMOVED" if o_unique else "UNIQUE_ITEMS_ADDED", "uniqueItems")
