"""Protobuf in the registry (``schemaType: "PROTOBUF"``): compiling, references, canonical text.

A schema arrives as ``.proto`` text (the console producer, curl, Confluent's Java serializer) or
as a base64 ``FileDescriptorProto`` (Confluent's Python serializer). Text is compiled by protoc
itself, in-process from the ``grpcio-tools`` package, with each reference written under its
``name`` so ``import "other.proto";`` finds it; a descriptor is checked by loading it into a
protobuf ``DescriptorPool`` next to its references. Either way the result is a
``FileDescriptorProto`` whose ``.proto`` text (:mod:`protobuf_text`) is the canonical form.

``serialized()`` gives the base64 descriptor that ``GET ...?format=serialized`` returns, which is
what Confluent's Python deserializer asks for.
"""

from __future__ import annotations

import base64
import binascii
import functools
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from kcli.schema_registry import errors
from kcli.schema_registry.errors import RegistryError
from kcli.schema_registry.protobuf_text import to_text

#: Name of the schema's own file when compiling (Confluent's Python client renames it anyway).
MAIN_FILE = "default.proto"
_PROTOC_LOCK = threading.Lock()  # protoc's in-process compiler is not documented as thread-safe


def invalid(message: str) -> RegistryError:
    return RegistryError(errors.INVALID_SCHEMA, f"Invalid schema: {message}")


@dataclass
class ProtobufParsed:
    """A compiled schema: its descriptor, the descriptors of what it imports, its canonical text."""

    fdp: descriptor_pb2.FileDescriptorProto
    canonical: str
    references: list[Any] = field(default_factory=list)  # formats.Resolved of PROTOBUF schemas
    dependencies: list[descriptor_pb2.FileDescriptorProto] = field(default_factory=list)
    schema_type: str = "PROTOBUF"

    def serialized(self) -> str:
        """The base64 ``FileDescriptorProto`` (``format=serialized``)."""
        return base64.standard_b64encode(self.fdp.SerializeToString()).decode("ascii")

    def reader_problems(self, writer: Any) -> list[str]:
        from kcli.schema_registry.protobuf_compatibility import reader_problems

        if not isinstance(writer, ProtobufParsed):
            return [f"the schema type changed from {writer.schema_type} to PROTOBUF"]
        return reader_problems(self, writer)

    def message_names(self) -> list[str]:
        """Full names of the top-level messages, in declaration order (index 0 is the default)."""
        prefix = f"{self.fdp.package}." if self.fdp.package else ""
        return [prefix + m.name for m in self.fdp.message_type]

    def pool(self) -> Any:
        """A DescriptorPool holding this file and everything it imports."""
        from google.protobuf import descriptor_pool

        pool = descriptor_pool.DescriptorPool()
        added: set[str] = set()
        for dep in [*self.dependencies, self.fdp]:
            if dep.name not in added:
                pool.Add(dep)
                added.add(dep.name)
        return pool


def _all_references(references: Sequence[Any]) -> Iterator[Any]:
    for ref in references:
        yield from _all_references(getattr(ref.schema, "references", []))
        yield ref


def _well_known(name: str) -> descriptor_pb2.FileDescriptorProto | None:
    """The descriptor of a ``google/protobuf/*.proto`` file shipped with protobuf, by import name."""
    import importlib

    if not name.startswith("google/protobuf/"):
        return None
    module = "google.protobuf." + name.removeprefix("google/protobuf/").removesuffix(".proto") + "_pb2"
    try:
        file = importlib.import_module(module).DESCRIPTOR
    except ImportError:
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    return proto


def _dependency_protos(references: Sequence[Any]) -> list[descriptor_pb2.FileDescriptorProto]:
    """Each referenced file (renamed to its reference name), dependencies before dependants."""
    out: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()
    for ref in _all_references(references):
        if ref.name in seen:
            continue
        seen.add(ref.name)
        proto = descriptor_pb2.FileDescriptorProto()
        proto.CopyFrom(ref.schema.fdp)
        proto.name = ref.name
        out.append(proto)
    return out


