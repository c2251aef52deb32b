"""Protobuf compatibility as Confluent's registry defines it (its Protobuf ``SchemaDiff`` rules).

The writer's file (the *original*) and the reader's (the *update*) are compared message by
message, field by field **by tag number** (the wire format knows only tags). Confluent's
compatible changes: a message, enum, enum constant, field or oneof added or removed (except a
``required`` field), a field renamed, a message moved within the file (message indexes are
relative to the writer's schema). Incompatible: the package changed, a top-level message removed,
a field's kind changed (scalar, message, map), its scalar group changed (int32/int64/uint32/
uint64/bool are one group, sint32/sint64 another, string/bytes, fixed32/sfixed32,
fixed64/sfixed64, float, double), a message field pointing at another type, a required field
added or removed, several fields moved into one oneof, a oneof losing a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2

F = descriptor_pb2.FieldDescriptorProto

COMPATIBLE_CHANGES = frozenset(
    {
        "MESSAGE_ADDED",
        "MESSAGE_MOVED",
        "ENUM_ADDED",
        "ENUM_REMOVED",
        "ENUM_CONST_ADDED",
        "ENUM_CONST_CHANGED",
        "ENUM_CONST_REMOVED",
        "FIELD_ADDED",
        "FIELD_REMOVED",
        "FIELD_NAME_CHANGED",
        "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "ONEOF_ADDED",
        "ONEOF_REMOVED",
        "ONEOF_FIELD_ADDED",
    }
)

_SCALAR_GROUPS = {
    F.TYPE_INT32: "GENERAL_NUMBER",
    F.TYPE_INT64: "GENERAL_NUMBER",
    F.TYPE_UINT32: "GENERAL_NUMBER",
    F.TYPE_UINT64: "GENERAL_NUMBER",
    F.TYPE_BOOL: "GENERAL_NUMBER",
    F.TYPE_ENUM: "GENERAL_NUMBER",
    F.TYPE_SINT32: "SIGNED_NUMBER",
    F.TYPE_SINT64: "SIGNED_NUMBER",
    F.TYPE_STRING: "STRING_OR_BYTES",
    F.TYPE_BYTES: "STRING_OR_BYTES",
    F.TYPE_FIXED32: "FIXED32",
    F.TYPE_SFIXED32: "FIXED32",
    F.TYPE_FIXED64: "FIXED64",
    F.TYPE_SFIXED64: "FIXED64",
    F.TYPE_FLOAT: "FLOAT",
    F.TYPE_DOUBLE: "DOUBLE",
}


@dataclass
class Types:
    """Every message of one side by full name (``.pkg.Msg``), with its package, from all its files."""

    messages: dict[str, tuple[descriptor_pb2.DescriptorProto, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, files: list[descriptor_pb2.FileDescriptorProto]) -> Types:
        types = cls()
        for fdp in files:
            scope = f".{fdp.package}" if fdp.package else ""
            for message in fdp.message_type:
                types._add(message, scope, fdp.package)
        return types

    def _add(self, message: descriptor_pb2.DescriptorProto, scope: str, package: str) -> None:
        full = f"{scope}.{message.name}"
        self.messages[full] = (message, package)
        for nested in message.nested_type:
            self._add(nested, full, package)


@dataclass
class Context:
    original: Types
    update: Types
    differences: list[tuple[str, str]] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def add(self, kind: str) -> None:
        self.differences.append((kind, "#/" + "/".join(self.path)))

    def sub(self) -> Context:
        return Context(self.original, self.update, [], list(self.path), self.seen)

    def compatible(self) -> bool:
        return all(kind in COMPATIBLE_CHANGES for kind, _ in self.differences)


def reader_problems(reader: Any, writer: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader``: the incompatible differences."""
    ctx = Context(
        Types.of([*writer.dependencies, writer.fdp]),
        Types.of([*reader.dependencies, reader.fdp]),
    )
    if writer.fdp.package != reader.fdp.package:
        ctx.add("PACKAGE_CHANGED")
    _compare_types(
        ctx,
        list(writer.fdp.message_type),
        list(reader.fdp.message_type),
        list(writer.fdp.enum_type),
        list(reader.fdp.enum_type),
        f".{writer.fdp.package}" if writer.fdp.package else "",
        f".{reader.fdp.package}" if reader.fdp.package else "",
    )
    return [
        f"{{errorType:'{kind}', description:'{kind.replace('_', ' ').lower()}', path:'{path}'}}"
        for kind, path in ctx.differences
        if kind not in COMPATIBLE_CHANGES
    ]


