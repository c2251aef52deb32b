"""A compiled ``.proto`` file (a ``FileDescriptorProto``) written back as ``.proto`` text.

Confluent's registry stores a Protobuf schema in its own canonical text, whatever form it was
registered in: ``.proto`` text, or the base64 ``FileDescriptorProto`` that Confluent's Python
serializer sends. kcli does the same: every schema is compiled by protoc (``grpcio-tools``) and then
printed here, so the same schema registered both ways is one schema with one id, and what
``schema describe`` or the console consumer shows is readable ``.proto`` text. This is a printer
of protoc's output, not a parser: protobuf's own classes describe the file.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2

F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    F.TYPE_DOUBLE: "double",
    F.TYPE_FLOAT: "float",
    F.TYPE_INT64: "int64",
    F.TYPE_UINT64: "uint64",
    F.TYPE_INT32: "int32",
    F.TYPE_FIXED64: "fixed64",
    F.TYPE_FIXED32: "fixed32",
    F.TYPE_BOOL: "bool",
    F.TYPE_STRING: "string",
    F.TYPE_BYTES: "bytes",
    F.TYPE_UINT32: "uint32",
    F.TYPE_SFIXED32: "sfixed32",
    F.TYPE_SFIXED64: "sfixed64",
    F.TYPE_SINT32: "sint32",
    F.TYPE_SINT64: "sint64",
}
_MAX_FIELD = 536870911


def scalar_name(field_type: int) -> str | None:
    return _SCALARS.get(field_type)


def to_text(fdp: descriptor_pb2.FileDescriptorProto) -> str:
    """The ``.proto`` text of ``fdp`` (declaration order kept: message indexes depend on it)."""
    printer = _Printer(fdp)
    return printer.render()


class _Printer:
    def __init__(self, fdp: descriptor_pb2.FileDescriptorProto):
        self.fdp = fdp
        self.lines: list[str] = []
        self.package = fdp.package

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text if text else "")

    def render(self) -> str:
        fdp = self.fdp
        syntax = fdp.syntax or "proto2"
        if syntax == "editions":
            self.emit(0, f'edition = "{descriptor_pb2.Edition.Name(fdp.edition).removeprefix("EDITION_")}";')
        else:
            self.emit(0, f'syntax = "{syntax}";')
        if fdp.package:
            self.emit(0, f"package {fdp.package};")
        public, weak = set(fdp.public_dependency), set(fdp.weak_dependency)
        if fdp.dependency:
            self.emit(0, "")
        for i, dep in enumerate(fdp.dependency):
            modifier = "public " if i in public else "weak " if i in weak else ""
            self.emit(0, f'import {modifier}"{dep}";')
        options = _options(fdp.options)
        if options:
            self.emit(0, "")
            for name, value in options:
                self.emit(0, f"option {name} = {value};")
        for message in fdp.message_type:
            self.emit(0, "")
            self.message(message, 0, syntax)
        for enum in fdp.enum_type:
            self.emit(0, "")
            self.enum(enum, 0)
        for service in fdp.service:
            self.emit(0, "")
            self.service(service)
        for extension in _group_extensions(fdp.extension):
            self.emit(0, "")
            self.extend(extension, 0, syntax)
        return "\n".join(self.lines) + "\n"

    def type_name(self, field: descriptor_pb2.FieldDescriptorProto) -> str:
        scalar = _SCALARS.get(field.type)
        if scalar:
            return scalar
        return self._relative(field.type_name)

    def field(
        self,
        field: descriptor_pb2.FieldDescriptorProto,
        depth: int,
        syntax: str,
        maps: dict[str, descriptor_pb2.DescriptorProto],
        in_oneof: bool = False,
    ) -> None:
        entry = maps.get(field.type_name) if field.type == F.TYPE_MESSAGE else None
        if entry is not None:
            key, value = entry.field[0], entry.field[1]
            kind = f"map<{self.type_name(key)}, {self.type_name(value)}>"
            label = ""
        else:
            kind = self.type_name(field)
            label = ""
            if field.label == F.LABEL_REPEATED:
                label = "repeated "
            elif not in_oneof and field.label == F.LABEL_REQUIRED:
                label = "required "
            elif not in_oneof and (
                field.proto3_optional or (syntax == "proto2" and field.label == F.LABEL_OPTIONAL)
            ):
                label = "optional "
        extras = []
        if field.HasField("default_value"):
            extras.append(f"default = {_default(field)}")
        if field.HasField("json_name") and field.json_name != _camel(field.name):
            extras.append(f'json_name = "{field.json_name}"')
        extras += [f"{name} = {value}" for name, value in _options(field.options)]
        suffix = f" [{', '.join(extras)}]" if extras else ""
        self.emit(depth, f"{label}{kind} {field.name} = {field.number}{suffix};")

    def message(
        self, message: descriptor_pb2.DescriptorProto, depth: int, syntax: str, scope: str = ""
    ) -> None:
        full = f"{scope or ('.' + self.package if self.package else '')}.{message.name}"
        maps = {f"{full}.{n.name}": n for n in message.nested_type if n.options.map_entry}
        self.emit(depth, f"message {message.name} {{")
        for name, value in _options(message.options):
            self.emit(depth + 1, f"option {name} = {value};")
        oneofs_done: set[int] = set()
        for field in message.field:
            if field.HasField("oneof_index") and not field.proto3_optional:
                index = field.oneof_index
                if index in oneofs_done:
                    continue
                oneofs_done.add(index)
                self.emit(depth + 1, f"oneof {message.oneof_decl[index].name} {{")
                for member in message.field:
                    if (
                        member.HasField("oneof_index")
                        and member.oneof_index == index
                        and not member.proto3_optional
                    ):
                        self.field(member, depth + 2, syntax, maps, in_oneof=True)
                self.emit(depth + 1, "}")
            else:
                self.field(field, depth + 1, syntax, maps)
        for nested in message.nested_type:
            if not nested.options.map_entry:
                self.message(nested, depth + 1, syntax, full)
        for enum in message.enum_type:
            self.enum(enum, depth + 1)
        for extension in _group_extensions(message.extension):
            self.extend(extension, depth + 1, syntax)
        for r in message.extension_range:
            self.emit(depth + 1, f"extensions {_range(r.start, r.end - 1)};")
        if message.reserved_range:
            ranges = ", ".join(_range(r.start, r.end - 1) for r in message.reserved_range)
            self.emit(depth + 1, f"reserved {ranges};")
        if message.reserved_name:
            self.emit(depth + 1, "reserved " + ", ".join(f'"{n}"' for n in message.reserved_name) + ";")
        self.emit(depth, "}")

    def enum(self, enum: descriptor_pb2.EnumDescriptorProto, depth: int) -> None:
        self.emit(depth, f"enum {enum.name} {{")
        for name, value in _options(enum.options):
            self.emit(depth + 1, f"option {name} = {value};")
        for value in enum.value:
            extras = [f"{n} = {v}" for n, v in _options(value.options)]
            suffix = f" [{', '.join(extras)}]" if extras else ""
            self.emit(depth + 1, f"{value.name} = {value.number}{suffix};")
        if enum.reserved_range:
            self.emit(
                depth + 1, "reserved " + ", ".join(_range(r.start, r.end) for r in enum.reserved_range) + ";"
            )
        if enum.reserved_name:
            self.emit(depth + 1, "reserved " + ", ".join(f'"{n}"' for n in enum.reserved_name) + ";")
        self.emit(depth, "}")

    def service(self, service: descriptor_pb2.ServiceDescriptorProto) -> None:
        self.emit(0, f"service {service.name} {{")
        for method in service.method:
            inp = ("stream " if method.client_streaming else "") + self._relative(method.input_type)
            out = ("stream " if method.server_streaming else "") + self._relative(method.output_type)
            self.emit(1, f"rpc {method.name}({inp}) returns ({out});")
        self.emit(0, "}")

    def extend(
        self, group: tuple[str, list[descriptor_pb2.FieldDescriptorProto]], depth: int, syntax: str
    ) -> None:
        extendee, fields = group
        self.emit(depth, f"extend {self._relative(extendee)} {{")
        for field in fields:
            self.field(field, depth + 1, syntax, {})
        self.emit(depth, "}")

    def _relative(self, name: str) -> str:
        """A type name as written in the file: without this file's package, without the leading dot."""
        prefix = f".{self.package}." if self.package else "."
        return name[len(prefix) :] if name.startswith(prefix) else name.lstrip(".")


def _group_extensions(
    extensions: Any,
) -> list[tuple[str, list[descriptor_pb2.FieldDescriptorProto]]]:
    groups: dict[str, list[descriptor_pb2.FieldDescriptorProto]] = {}
    for ext in extensions:
        groups.setdefault(ext.extendee, []).append(ext)
    return list(groups.items())


def _range(start: int, end: int) -> str:
    if start == end:
        return str(start)
    return f"{start} to {'max' if end >= _MAX_FIELD else end}"


def _camel(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _default(field: descriptor_pb2.FieldDescriptorProto) -> str:
    value = field.default_value
    if field.type in (F.TYPE_STRING, F.TYPE_BYTES):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _options(options: Any) -> list[tuple[str, str]]:
    """The options set on a descriptor, as ``name = value`` pairs (scalar options only)."""
    out = []
    for field, value in options.ListFields():
        name = f"({field.full_name})" if field.is_extension else field.name
        if name == "map_entry" or field.message_type is not None or field.label == field.LABEL_REPEATED:
            continue
        if field.enum_type is not None:
            text = field.enum_type.values_by_number[value].name
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(value, bytes):
            text = '"' + value.decode("latin-1") + '"'
        else:
            text = str(value)
        out.append((name, text))
    return out
