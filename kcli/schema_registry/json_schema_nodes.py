"""JSON Schema nodes as Confluent's loader (everit) classifies them, and the context a schema diff records into.

``{"type": [a, b]}`` is an ``anyOf``, a ``$ref`` is replaced by what it refers to, ``true``/``{}``
accept anything, ``false`` nothing; ``integer`` is a number that requires an integer (so integer to
number is an extension). :mod:`kcli.schema_registry.json_compatibility` compares two schemas
with these; :class:`Context` carries its ``compare`` so that the per-kind comparisons
(:mod:`kcli.schema_registry.json_compatibility_objects`) recurse without importing it back.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """The differences found so far, where the comparison is, and the comparison itself."""

    compare: Callable[[Context, Side | None, Side | None], None]
    differences: list[tuple[str, str]] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def diff(self, original: Side | None, update: Side | None) -> None:
        """Compare two sub-schemas into this context."""
        self.compare(self, original, update)

    def add(self, kind: str, *extra: str) -> None:
        self.differences.append((kind, "#/" + "/".join([*self.path, *extra])))

    def sub(self) -> Context:
        return Context(self.compare, [], list(self.path), self.seen)

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


def deref(side: Side) -> Side:
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


def normal(side: Side | None) -> tuple[Side, str] | None:
    if side is None:
        return None
    side = _split(deref(side))
    return side, kind_of(side.node)


def subschemas(side: Side) -> tuple[str, list[Side]]:
    for key in _COMBINERS:
        if isinstance(side.node.get(key), list):
            return key, [Side(n, side.resolver) for n in side.node[key]]
    return "anyOf", []


def keyword(side: Side, key: str) -> Any:
    return side.node.get(key) if isinstance(side.node, dict) else None


def child(side: Side, *keys: str | int) -> Side | None:
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


def compare_limit(
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