def _compare_types(
    ctx: Context,
    o_messages: list[descriptor_pb2.DescriptorProto],
    u_messages: list[descriptor_pb2.DescriptorProto],
    o_enums: list[Any],
    u_enums: list[Any],
    o_scope: str,
    u_scope: str,
) -> None:
    o_by_name = {m.name: (i, m) for i, m in enumerate(o_messages) if not m.options.map_entry}
    u_by_name = {m.name: (i, m) for i, m in enumerate(u_messages) if not m.options.map_entry}
    for name in dict.fromkeys([*o_by_name, *u_by_name]):
        ctx.path.append(name)
        try:
            if name not in u_by_name:
                ctx.add("MESSAGE_REMOVED")
            elif name not in o_by_name:
                ctx.add("MESSAGE_ADDED")
            else:
                (o_index, o_msg), (u_index, u_msg) = o_by_name[name], u_by_name[name]
                compare_message(ctx, o_msg, u_msg, f"{o_scope}.{name}", f"{u_scope}.{name}")
                if o_index != u_index:
                    ctx.add("MESSAGE_MOVED")
        finally:
            ctx.path.pop()
    o_enum_names = {e.name for e in o_enums}
    u_enum_names = {e.name for e in u_enums}
    for name in sorted(o_enum_names | u_enum_names):
        ctx.path.append(name)
        if name not in u_enum_names:
            ctx.add("ENUM_REMOVED")
        elif name not in o_enum_names:
            ctx.add("ENUM_ADDED")
        ctx.path.pop()


