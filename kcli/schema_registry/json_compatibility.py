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

This module holds the comparison's entry and the scalar, enum and combined kinds; objects and
arrays are :mod:`kcli.schema_registry.json_compatibility_objects`, and schemas are classified the
way Confluent's loader (everit) models them by :mod:`kcli.schema_registry.json_schema_nodes`.
"""

from __future__ import annotations

from typing import Any

from kcli.schema_registry.json_compatibility_objects import compare_array, compare_object
from kcli.schema_registry.json_schema_nodes import (
    COMPATIBLE_CHANGES,
    Context,
    Side,
    child,
    compare_limit,
    keyword,
    normal,
    subschemas,
)


def reader_problems(reader: Any, writer: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader``: the incompatible differences."""
    ctx = Context(compare)
    ctx.diff(Side(writer.raw, writer.resolver()), Side(reader.raw, reader.resolver()))
    return [
        f"{{errorType:'{kind}', description:'{_describe(kind)}', path:'{path}'}}"
        for kind, path in ctx.differences
        if kind not in COMPATIBLE_CHANGES
    ]


def _describe(kind: str) -> str:
    return kind.replace("_", " ").lower()


# --- classification, as Confluent's loader sees a schema -------------------------------------------


# --- the comparison --------------------------------------------------------------------------------


def compare(ctx: Context, original: Side | None, update: Side | None) -> None:
    o, u = normal(original), normal(update)
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
        criterion, subs = subschemas(u_side)
        if len(subs) == 1:
            sub = ctx.sub()
            sub.diff(o_side, subs[0])
            if sub.compatible():
                ctx.differences += sub.differences
                return
        elif criterion in ("anyOf", "oneOf"):
            for candidate in subs:
                sub = ctx.sub()
                sub.diff(o_side, candidate)
                if sub.compatible():
                    ctx.differences += sub.differences
                    ctx.add("SUM_TYPE_EXTENDED")
                    return
    elif o_kind == "combined" and u_kind != "combined":
        _criterion, subs = subschemas(o_side)
        if len(subs) == 1:
            sub = ctx.sub()
            sub.diff(subs[0], u_side)
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
            if keyword(o_side, key) != keyword(u_side, key):
                ctx.add(change)
        compare_kind = {
            "string": _compare_string,
            "number": _compare_number,
            "enum": _compare_enum,
            "const": _compare_const,
            "combined": _compare_combined,
            "not": _compare_not,
            "object": compare_object,
            "array": compare_array,
        }.get(o_kind)
        if compare_kind is not None:
            compare_kind(ctx, o_side, u_side)
    finally:
        ctx.seen.discard(pair)


def _compare_string(ctx: Context, o: Side, u: Side) -> None:
    compare_limit(ctx, keyword(o, "maxLength"), keyword(u, "maxLength"), "maxLength", "MAX_LENGTH")
    compare_limit(ctx, keyword(o, "minLength"), keyword(u, "minLength"), "minLength", "MIN_LENGTH")
    op, up = keyword(o, "pattern"), keyword(u, "pattern")
    if op != up:
        if op is None:
            ctx.add("PATTERN_ADDED", "pattern")
        elif up is None:
            ctx.add("PATTERN_REMOVED", "pattern")
        else:
            ctx.add("PATTERN_CHANGED", "pattern")


def _compare_number(ctx: Context, o: Side, u: Side) -> None:
    compare_limit(ctx, keyword(o, "maximum"), keyword(u, "maximum"), "maximum", "MAXIMUM")
    compare_limit(ctx, keyword(o, "minimum"), keyword(u, "minimum"), "minimum", "MINIMUM")
    compare_limit(
        ctx,
        keyword(o, "exclusiveMaximum"),
        keyword(u, "exclusiveMaximum"),
        "exclusiveMaximum",
        "EXCLUSIVE_MAXIMUM",
    )
    compare_limit(
        ctx,
        keyword(o, "exclusiveMinimum"),
        keyword(u, "exclusiveMinimum"),
        "exclusiveMinimum",
        "EXCLUSIVE_MINIMUM",
    )
    om, um = keyword(o, "multipleOf"), keyword(u, "multipleOf")
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
    o_int, u_int = keyword(o, "type") == "integer", keyword(u, "type") == "integer"
    if o_int != u_int:
        ctx.add("TYPE_EXTENDED" if o_int else "TYPE_NARROWED")


def _freeze(value: Any) -> Any:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _compare_enum(ctx: Context, o: Side, u: Side) -> None:
    old = {_freeze(v) for v in keyword(o, "enum") or []}
    new = {_freeze(v) for v in keyword(u, "enum") or []}
    if old != new:
        if new >= old:
            ctx.add("ENUM_ARRAY_EXTENDED", "enum")
        elif old >= new:
            ctx.add("ENUM_ARRAY_NARROWED", "enum")
        else:
            ctx.add("ENUM_ARRAY_CHANGED", "enum")


def _compare_const(ctx: Context, o: Side, u: Side) -> None:
    if _freeze(keyword(o, "const")) != _freeze(keyword(u, "const")):
        ctx.add("CONST_CHANGED", "const")


def _compare_not(ctx: Context, o: Side, u: Side) -> None:
    sub = ctx.sub()
    with sub.enter("not"):
        sub.diff(child(u, "not"), child(o, "not"))  # reversed: what is excluded may shrink
    if sub.compatible():
        ctx.add("NOT_TYPE_NARROWED", "not")
    else:
        ctx.add("NOT_TYPE_EXTENDED", "not")


def _compare_combined(ctx: Context, o: Side, u: Side) -> None:
    o_crit, o_subs = subschemas(o)
    u_crit, u_subs = subschemas(u)
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
                sub.diff(os_, us)
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
