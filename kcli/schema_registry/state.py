"""The registry's state, rebuilt purely from the records of the ``_schemas`` topic.

Every change is a record first (key and value JSON shaped like Confluent's, so a student who dumps
``_schemas`` sees what Confluent's registry would have written) and is applied here only when it
is read back. Replaying the topic from the beginning therefore rebuilds exactly the same state,
which is why a restart loses nothing and two registries on one topic agree.

Record shapes (key -> value):
- ``{"keytype":"SCHEMA","subject":s,"version":v,"magic":1}`` ->
  ``{"subject":s,"version":v,"id":n,"schema":"...","deleted":false}`` (null: permanently deleted),
  plus ``"schemaType"`` when not AVRO and ``"references"`` when it has any
- ``{"keytype":"CONFIG","subject":s|null,"magic":0}`` -> ``{"compatibilityLevel":"FULL"}`` (null: unset)
- ``{"keytype":"MODE","subject":s|null,"magic":0}`` -> ``{"mode":"READONLY"}`` (null: unset)
- ``{"keytype":"DELETE_SUBJECT","subject":s,"magic":0}`` -> ``{"subject":s,"version":latest}``
- ``{"keytype":"NOOP","magic":0}``: ignored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_COMPATIBILITY = "BACKWARD"
DEFAULT_MODE = "READWRITE"


@dataclass
class SchemaVersion:
    """One version of one subject."""

    subject: str
    version: int
    schema_id: int
    schema: str
    schema_type: str = "AVRO"
    deleted: bool = False
    references: tuple[tuple[str, str, int], ...] = ()  # (name, subject, version), in the given order

    def references_json(self) -> list[dict[str, Any]]:
        return [{"name": n, "subject": s, "version": v} for n, s, v in self.references]


def schema_key(subject: str, version: int) -> dict[str, Any]:
    return {"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}


def config_key(subject: str | None) -> dict[str, Any]:
    return {"keytype": "CONFIG", "subject": subject, "magic": 0}


def mode_key(subject: str | None) -> dict[str, Any]:
    return {"keytype": "MODE", "subject": subject, "magic": 0}


def delete_subject_key(subject: str) -> dict[str, Any]:
    return {"keytype": "DELETE_SUBJECT", "subject": subject, "magic": 0}


def schema_value(v: SchemaVersion) -> dict[str, Any]:
    value: dict[str, Any] = {
        "subject": v.subject,
        "version": v.version,
        "id": v.schema_id,
        "schema": v.schema,
        "deleted": v.deleted,
    }
    if v.schema_type != "AVRO":
        value["schemaType"] = v.schema_type
    if v.references:
        value["references"] = v.references_json()
    return value


def encode(record: dict[str, Any] | None) -> bytes | None:
    return None if record is None else orjson.dumps(record)


class RegistryState:
    """Subjects, versions, ids, configs and modes; ``lock`` guards every read and every apply."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.subjects: dict[str, dict[int, SchemaVersion]] = {}
        self.max_id = 0
        self.configs: dict[str | None, str] = {}
        self.modes: dict[str | None, str] = {}

    def apply(self, key_bytes: bytes | None, value_bytes: bytes | None) -> None:
        """Apply one ``_schemas`` record; records kcli does not understand are skipped."""
        if not key_bytes:
            return
        try:
            key = orjson.loads(key_bytes)
            value = orjson.loads(value_bytes) if value_bytes else None
        except orjson.JSONDecodeError:
            return
        if not isinstance(key, dict):
            return
        kind = key.get("keytype")
        subject = key.get("subject")
        with self.lock:
            if kind == "SCHEMA" and isinstance(subject, str):
                version = int(key.get("version", 0))
                versions = self.subjects.setdefault(subject, {})
                if value is None:
                    versions.pop(version, None)
                    if not versions:
                        del self.subjects[subject]
                    return
                entry = SchemaVersion(
                    subject=subject,
                    version=version,
                    schema_id=int(value["id"]),
                    schema=value["schema"],
                    schema_type=value.get("schemaType") or "AVRO",
                    deleted=bool(value.get("deleted", False)),
                    references=_references(value.get("references")),
                )
                versions[version] = entry
                self.max_id = max(self.max_id, entry.schema_id)
            elif kind == "CONFIG":
                if value is None:
                    self.configs.pop(subject, None)
                else:
                    self.configs[subject] = value.get("compatibilityLevel") or value.get("compatibility")
            elif kind == "MODE":
                if value is None:
                    self.modes.pop(subject, None)
                else:
                    self.modes[subject] = value["mode"]
            elif kind == "DELETE_SUBJECT" and isinstance(subject, str) and value is not None:
                upto = int(value.get("version", 2**31))
                for v in self.subjects.get(subject, {}).values():
                    if v.version <= upto:
                        v.deleted = True

    # -- queries (callers hold ``lock``) ---------------------------------------------------------

    def versions(self, subject: str, include_deleted: bool = False) -> list[SchemaVersion]:
        found = self.subjects.get(subject, {})
        return [found[v] for v in sorted(found) if include_deleted or not found[v].deleted]

    def by_id(self, schema_id: int) -> list[SchemaVersion]:
        return [
            v
            for versions in self.subjects.values()
            for v in sorted(versions.values(), key=lambda v: v.version)
            if v.schema_id == schema_id
        ]

    def id_for_schema(
        self, canonical: str, schema_type: str, references: tuple[tuple[str, str, int], ...] = ()
    ) -> int | None:
        for versions in self.subjects.values():
            for v in versions.values():
                if v.schema == canonical and v.schema_type == schema_type and v.references == references:
                    return v.schema_id
        return None

    def referenced_by(self, subject: str, version: int) -> list[int]:
        """Ids of live schemas that reference ``subject`` version ``version`` (callers hold ``lock``)."""
        return sorted(
            {
                v.schema_id
                for versions in self.subjects.values()
                for v in versions.values()
                if not v.deleted and any(s == subject and n == version for _, s, n in v.references)
            }
        )


def _references(raw: Any) -> tuple[tuple[str, str, int], ...]:
    """References as stored in a ``_schemas`` value; malformed entries are skipped."""
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("version"), int):
            out.append((str(item.get("name")), str(item.get("subject")), int(item["version"])))
    return tuple(out)