def _real_oneof(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    return field.HasField("oneof_index") and not field.proto3_optional


def compare_message(
    ctx: Context,
    original: descriptor_pb2.DescriptorProto,
    update: descriptor_pb2.DescriptorProto,
    o_full: str,
    u_full: str,
) -> None:
    pair = (id(original), id(update))
    if pair in ctx.seen:
        return
    ctx.seen.add(pair)
    try:
        o_top = {f.number: f for f in original.field if not _real_oneof(f)}
        u_top = {f.number: f for f in update.field if not _real_oneof(f)}
        o_oneof_tags: dict[int, str] = {
            f.number: original.oneof_decl[f.oneof_index].name for f in original.field if _real_oneof(f)
        }
        u_oneofs: dict[str, list[descriptor_pb2.FieldDescriptorProto]] = {}
        for f in update.field:
            if _real_oneof(f):
                u_oneofs.setdefault(update.oneof_decl[f.oneof_index].name, []).append(f)
        o_oneofs: dict[str, list[descriptor_pb2.FieldDescriptorProto]] = {}
        for f in original.field:
            if _real_oneof(f):
                o_oneofs.setdefault(original.oneof_decl[f.oneof_index].name, []).append(f)
        for name, members in u_oneofs.items():
            ctx.path.append(name)
            moved = sum(1 for m in members if o_top.pop(m.number, None) is not None)
            existing = sum(1 for m in members if m.number in o_oneof_tags)
            if moved > 1:
                ctx.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF")
            elif moved == 1 and existing > 0:
                ctx.add("FIELD_MOVED_TO_EXISTING_ONEOF")
            ctx.path.pop()
        for name in dict.fromkeys([*o_oneofs, *u_oneofs]):
            ctx.path.append(name)
            if name not in u_oneofs:
                ctx.add("ONEOF_REMOVED")
            elif name not in o_oneofs:
                ctx.add("ONEOF_ADDED")
            else:
                o_tags = {f.number: f for f in o_oneofs[name]}
                u_tags = {f.number: f for f in u_oneofs[name]}
                for tag in sorted(set(o_tags) | set(u_tags)):
                    ctx.path.append(str(tag))
                    if tag not in u_tags:
                        ctx.add("ONEOF_FIELD_REMOVED")
                    elif tag not in o_tags:
                        ctx.add("ONEOF_FIELD_ADDED")
                    else:
                        compare_field(ctx, o_tags[tag], u_tags[tag])
                    ctx.path.pop()
            ctx.path.pop()
        for tag in sorted(set(o_top) | set(u_top)):
            ctx.path.append(str(tag))
            o_field, u_field = o_top.get(tag), u_top.get(tag)
            if u_field is None:
                assert o_field is not None
                ctx.add("REQUIRED_FIELD_REMOVED" if o_field.label == F.LABEL_REQUIRED else "FIELD_REMOVED")
            elif o_field is None:
                ctx.add("REQUIRED_FIELD_ADDED" if u_field.label == F.LABEL_REQUIRED else "FIELD_ADDED")
            else:
                compare_field(ctx, o_field, u_field)
            ctx.path.pop()
        # fields that moved into or out of a oneof (or whose oneof was renamed): compare contents
        o_all = {
            f.number: (f, original.oneof_decl[f.oneof_index].name if _real_oneof(f) else None)
            for f in original.field
        }
        u_all = {
            f.number: (f, update.oneof_decl[f.oneof_index].name if _real_oneof(f) else None)
            for f in update.field
        }
        for tag in sorted(set(o_all) & set(u_all)):
            (o_field, o_group), (u_field, u_group) = o_all[tag], u_all[tag]
            if o_group == u_group:
                continue
            ctx.path.append(str(tag))
            compare_field(ctx, o_field, u_field)
            ctx.path.pop()
        _compare_types(
            ctx,
            list(original.nested_type),
            list(update.nested_type),
            list(original.enum_type),
            list(update.enum_type),
            o_full,
            u_full,
        )
    finally:
        ctx.seen.discard(pair)


def compare_field(ctx: Context, original: Any, update: Any) -> None:
    if original.name != update.name:
        ctx.add("FIELD_NAME_CHANGED")
    _compare_types_of(ctx, original, update)


def _map_entry(ctx_types: Types, field: Any) -> descriptor_pb2.DescriptorProto | None:
    if field.type != F.TYPE_MESSAGE or field.label != F.LABEL_REPEATED:
        return None
    found = ctx_types.messages.get(field.type_name)
    return found[0] if found and found[0].options.map_entry else None


def _kind(types: Types, field: Any) -> str:
    if _map_entry(types, field) is not None:
        return "MAP"
    if field.type in (F.TYPE_MESSAGE, F.TYPE_GROUP):
        return "MESSAGE"
    return "SCALAR"


def _compare_types_of(ctx: Context, original: Any, update: Any) -> None:
    o_kind, u_kind = _kind(ctx.original, original), _kind(ctx.update, update)
    if o_kind != u_kind:
        ctx.add("FIELD_KIND_CHANGED")
        return
    if o_kind == "SCALAR":
        if _SCALAR_GROUPS.get(original.type) != _SCALAR_GROUPS.get(update.type):
            ctx.add("FIELD_SCALAR_KIND_CHANGED")
    elif o_kind == "MAP":
        o_entry, u_entry = _map_entry(ctx.original, original), _map_entry(ctx.update, update)
        assert o_entry is not None and u_entry is not None
        _compare_types_of(ctx, o_entry.field[0], u_entry.field[0])
        _compare_types_of(ctx, o_entry.field[1], u_entry.field[1])
    else:
        _compare_message_types(ctx, original.type_name, update.type_name)


def _local(full: str, package: str) -> str:
    prefix = f".{package}." if package else "."
    return full[len(prefix) :] if full.startswith(prefix) else full.lstrip(".")


def _compare_message_types(ctx: Context, o_name: str, u_name: str) -> None:
    o_found, u_found = ctx.original.messages.get(o_name), ctx.update.messages.get(u_name)
    if o_found is None or u_found is None:
        if o_name != u_name:
            ctx.add("FIELD_NAMED_TYPE_CHANGED")
        return
    (o_msg, o_pkg), (u_msg, u_pkg) = o_found, u_found
    if _local(o_name, o_pkg) != _local(u_name, u_pkg):
        ctx.add("FIELD_NAMED_TYPE_CHANGED")
        return
    sub = ctx.sub()
    compare_message(sub, o_msg, u_msg, o_name, u_name)
    ctx.differences += sub.differences
    if not sub.compatible():
        ctx.add("FIELD_NAMED_TYPE_CHANGED")
