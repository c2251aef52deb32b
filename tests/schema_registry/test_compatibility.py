"""The compatibility checker against Avro's schema resolution rules, case by case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kcli.schema_registry.avro_schema import parse
from kcli.schema_registry.compatibility import LEVELS, check_level, reader_problems


def s(schema: Any) -> Any:
    return parse(json.dumps(schema))


def rec(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def can_read(reader: Any, writer: Any) -> bool:
    return not reader_problems(s(reader), s(writer))


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ],
)
def test_promotions_read_one_way(writer: str, reader: str) -> None:
    assert can_read(reader, writer)
    if {writer, reader} != {"string", "bytes"}:
        assert not can_read(writer, reader)


def test_same_primitive_and_mismatch() -> None:
    assert can_read("string", "string")
    problems = reader_problems(s("int"), s("string"))
    assert problems and "TYPE_MISMATCH" in problems[0]


def test_record_field_added_with_default_is_readable_of_old_data() -> None:
    old = rec(f("id", "int"))
    new = rec(f("id", "int"), f("email", ["null", "string"], default=None))
    assert can_read(new, old)  # backward
    assert can_read(old, new)  # forward: old reader skips the new field


def test_record_field_added_without_default_is_not_backward() -> None:
    old = rec(f("id", "int"))
    new = rec(f("id", "int"), f("email", "string"))
    problems = reader_problems(s(new), s(old))
    assert len(problems) == 1
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in problems[0] and "email" in problems[0]
    assert "/fields/1" in problems[0]
    assert can_read(old, new)


def test_field_removed() -> None:
    old = rec(f("id", "int"), f("name", "string"))
    new = rec(f("id", "int"))
    assert can_read(new, old)  # reader ignores the writer's extra field
    assert not can_read(old, new)  # old reader needs name, no default
    with_default = rec(f("id", "int"), f("name", "string", default=""))
    assert can_read(with_default, new)


def test_field_renamed_via_alias() -> None:
    old = rec(f("fax", "string"))
    renamed = rec(f("faxNumber", "string"))
    aliased = rec(f("faxNumber", "string", aliases=["fax"]))
    assert not can_read(renamed, old)
    assert can_read(aliased, old)


def test_record_name_change_and_type_alias() -> None:
    old = rec(f("id", "int"), name="ns.Old")
    new = rec(f("id", "int"), name="ns.New")
    assert not can_read(new, old)
    assert can_read(rec(f("id", "int"), name="ns.New", aliases=["ns.Old"]), old)
    problems = reader_problems(s(new), s(old))
    assert "NAME_MISMATCH" in problems[0]


def test_field_type_change_promoted_inside_record() -> None:
    assert can_read(rec(f("n", "long")), rec(f("n", "int")))
    problems = reader_problems(s(rec(f("n", "int"))), s(rec(f("n", "long"))))
    assert "TYPE_MISMATCH" in problems[0] and "/fields/0/type" in problems[0]


def test_enums() -> None:
    abc = {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}
    ab = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    ab_default = {"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A"}
    assert can_read(abc, ab)  # reader knows more symbols
    problems = reader_problems(s(ab), s(abc))
    assert "MISSING_ENUM_SYMBOLS" in problems[0] and "C" in problems[0]
    assert can_read(ab_default, abc)  # unknown symbols resolve to the reader's default


def test_unions() -> None:
    assert can_read(["null", "string"], "string")  # reader union takes the writer's type
    assert can_read(["null", "long"], "int")  # through a promotion
    assert not can_read("string", ["null", "string"])  # writer may have written null
    assert can_read(["null", "string", "int"], ["null", "string"])
    problems = reader_problems(s(["null", "string"]), s(["null", "string", "int"]))
    assert "MISSING_UNION_BRANCH" in problems[0]
    assert can_read("long", ["int", "long"])  # every writer branch readable


def test_arrays_and_maps() -> None:
    assert can_read({"type": "array", "items": "long"}, {"type": "array", "items": "int"})
    assert not can_read({"type": "array", "items": "int"}, {"type": "array", "items": "string"})
    assert can_read({"type": "map", "values": "double"}, {"type": "map", "values": "float"})
    problems = reader_problems(s({"type": "map", "values": "int"}), s({"type": "map", "values": "string"}))
    assert "/values" in problems[0]
    assert not can_read({"type": "array", "items": "int"}, {"type": "map", "values": "int"})


def test_fixed() -> None:
    f16 = {"type": "fixed", "name": "MD5", "size": 16}
    assert can_read(f16, f16)
    assert "FIXED_SIZE_MISMATCH" in reader_problems(s({"type": "fixed", "name": "MD5", "size": 8}), s(f16))[0]
    assert not can_read({"type": "fixed", "name": "Other", "size": 16}, f16)


def test_named_type_reused_by_reference() -> None:
    addr = rec(f("city", "string"), name="Address")
    writer = rec(f("home", addr), f("work", "Address"), name="Person")
    addr2 = rec(f("city", "string"), f("zip", "string"), name="Address")
    reader = rec(f("home", addr2), f("work", "Address"), name="Person")
    problems = reader_problems(s(reader), s(writer))
    assert problems and all("zip" in p for p in problems)


def test_recursive_types_terminate() -> None:
    node = rec(f("value", "int"), f("next", ["null", "Node"], default=None), name="Node")
    node2 = rec(f("value", "long"), f("next", ["null", "Node"], default=None), name="Node")
    assert can_read(node, node)
    assert can_read(node2, node)
    assert not can_read(node, node2)
    node3 = rec(f("value", "int"), f("next", ["null", "Node"], default=None), f("tag", "string"), name="Node")
    assert not can_read(node3, node)


def test_namespaces_resolve_names() -> None:
    writer = {
        "type": "record",
        "name": "A",
        "namespace": "x",
        "fields": [f("b", rec(f("i", "int"), name="B"))],
    }
    reader = {
        "type": "record",
        "name": "x.A",
        "fields": [f("b", rec(f("i", "long"), name="B", namespace="x"))],
    }
    assert can_read(reader, writer)


V1 = rec(f("id", "int"))
V2 = rec(f("id", "int"), f("name", "string", default=""))
V3_NO_DEFAULT = rec(f("id", "int"), f("name", "string", default=""), f("email", "string"))
V3_DROPS_NAME = rec(f("id", "int"))


@pytest.mark.parametrize(
    ("level", "new", "ok"),
    [
        ("BACKWARD", V2, True),
        ("BACKWARD", V3_NO_DEFAULT, False),
        ("FORWARD", V3_NO_DEFAULT, True),
        ("FULL", V3_NO_DEFAULT, False),
        ("NONE", V3_NO_DEFAULT, True),
        ("FORWARD", V3_DROPS_NAME, True),  # V2's name has a default, so old readers fill it in
        ("FULL", V3_DROPS_NAME, True),
    ],
)
def test_levels_against_latest(level: str, new: Any, ok: bool) -> None:
    assert (not check_level(level, s(new), [s(V1), s(V2)])) == ok


def test_transitive_levels_check_every_version() -> None:
    # v1 {id}, v2 {id, name with default}, v3 {id, name without default}: v3 reads v2 data, not v1 data
    v3 = rec(f("id", "int"), f("name", "string"))
    history = [s(V1), s(rec(f("id", "int"), f("name", "string")))]
    assert not check_level("BACKWARD", s(v3), history)
    assert check_level("BACKWARD_TRANSITIVE", s(v3), history)
    # forward transitive: old v1-style readers require 'x' which only the first version had
    first = s(rec(f("id", "int"), f("x", "int")))
    second = s(rec(f("id", "int"), f("x", "int", default=0)))
    third = s(rec(f("id", "int")))
    assert not check_level("FORWARD", third, [first, second])
    assert check_level("FORWARD_TRANSITIVE", third, [first, second])
    assert check_level("FULL_TRANSITIVE", third, [first, second])


def test_every_level_accepts_an_identical_schema() -> None:
    for level in LEVELS:
        assert not check_level(level, s(V2), [s(V1), s(V2)]) or level.endswith("TRANSITIVE")
