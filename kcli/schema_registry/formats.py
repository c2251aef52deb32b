"""One entry point for the registry's three schema types: AVRO, JSON and PROTOBUF.

Confluent's registry treats every type the same way: a schema text (plus ``references`` to other
subjects' versions, by name) is parsed into a type-specific object that has a canonical text
(what is stored and compared for identity) and answers "can a reader of this schema read data
written with that one?". :class:`ParsedSchema` is that object here; each type lives in its own
module (:mod:`avro_schema`, :mod:`json_schema`, :mod:`protobuf_schema`) and this module only
dispatches and applies the compatibility levels, which are the same for every type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kcli.schema_registry import errors
from kcli.schema_registry.errors import RegistryError

#: In the order Confluent's ``GET /schemas/types`` lists them.
SCHEMA_TYPES = ("JSON", "PROTOBUF", "AVRO")


@dataclass(frozen=True)
class Reference:
    """``{"name": ..., "subject": ..., "version": ...}``: the schema imports ``name``, which is
    ``subject``'s version ``version`` (the name is the import path or ``$ref`` URL)."""

    name: str
    subject: str
    version: int

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass
class Resolved:
    """A referenced schema, parsed, with the name its importer uses for it."""

    name: str
    schema: ParsedSchema


class ParsedSchema(Protocol):
    schema_type: str
    canonical: str

    def reader_problems(self, writer: ParsedSchema) -> list[str]:
        """Why data written with ``writer`` cannot be read with this schema (empty: it can)."""
        ...


@dataclass
class AvroParsed:
    """An Avro schema (see :mod:`avro_schema` and :mod:`compatibility`)."""

    schema: Any
    schema_type: str = "AVRO"
    references: list[Resolved] = field(default_factory=list)

    @property
    def canonical(self) -> str:
        return self.schema.canonical

    def reader_problems(self, writer: ParsedSchema) -> list[str]:
        from kcli.schema_registry.compatibility import reader_problems

        if not isinstance(writer, AvroParsed):
            return [f"the schema type changed from {writer.schema_type} to AVRO"]
        return reader_problems(self.schema, writer.schema)


def parse_references(raw: Any) -> list[Reference]:
    """The request's ``references`` array, checked (42201 naming what is wrong)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RegistryError(errors.INVALID_SCHEMA, 'Invalid schema: "references" must be an array')
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise RegistryError(errors.INVALID_SCHEMA, f"Invalid schema: reference #{i + 1} is not an object")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not name or not isinstance(subject, str) or not subject:
            raise RegistryError(
                errors.INVALID_SCHEMA,
                f'Invalid schema: reference #{i + 1} needs a "name" and a "subject"',
            )
        if isinstance(version, bool) or not isinstance(version, int):
            raise RegistryError(
                errors.INVALID_SCHEMA, f'Invalid schema: reference "{name}" needs a numeric "version"'
            )
        out.append(Reference(name, subject, version))
    return out


def parse(
    schema_type: str | None,
    text: Any,
    references: Sequence[Resolved] = (),
) -> ParsedSchema:
    """Parse ``text`` as ``schema_type`` (AVRO when absent); 42201 with a clear message if invalid."""
    kind = (schema_type or "AVRO").upper()
    if kind not in SCHEMA_TYPES:
        raise RegistryError(
            errors.INVALID_SCHEMA,
            f"Invalid schema type {schema_type}: use one of {', '.join(sorted(SCHEMA_TYPES))}",
        )
    if not isinstance(text, str):
        raise RegistryError(errors.INVALID_SCHEMA, 'Invalid schema: the request needs a "schema" string')
    for ref in references:
        if ref.schema.schema_type != kind:
            raise RegistryError(
                errors.INVALID_SCHEMA,
                f'Invalid schema: reference "{ref.name}" is a {ref.schema.schema_type} schema, not {kind}',
            )
    if kind == "AVRO":
        from kcli.schema_registry import avro_schema

        return AvroParsed(
            avro_schema.parse(text, [r.schema.schema for r in references]),  # type: ignore[attr-defined]
            references=list(references),
        )
    if kind == "JSON":
        from kcli.schema_registry.json_schema import parse_json_schema

        return parse_json_schema(text, references)
    from kcli.schema_registry.protobuf_schema import parse_protobuf

    return parse_protobuf(text, references)


def check_level(level: str, new: ParsedSchema, previous: Sequence[ParsedSchema]) -> list[str]:
    """Problems of registering ``new`` under ``level``; ``previous`` is oldest first.

    BACKWARD: the new schema reads data written with the last one; FORWARD: the last one reads
    data written with the new one; FULL: both; ``_TRANSITIVE``: against every earlier version.
    """
    level = level.upper()
    if level == "NONE" or not previous:
        return []
    against = list(previous) if level.endswith("_TRANSITIVE") else [previous[-1]]
    base = level.removesuffix("_TRANSITIVE")
    problems: list[str] = []
    for old in reversed(against):
        if base in ("BACKWARD", "FULL"):
            problems += [f"{p} (new schema reading old data)" for p in new.reader_problems(old)]
        if base in ("FORWARD", "FULL"):
            problems += [f"{p} (old schema reading new data)" for p in old.reader_problems(new)]
    return problems
