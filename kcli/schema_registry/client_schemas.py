"""Client-side parsing of registered schemas, with their references fetched from the registry.

A producer or consumer that meets a schema with ``references`` needs the referenced schemas too
(``import "common.proto";``, ``{"$ref": "address.json"}``, an Avro named type defined elsewhere):
they are fetched by subject and version, parsed first, and handed to the same parsers the registry
uses (:mod:`kcli.schema_registry.formats`), so a tool accepts exactly what the registry accepts.
"""

from __future__ import annotations

from typing import Any

from kcli.schema_registry import formats
from kcli.schema_registry.client import RegisteredSchema, SchemaRegistryClient
from kcli.schema_registry.formats import ParsedSchema, Resolved


def resolve_references(
    client: SchemaRegistryClient, references: list[dict[str, Any]] | None, depth: int = 0
) -> list[Resolved]:
    """The referenced schemas, fetched and parsed (theirs first)."""
    out = []
    for ref in formats.parse_references(references or []):
        if depth > 32:
            raise ValueError("schema references nest too deeply (a cycle?)")
        found = client.version(ref.subject, ref.version)
        out.append(Resolved(ref.name, parse_registered(client, found, depth + 1)))
    return out


def parse_registered(client: SchemaRegistryClient, found: RegisteredSchema, depth: int = 0) -> ParsedSchema:
    """A registered schema, parsed with its references."""
    return formats.parse(found.schema_type, found.schema, resolve_references(client, found.references, depth))


def parse_text(
    client: SchemaRegistryClient, schema_type: str, text: str, references: list[dict[str, Any]] | None = None
) -> ParsedSchema:
    """Schema text a user gave (``--property value.schema=...``), parsed with its references."""
    return formats.parse(schema_type, text, resolve_references(client, references))
