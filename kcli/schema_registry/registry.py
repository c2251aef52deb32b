"""The registry's operations (what the REST API does), independent of HTTP and of the store.

Reads take the state's lock; writes are serialised by ``write_lock`` and go through the store,
which applies them to the state only once they are durable. Messages and error codes follow
Confluent's registry so that its clients and scripts recognise them.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any

from kcli.schema_registry import errors, formats
from kcli.schema_registry.compatibility import LEVELS
from kcli.schema_registry.errors import RegistryError
from kcli.schema_registry.formats import ParsedSchema, Resolved, check_level
from kcli.schema_registry.state import (
    DEFAULT_COMPATIBILITY,
    DEFAULT_MODE,
    SchemaVersion,
    config_key,
    delete_subject_key,
    mode_key,
    schema_key,
    schema_value,
)
from kcli.schema_registry.store import Store

MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
SCHEMA_TYPES = formats.SCHEMA_TYPES
_PARSED_CACHE = 512
_MAX_VERSION = 2**31 - 1


def parse_version(text: str | int) -> int | None:
    """A version id: 1..2^31-1, or None for ``latest`` (and -1, its numeric spelling); else 42202."""
    if isinstance(text, str) and text.strip().lower() == "latest":
        return None
    try:
        number = int(text)
    except (TypeError, ValueError):
        number = 0
    if number == -1:
        return None
    if not 1 <= number <= _MAX_VERSION:
        raise RegistryError(
            errors.INVALID_VERSION,
            f"The specified version '{text}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"',
        )
    return number


def version_json(v: SchemaVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": v.subject, "version": v.version, "id": v.schema_id}
    if v.schema_type != "AVRO":
        out["schemaType"] = v.schema_type
    if v.references:
        out["references"] = v.references_json()
    out["schema"] = v.schema
    return out


class Registry:
    """Schema registry operations over a :class:`Store`."""

    def __init__(self, store: Store):
        self.store = store
        self.state = store.state
        self.write_lock = threading.Lock()
        self._parsed: OrderedDict[tuple[Any, ...], ParsedSchema] = OrderedDict()
        self._parsed_lock = threading.Lock()

    # -- subjects and versions -------------------------------------------------------------------

    def subjects(self, deleted: bool = False) -> list[str]:
        with self.state.lock:
            return sorted(s for s in self.state.subjects if self.state.versions(s, deleted))

    def _existing(self, subject: str, deleted: bool = False) -> list[SchemaVersion]:
        found = self.state.versions(subject, deleted)
        if not found:
            raise errors.subject_not_found(subject)
        return found

    def list_versions(self, subject: str, deleted: bool = False) -> list[int]:
        with self.state.lock:
            return [v.version for v in self._existing(subject, deleted)]

    def get_version(self, subject: str, version: str | int, deleted: bool = False) -> SchemaVersion:
        number = parse_version(version)
        with self.state.lock:
            found = self._existing(subject, deleted)
            if number is None:
                return found[-1]
            for v in found:
                if v.version == number:
                    return v
        raise errors.version_not_found(number)

    def _resolve(self, references: Any, depth: int = 0) -> list[Resolved]:
        """Each reference's schema, parsed (42201 when one names no existing version)."""
        if depth > 32:
            raise RegistryError(
                errors.INVALID_SCHEMA, "Invalid schema: references nest too deeply (a cycle?)"
            )
        if isinstance(references, tuple):  # as stored: (name, subject, version)
            wanted = [formats.Reference(n, s, v) for n, s, v in references]
        else:
            wanted = formats.parse_references(references)
        out = []
        for ref in wanted:
            with self.state.lock:
                found = [v for v in self.state.versions(ref.subject) if v.version == ref.version]
            if not found:
                raise RegistryError(
                    errors.INVALID_SCHEMA,
                    f"Invalid schema: reference '{ref.name}' names subject '{ref.subject}' version "
                    f"{ref.version}, which does not exist",
                )
            out.append(Resolved(ref.name, self.parsed_version(found[0], depth + 1)))
        return out

    def parsed_version(self, v: SchemaVersion, depth: int = 0) -> ParsedSchema:
        """The parsed form of a stored version (cached: stored schemas never change)."""
        key = (v.schema_type, v.schema, v.references)
        with self._parsed_lock:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                return self._parsed[key]
        parsed = formats.parse(v.schema_type, v.schema, self._resolve(v.references, depth))
        with self._parsed_lock:
            self._parsed[key] = parsed
            while len(self._parsed) > _PARSED_CACHE:
                self._parsed.popitem(last=False)
        return parsed

    def _parse(self, schema: Any, schema_type: str | None, references: Any = None) -> ParsedSchema:
        resolved = self._resolve(references)
        return formats.parse(schema_type, schema, resolved)

    @staticmethod
    def _reference_key(references: Any) -> tuple[tuple[str, str, int], ...]:
        return tuple((r.name, r.subject, r.version) for r in formats.parse_references(references))

    def _previous(self, versions: list[SchemaVersion]) -> list[ParsedSchema]:
        """Stored versions, parsed; one kcli cannot parse (written by another registry) is skipped."""
        out = []
        for v in versions:
            try:
                out.append(self.parsed_version(v))
            except RegistryError:
                continue
        return out

    def register(
        self,
        subject: str,
        schema: Any,
        schema_type: str | None = None,
        schema_id: int | None = None,
        references: Any = None,
    ) -> int:
        """Register (or find) ``schema`` under ``subject``; returns its global id."""
        parsed = self._parse(schema, schema_type, references)
        refs = self._reference_key(references)
        kind = parsed.schema_type
        with self.write_lock:
            with self.state.lock:
                mode = self.mode(subject, fallback=True)
                if mode in ("READONLY", "READONLY_OVERRIDE"):
                    raise RegistryError(
                        errors.OPERATION_NOT_PERMITTED, f"Subject {subject} is in read-only mode"
                    )
                live = self.state.versions(subject)
                for v in live:
                    if v.schema == parsed.canonical and v.schema_type == kind and v.references == refs:
                        return v.schema_id
                level = self.compatibility(subject, fallback=True)
            problems = check_level(level, parsed, self._previous(live))
            with self.state.lock:
                if problems:
                    raise RegistryError(
                        errors.INCOMPATIBLE_SCHEMA,
                        f'Schema being registered is incompatible with an earlier schema for subject "{subject}" '
                        f"({level}), details: {problems}",
                    )
                new_id = self.state.id_for_schema(parsed.canonical, kind, refs)
                if schema_id is not None and mode == "IMPORT":
                    new_id = schema_id
                if new_id is None:
                    new_id = self.state.max_id + 1
                every = self.state.versions(subject, include_deleted=True)
                version = (every[-1].version if every else 0) + 1
            entry = SchemaVersion(subject, version, new_id, parsed.canonical, kind, references=refs)
            self.store.write(schema_key(subject, version), schema_value(entry))
            return new_id

    def lookup(
        self,
        subject: str,
        schema: Any,
        schema_type: str | None = None,
        deleted: bool = False,
        references: Any = None,
    ) -> SchemaVersion:
        with self.state.lock:
            found = self._existing(subject, deleted)
        parsed = self._parse(schema, schema_type, references)
        refs = self._reference_key(references)
        for v in found:
            if v.schema == parsed.canonical and v.schema_type == parsed.schema_type and v.references == refs:
                return v
        raise errors.schema_not_found()

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        with self.write_lock:
            with self.state.lock:
                every = self._existing(subject, deleted=True)
                live = [v for v in every if not v.deleted]
                if permanent and live:
                    raise RegistryError(
                        errors.SUBJECT_NOT_SOFT_DELETED,
                        f"Subject '{subject}' was not deleted first before being permanently deleted",
                    )
                if not permanent and not live:
                    raise RegistryError(
                        errors.SUBJECT_SOFT_DELETED,
                        f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently",
                    )
                for v in every:
                    self._refuse_if_referenced(subject, v.version)
            if permanent:
                for v in every:
                    self.store.write(schema_key(subject, v.version), None)
                return [v.version for v in every]
            for v in live:
                gone = dataclasses.replace(v, deleted=True)
                self.store.write(schema_key(subject, v.version), schema_value(gone))
            self.store.write(delete_subject_key(subject), {"subject": subject, "version": live[-1].version})
            return [v.version for v in live]

    def delete_version(self, subject: str, version: str | int, permanent: bool = False) -> int:
        number = parse_version(version)
        with self.write_lock:
            with self.state.lock:
                every = self._existing(subject, deleted=True)
                if number is None:
                    live = [v for v in every if not v.deleted]
                    if not live:
                        raise errors.version_not_found(version)
                    target = live[-1]
                else:
                    matches = [v for v in every if v.version == number]
                    if not matches:
                        raise errors.version_not_found(number)
                    target = matches[0]
                if permanent and not target.deleted:
                    raise RegistryError(
                        errors.SCHEMA_VERSION_NOT_SOFT_DELETED,
                        f"Subject '{subject}' Version {target.version} was not deleted first before being "
                        "permanently deleted",
                    )
                if not permanent and target.deleted:
                    raise RegistryError(
                        errors.SCHEMA_VERSION_SOFT_DELETED,
                        f"Subject '{subject}' Version {target.version} was soft deleted. "
                        "Set permanent=true to delete permanently",
                    )
                self._refuse_if_referenced(subject, target.version)
            if permanent:
                self.store.write(schema_key(subject, target.version), None)
            else:
                gone = dataclasses.replace(target, deleted=True)
                self.store.write(schema_key(subject, target.version), schema_value(gone))
            return target.version

    def _refuse_if_referenced(self, subject: str, version: int) -> None:
        """A version another live schema references cannot be deleted (Confluent's 42206)."""
        if self.state.referenced_by(subject, version):
            raise RegistryError(
                errors.REFERENCE_EXISTS,
                f"One or more references exist to the schema "
                f"{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}.",
            )

    # -- schemas by id ---------------------------------------------------------------------------

    def schema_by_id(self, schema_id: int) -> SchemaVersion:
        with self.state.lock:
            found = self.state.by_id(schema_id)
        if not found:
            raise errors.schema_not_found(schema_id)
        return found[0]

    def id_versions(self, schema_id: int, deleted: bool = False) -> list[SchemaVersion]:
        with self.state.lock:
            found = self.state.by_id(schema_id)
        if not found:
            raise errors.schema_not_found(schema_id)
        return [v for v in found if deleted or not v.deleted]

    # -- compatibility configuration ---------------------------------------------------------------

    def compatibility(self, subject: str | None, fallback: bool) -> str:
        with self.state.lock:
            if subject is not None and subject in self.state.configs:
                return self.state.configs[subject]
            if subject is not None and not fallback:
                raise RegistryError(
                    errors.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
                    f"Subject '{subject}' does not have subject-level compatibility configured",
                )
            return self.state.configs.get(None, DEFAULT_COMPATIBILITY)

    def set_compatibility(self, subject: str | None, level: Any) -> str:
        if not isinstance(level, str) or level.upper() not in LEVELS:
            raise RegistryError(
                errors.INVALID_COMPATIBILITY_LEVEL,
                "Invalid compatibility level. Valid values are none, backward, forward, full, "
                "backward_transitive, forward_transitive, and full_transitive",
            )
        with self.write_lock:
            self.store.write(config_key(subject), {"compatibilityLevel": level.upper()})
        return level.upper()

    def delete_compatibility(self, subject: str | None) -> str:
        with self.write_lock:
            with self.state.lock:
                previous = self.state.configs.get(subject)
                if subject is not None and previous is None and not self.state.versions(subject, True):
                    raise errors.subject_not_found(subject)
            self.store.write(config_key(subject), None)
        return previous or DEFAULT_COMPATIBILITY

    # -- mode --------------------------------------------------------------------------------------

    def mode(self, subject: str | None, fallback: bool) -> str:
        with self.state.lock:
            if subject is not None and subject in self.state.modes:
                return self.state.modes[subject]
            if subject is not None and not fallback:
                raise RegistryError(
                    errors.SUBJECT_LEVEL_MODE_NOT_CONFIGURED,
                    f"Subject '{subject}' does not have subject-level mode configured",
                )
            return self.state.modes.get(None, DEFAULT_MODE)

    def set_mode(self, subject: str | None, mode: Any) -> str:
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise RegistryError(
                errors.INVALID_MODE,
                "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, and IMPORT.",
            )
        with self.write_lock:
            self.store.write(mode_key(subject), {"mode": mode.upper()})
        return mode.upper()

    def delete_mode(self, subject: str) -> str:
        with self.write_lock:
            with self.state.lock:
                previous = self.state.modes.get(subject)
                if previous is None and not self.state.versions(subject, True):
                    raise errors.subject_not_found(subject)
            self.store.write(mode_key(subject), None)
        return previous or DEFAULT_MODE

    # -- compatibility test --------------------------------------------------------------------------

    def test_compatibility(
        self,
        subject: str,
        version: str | int | None,
        schema: Any,
        schema_type: str | None = None,
        references: Any = None,
    ) -> list[str]:
        """Problems of ``schema`` against one version (or, ``version=None``, all that the level checks)."""
        number = None if version is None else parse_version(version)
        with self.state.lock:
            live = self.state.versions(subject)
            if version is not None and not live:
                raise errors.subject_not_found(subject)
            level = self.compatibility(subject, fallback=True)
        parsed = self._parse(schema, schema_type, references)
        if version is None:
            against = live
        elif number is None:
            against = live[-1:]
        else:
            against = [v for v in live if v.version == number]
            if not against:
                raise errors.version_not_found(number)
        if version is not None:
            level = level.removesuffix("_TRANSITIVE")  # exactly the version asked for
        return check_level(level, parsed, self._previous(against))

    def referenced_by(self, subject: str, version: str | int) -> list[int]:
        """Ids of the schemas whose references name this version (``.../referencedby``)."""
        found = self.get_version(subject, version, True)
        with self.state.lock:
            return self.state.referenced_by(found.subject, found.version)