def _with_well_known(
    fdps: list[descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    """Add the well-known files the given ones import (first), so a pool can hold them all."""
    have = {f.name for f in fdps}
    extra: list[descriptor_pb2.FileDescriptorProto] = []

    def need(name: str) -> None:
        if name in have:
            return
        known = _well_known(name)
        if known is None:
            return
        have.add(name)
        for dep in known.dependency:
            need(dep)
        extra.append(known)

    for fdp in fdps:
        for dep in fdp.dependency:
            need(dep)
    return extra + fdps


def parse_protobuf(text: str, references: Sequence[Any] = ()) -> ProtobufParsed:
    """Compile ``.proto`` text, or load a base64 descriptor; 42201 naming the line when invalid."""
    deps = _dependency_protos(references)
    stripped = text.strip()
    fdp = _from_descriptor(stripped, deps) if _looks_base64(stripped) else None
    if fdp is None:
        fdp = _compile(text, references)
    fdp.name = MAIN_FILE
    fdp.ClearField("source_code_info")
    canonical = to_text(fdp)
    # Compile the canonical text once more: the stored descriptor must be the one the text gives.
    final = _compile(canonical, references)
    final.name = MAIN_FILE
    return ProtobufParsed(final, canonical, list(references), _with_well_known(deps))


def _looks_base64(text: str) -> bool:
    return bool(text) and "{" not in text and ";" not in text and " " not in text


def _from_descriptor(
    text: str, deps: list[descriptor_pb2.FileDescriptorProto]
) -> descriptor_pb2.FileDescriptorProto | None:
    from google.protobuf import descriptor_pool
    from google.protobuf.message import DecodeError

    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    fdp = descriptor_pb2.FileDescriptorProto()
    try:
        fdp.ParseFromString(data)
    except DecodeError:
        return None
    if not fdp.message_type and not fdp.enum_type:
        return None
    pool = descriptor_pool.DescriptorPool()
    try:
        for dep in _with_well_known([*deps, fdp]):
            pool.Add(dep)
        pool.FindFileByName(fdp.name)
    except Exception as exc:  # protobuf raises TypeError or its own errors for a broken descriptor
        raise invalid(f"the Protobuf descriptor does not load: {exc}") from None
    return fdp


def _compile(text: str, references: Sequence[Any]) -> descriptor_pb2.FileDescriptorProto:
    files = tuple((r.name, r.schema.canonical) for r in _all_references(references))
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.CopyFrom(_compile_cached(text, files))
    return fdp


@functools.lru_cache(maxsize=256)
def _compile_cached(text: str, files: tuple[tuple[str, str], ...]) -> descriptor_pb2.FileDescriptorProto:
    """Run protoc on ``text`` with ``files`` (import name -> text) beside it (cached by content)."""
    import grpc_tools
    from grpc_tools import _protoc_compiler

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory(prefix="kcli-proto-") as tmp:
        root = Path(tmp)
        for name, body in files:
            target = (root / name).resolve()
            if root.resolve() not in target.parents:
                raise invalid(f"reference name '{name}' is not a relative import path")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body)
        (root / MAIN_FILE).write_text(text)
        out = root / "descriptor.pb"
        includes = [f"-I{root}".encode(), f"-I{well_known}".encode()]
        with _PROTOC_LOCK:
            try:
                _protoc_compiler.get_protos(
                    MAIN_FILE.encode(), [str(root).encode(), str(well_known).encode()]
                )
            except _protoc_compiler.ProtocErrors as exc:
                first = exc.errors()[0]
                where = first.filename.decode(errors="replace")
                where = "the schema" if where == MAIN_FILE else where
                raise invalid(
                    f"{where} line {first.line + 1}, column {first.column + 1}: "
                    f"{first.message.decode(errors='replace')}"
                ) from None
            code = _protoc_compiler.run_main(
                [b"protoc", *includes, f"--descriptor_set_out={out}".encode(), MAIN_FILE.encode()]
            )
        if code != 0 or not out.exists():
            raise invalid("protoc could not compile the schema")
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
    fdp = fds.file[-1]
    fdp.ClearField("source_code_info")
    return fdp
