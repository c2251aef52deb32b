"""JSON Schema in the registry (``schemaType: "JSON"``): parsing, references and validation.

The `jsonschema` library checks a schema against its draft's meta-schema (the draft named by
``$schema``, draft 7 when absent, as Confluent's registry defaults to) and validates values; its
companion `referencing` resolves ``$ref`` both inside the document and to the schemas named by
the registry's ``references`` (a reference's ``name`` is the URL the ``$ref`` uses). Compatibility
is :mod:`kcli.schema_registry.json_compatibility`.

The canonical text is the compact JSON of the schema with its keys in the order given, which is
what Confluent's registry stores and compares to decide that two registrations are one schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from kcli.schema_registry import errors
from kcli.schema_registry.errors import RegistryError


def invalid(message: str) -> RegistryError:
    return RegistryError(errors.INVALID_SCHEMA, f"Invalid schema: {message}")


@dataclass
class JsonSchemaParsed:
    """A valid JSON Schema with what it refers to, ready to validate values and to be compared."""

    raw: Any
    canonical: str
    references: list[Any] = field(default_factory=list)  # formats.Resolved of JSON schemas
    registry: Any = None  # referencing.Registry holding the referenced documents
    schema_type: str = "JSON"

    def validator(self) -> Any:
        """A jsonschema validator of this schema's draft, resolving ``$ref`` through the references."""
        from jsonschema.validators import validator_for

        cls = validator_for(self.raw, default=_default_validator())
        return cls(self.raw, registry=self.registry)

    def errors(self, value: Any) -> list[str]:
        """Each way ``value`` breaks the schema, naming the field (``field 'address.zip': ...``)."""
        out = []
        for error in sorted(self.validator().iter_errors(value), key=lambda e: list(e.absolute_path)):
            where = _path(error.absolute_path)
            out.append(f"field '{where}': {error.message}" if where else error.message)
        return out

    def resolver(self) -> Any:
        from referencing import Resource

        resource = Resource.from_contents(self.raw, default_specification=_default_specification())
        return self.registry.resolver_with_root(resource)

    def reader_problems(self, writer: Any) -> list[str]:
        from kcli.schema_registry.json_compatibility import reader_problems

        if not isinstance(writer, JsonSchemaParsed):
            return [f"the schema type changed from {writer.schema_type} to JSON"]
        return reader_problems(self, writer)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _default_validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator


def _default_specification() -> Any:
    from referencing.jsonschema import DRAFT7

    return DRAFT7


def _all_references(references: Sequence[Any]) -> Iterator[Any]:
    """The references and, depth first, theirs: every document a ``$ref`` may reach."""
    for ref in references:
        yield ref
        yield from _all_references(getattr(ref.schema, "references", []))


def build_registry(references: Sequence[Any]) -> Any:
    """A `referencing` registry with each referenced schema under its reference name (and its $id)."""
    from referencing import Registry, Resource

    resources = []
    for ref in _all_references(references):
        resource = Resource.from_contents(ref.schema.raw, default_specification=_default_specification())
        resources.append((ref.name, resource))
        own_id = resource.id()
        if own_id and own_id != ref.name:
            resources.append((own_id, resource))
    return Registry().with_resources(resources)


def parse_json_schema(text: str, references: Sequence[Any] = ()) -> JsonSchemaParsed:
    """Parse and check a JSON Schema; 42201 naming what is wrong."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the schema is not valid JSON ({exc})") from None
    if not isinstance(raw, dict | bool):
        raise invalid("a JSON Schema is a JSON object (or true/false)")
    cls = validator_for(raw, default=_default_validator())
    try:
        cls.check_schema(raw)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise invalid(f"{exc.message}" + (f" (at #/{where})" if where else "")) from None
    parsed = JsonSchemaParsed(raw, orjson.dumps(raw).decode(), list(references), build_registry(references))
    _check_refs(parsed)
    return parsed


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in ("enum", "const", "default", "examples"):
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _check_refs(parsed: JsonSchemaParsed) -> None:
    """Every ``$ref`` must resolve (inside the schema or to a reference), as Confluent's loader checks."""
    from referencing.exceptions import Unresolvable

    resolver = parsed.resolver()
    for ref in _refs(parsed.raw):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise invalid(
                f"$ref '{ref}' cannot be resolved; define it in the schema or pass it in \"references\""
            ) from None
