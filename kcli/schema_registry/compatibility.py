"""Schema compatibility by Avro's schema resolution rules (the specification's "Schema Resolution").

``reader_problems(reader, writer)`` answers: can data written with ``writer`` be read with
``reader``? It walks both schemas together, the way a decoder resolves them:

- primitives match themselves; promotions int->long/float/double, long->float/double,
  float->double, string<->bytes;
- records match by full name (or a reader alias); each reader field takes the writer field of the
  same name (or one of the reader field's aliases), else it must have a default; writer fields the
  reader lacks are skipped;
- enums match by name; a writer symbol unknown to the reader needs the reader's enum default;
- arrays/maps resolve their items/values; fixed types need the same name and size;
- a writer union is readable when each of its branches is; a reader union when one branch reads the
  writer's type;
- recursive types: a pair of named types already being compared is assumed compatible (the
  co-inductive reading that makes the walk terminate).

The levels (BACKWARD, FORWARD, FULL and their _TRANSITIVE forms, NONE) combine that check in one
or both directions against the latest or all earlier versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kcli.schema_registry.avro_schema import PRIMITIVES, AvroSchema

LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)

_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


class _Walk:
    def __init__(self, reader: AvroSchema, writer: AvroSchema):
        self.reader = reader
        self.writer = writer
        self.in_progress: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    def kind(self, schema: AvroSchema, node: Any) -> tuple[str, Any]:
        node = schema.resolve(node)
        if isinstance(node, list):
            return "union", node
        if isinstance(node, str):
            return node, node
        return node["type"], node

    def fail(self, path: str, error_type: str, text: str) -> None:
        self.problems.append(f"{error_type} at {path or '/'}: {text}")

    def matches(self, r: Any, w: Any) -> bool:
        """Can the reader branch ``r`` read the writer type ``w``, silently (for union selection)?"""
        saved = self.problems
        self.problems = []
        try:
            self.check(r, w, "")
            return not self.problems
        finally:
            self.problems = saved

    def check(self, r_node: Any, w_node: Any, path: str) -> None:
        r_kind, r = self.kind(self.reader, r_node)
        w_kind, w = self.kind(self.writer, w_node)
        if w_kind == "union":
            for i, branch in enumerate(w):
                self.check(r_node, branch, f"{path}/{i}" if r_kind != "union" else path)
            return
        if r_kind == "union":
            if not any(self.matches(branch, w_node) for branch in r):
                self.fail(
                    path,
                    "MISSING_UNION_BRANCH",
                    f"the reader's union has no branch that can read the writer's {_name(w)}",
                )
            return
        if r_kind in PRIMITIVES and w_kind in PRIMITIVES:
            if r_kind != w_kind and r_kind not in _PROMOTIONS.get(w_kind, ()):
                self.fail(path, "TYPE_MISMATCH", f"the reader expects {r_kind}, the writer wrote {w_kind}")
            return
        if r_kind != w_kind:
            self.fail(path, "TYPE_MISMATCH", f"the reader expects {_name(r)}, the writer wrote {_name(w)}")
            return
        if r_kind == "array":
            self.check(r["items"], w["items"], f"{path}/items")
            return
        if r_kind == "map":
            self.check(r["values"], w["values"], f"{path}/values")
            return
        # named types
        if not _same_name(r, w):
            self.fail(
                path,
                "NAME_MISMATCH",
                f"the reader's {r_kind} {r['name']} does not match the writer's {w['name']} "
                "(add the writer's name to the reader's \"aliases\" to rename a type)",
            )
            return
        pair = (r["name"], w["name"])
        if pair in self.in_progress:
            return
        self.in_progress.add(pair)
        try:
            if r_kind == "fixed":
                if r["size"] != w["size"]:
                    self.fail(
                        f"{path}/size",
                        "FIXED_SIZE_MISMATCH",
                        f"fixed {r['name']} has size {r['size']} in the reader and {w['size']} in the writer",
                    )
            elif r_kind == "enum":
                missing = [s for s in w["symbols"] if s not in r["symbols"]]
                if missing and "default" not in r:
                    self.fail(
                        f"{path}/symbols",
                        "MISSING_ENUM_SYMBOLS",
                        f"enum {r['name']} lacks the writer's symbols {missing} and has no default symbol",
                    )
            else:
                self.check_record(r, w, path)
        finally:
            self.in_progress.discard(pair)

    def check_record(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        by_name = {f["name"]: f for f in w["fields"]}
        for i, rf in enumerate(r["fields"]):
            wf = by_name.get(rf["name"])
            if wf is None:
                wf = next((by_name[a] for a in rf["aliases"] if a in by_name), None)
            field_path = f"{path}/fields/{i}"
            if wf is None:
                if "default" not in rf:
                    self.fail(
                        field_path,
                        "READER_FIELD_MISSING_DEFAULT_VALUE",
                        f"the reader's field '{rf['name']}' of {r['name']} is missing in the writer's schema "
                        'and has no default value; give it a "default"',
                    )
                continue
            self.check(rf["type"], wf["type"], f"{field_path}/type")


def _name(node: Any) -> str:
    return node if isinstance(node, str) else node.get("name", node["type"])


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _same_name(r: dict[str, Any], w: dict[str, Any]) -> bool:
    """Full names equal, or the writer's name is one of the reader's aliases."""
    if r["name"] == w["name"]:
        return True
    return w["name"] in r["aliases"] or _short(w["name"]) in {_short(a) for a in r["aliases"]}


def reader_problems(reader: AvroSchema, writer: AvroSchema) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty: it can)."""
    walk = _Walk(reader, writer)
    walk.check(reader.tree, writer.tree, "")
    return walk.problems


def check_level(level: str, new: AvroSchema, previous: Sequence[AvroSchema]) -> list[str]:
    """Problems of registering ``new`` under ``level``; ``previous`` is oldest first."""
    level = level.upper()
    if level == "NONE" or not previous:
        return []
    against = list(previous) if level.endswith("_TRANSITIVE") else [previous[-1]]
    base = level.removesuffix("_TRANSITIVE")
    problems: list[str] = []
    for old in reversed(against):
        if base in ("BACKWARD", "FULL"):
            problems += [f"{p} (new schema reading old data)" for p in reader_problems(new, old)]
        if base in ("FORWARD", "FULL"):
            problems += [f"{p} (old schema reading new data)" for p in reader_problems(old, new)]
    return problems
