"""Objects and arrays in a JSON Schema diff: content models, properties, dependencies and tuple items.

Confluent's ObjectSchemaDiff and ArraySchemaDiff rules. The *content model* of an object decides
what adding or removing a property means: an open model (``additionalProperties`` absent or true)
may already hold any property, so a new typed property may clash with old data, while a closed
model (``additionalProperties: false``) can gain optional properties freely. Arrays follow the
same rule for tuple items. Sub-schemas are compared through ``ctx.diff`` (the comparison of
:mod:`kcli.schema_registry.json_compatibility`).
"""

from __future__ import annotations

from typing import Any

from kcli.schema_registry.json_schema_nodes import (
    Context,
    Side,
    child,
    compare_limit,
    deref,
    keyword,
    kind_of,
)


def _required(side: Side) -> set[str]:
    value = keyword(side, "required")
    return set(value) if isinstance(value, list) else set()


def _properties(side: Side) -> dict[str, Any]:
    value = keyword(side, "properties")
    return value if isinstance(value, dict) else {}


def _has_default(side: Side, name: str) -> bool:
    prop = child(side, "properties", name)
    if prop is None:
        return False
    resolved = deref(prop)
    return isinstance(resolved.node, dict) and "default" in resolved.node


def _additional_schema(side: Side, key: str) -> Side | None:
    value = keyword(side, key)
    return Side(value, side.resolver) if isinstance(value, dict) else None


def _permits(side: Side, key: str) -> bool:
    return keyword(side, key) is not False


def _object_open(side: Side) -> bool:
    return (
        not keyword(side, "patternProperties")
        and _additional_schema(side, "additionalProperties") is None
        and _permits(side, "additionalProperties")
    )


def _partial(side: Side, name: str) -> Side | None:
    import re

    for pattern, schema in (keyword(side, "patternProperties") or {}).items():
        try:
            if re.search(pattern, name):
                return Side(schema, side.resolver)
        except re.error:
            continue
    return _additional_schema(side, "additionalProperties")


def compare_object(ctx: Context, o: Side, u: Side) -> None:
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
                o_prop, u_prop = child(o, "properties", name), child(u, "properties", name)
                if u_prop is None:
                    assert o_prop is not None
                    if _object_open(u):
                        ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
                    elif (partial := _partial(u, name)) is not None:
                        sub = ctx.sub()
                        sub.diff(o_prop, partial)
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
                        is_empty = kind_of(deref(u_prop).node) == "empty"
                        ctx.add(
                            "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                            if is_empty
                            else "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
                        )
                    else:
                        if (partial := _partial(o, name)) is not None:
                            sub = ctx.sub()
                            sub.diff(partial, u_prop)
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
                    ctx.diff(o_prop, u_prop)
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
                ctx.diff(o_add, u_add)
    compare_limit(
        ctx, keyword(o, "maxProperties"), keyword(u, "maxProperties"), "maxProperties", "MAX_PROPERTIES"
    )
    compare_limit(
        ctx, keyword(o, "minProperties"), keyword(u, "minProperties"), "minProperties", "MIN_PROPERTIES"
    )


def _dependencies(side: Side) -> tuple[dict[str, set[str]], dict[str, Any]]:
    arrays: dict[str, set[str]] = {}
    schemas: dict[str, Any] = {}
    for key in ("dependencies", "dependentRequired", "dependentSchemas"):
        for name, value in (keyword(side, key) or {}).items():
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
                    ctx.diff(Side(o_schemas[name], o.resolver), Side(u_schemas[name], u.resolver))


def _tuple_items(side: Side) -> list[Side]:
    items = keyword(side, "prefixItems")
    if not isinstance(items, list):
        items = keyword(side, "items")
    return [Side(n, side.resolver) for n in items] if isinstance(items, list) else []


def _items_schema(side: Side) -> Side | None:
    items = keyword(side, "items")
    if isinstance(items, dict | bool) and not isinstance(keyword(side, "prefixItems"), list):
        return Side(items, side.resolver)
    if isinstance(keyword(side, "prefixItems"), list) and isinstance(items, dict | bool):
        return None
    return None


def _additional_items_key(side: Side) -> str:
    return "items" if isinstance(keyword(side, "prefixItems"), list) else "additionalItems"


def _array_open(side: Side) -> bool:
    key = _additional_items_key(side)
    return _permits(side, key) and _additional_schema(side, key) is None


def compare_array(ctx: Context, o: Side, u: Side) -> None:
    with ctx.enter("items"):
        ctx.diff(_items_schema(o), _items_schema(u))
    o_items, u_items = _tuple_items(o), _tuple_items(u)
    for index in range(max(len(o_items), len(u_items))):
        with ctx.enter(f"items/{index}"):
            if index < len(o_items) and index < len(u_items):
                ctx.diff(o_items[index], u_items[index])
            elif index < len(o_items):
                partial = _additional_schema(u, _additional_items_key(u))
                if _array_open(u):
                    ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
                elif partial is not None:
                    sub = ctx.sub()
                    sub.diff(o_items[index], partial)
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
                    is_empty = kind_of(deref(u_items[index]).node) == "empty"
                    ctx.add(
                        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                        if is_empty
                        else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
                    )
                elif partial is not None:
                    sub = ctx.sub()
                    sub.diff(partial, u_items[index])
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
                    ctx.diff(o_add, u_add)
    compare_limit(ctx, keyword(o, "maxItems"), keyword(u, "maxItems"), "maxItems", "MAX_ITEMS")
    compare_limit(ctx, keyword(o, "minItems"), keyword(u, "minItems"), "minItems", "MIN_ITEMS")
    o_unique, u_unique = bool(keyword(o, "uniqueItems")), bool(keyword(u, "uniqueItems"))
    if o_unique != u_unique:
        ctx.add("UNIQUE_ITEMS_REMOVED" if o_unique else "UNIQUE_ITEMS_ADDED", "uniqueItems")
