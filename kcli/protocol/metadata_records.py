"""KRaft's metadata records (``__cluster_metadata``), encoded exactly as Kafka encodes them.

Each record value is Kafka's ``ApiMessageAndVersion`` frame (MetadataRecordSerde): an unsigned
varint frame version (1), the record type (its api key) and the record version as unsigned
varints, then the record in Kafka's flexible message encoding (compact strings and arrays,
tagged fields written only when they differ from their default). The schemas below are the
subset of Kafka's ``metadata/src/main/resources/common/metadata/*.json`` the controller writes
(field names in the camelCase Kafka's JSON converters print), so ``kafka-dump-log
--cluster-metadata-decoder`` - Kafka's and kcli's - reads the log this project writes, and a
Raft quorum can later replicate the same bytes.

A record is a :class:`MetadataRecord`: its type name (``TOPIC_RECORD``), version and a dict of
its fields; uuids are :class:`uuid.UUID`.
"""

from __future__ import annotations

import base64
import json
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

FRAME_VERSION = 1


@dataclass(frozen=True)
class Field:
    """One field of a record schema (as in Kafka's message JSON)."""

    name: str
    type: str  # int8 int16 uint16 int32 int64 bool string bytes uuid []int32 []uuid []struct
    since: int = 0
    tag: int | None = None  # a tagged field's tag (tagged from ``since``)
    default: Any = None
    nullable: bool = False
    fields: tuple[Field, ...] = ()  # for []struct


@dataclass(frozen=True)
class Schema:
    api_key: int
    name: str  # Kafka's MetadataRecordType name
    versions: tuple[int, int]
    fields: tuple[Field, ...]


def _f(name: str, type_: str, since: int = 0, **kw: Any) -> Field:
    return Field(name, type_, since, **kw)


SCHEMAS: dict[int, Schema] = {
    s.api_key: s
    for s in (
        Schema(
            0,
            "REGISTER_BROKER_RECORD",
            (0, 3),
            (
                _f("brokerId", "int32"),
                _f("isMigratingZkBroker", "bool", 2, default=False),
                _f("incarnationId", "uuid"),
                _f("brokerEpoch", "int64"),
                _f(
                    "endPoints",
                    "[]struct",
                    fields=(
                        _f("name", "string"),
                        _f("host", "string"),
                        _f("port", "uint16"),
                        _f("securityProtocol", "int16"),
                    ),
                ),
                _f(
                    "features",
                    "[]struct",
                    fields=(
                        _f("name", "string"),
                        _f("minSupportedVersion", "int16"),
                        _f("maxSupportedVersion", "int16"),
                    ),
                ),
                _f("rack", "string", nullable=True),
                _f("fenced", "bool", default=True),
                _f("inControlledShutdown", "bool", 1, default=False),
                _f("logDirs", "[]uuid", 3, tag=0, default=()),
            ),
        ),
        Schema(1, "UNREGISTER_BROKER_RECORD", (0, 0), (_f("brokerId", "int32"), _f("brokerEpoch", "int64"))),
        Schema(2, "TOPIC_RECORD", (0, 0), (_f("name", "string"), _f("topicId", "uuid"))),
        Schema(
            3,
            "PARTITION_RECORD",
            (0, 2),
            (
                _f("partitionId", "int32"),
                _f("topicId", "uuid"),
                _f("replicas", "[]int32"),
                _f("isr", "[]int32"),
                _f("removingReplicas", "[]int32"),
                _f("addingReplicas", "[]int32"),
                _f("leader", "int32"),
                _f("leaderRecoveryState", "int8", tag=0, default=0),
                _f("leaderEpoch", "int32"),
                _f("partitionEpoch", "int32"),
                _f("directories", "[]uuid", 1),
                _f("eligibleLeaderReplicas", "[]int32", 2, tag=1, nullable=True),
                _f("lastKnownElr", "[]int32", 2, tag=2, nullable=True),
            ),
        ),
        Schema(
            4,
            "CONFIG_RECORD",
            (0, 0),
            (
                _f("resourceType", "int8"),
                _f("resourceName", "string"),
                _f("name", "string"),
                _f("value", "string", nullable=True),
            ),
        ),
        Schema(
            5,
            "PARTITION_CHANGE_RECORD",
            (0, 2),
            (
                _f("partitionId", "int32"),
                _f("topicId", "uuid"),
                _f("isr", "[]int32", tag=0, nullable=True),
                _f("leader", "int32", tag=1, default=-2),
                _f("replicas", "[]int32", tag=2, nullable=True),
                _f("removingReplicas", "[]int32", tag=3, nullable=True),
                _f("addingReplicas", "[]int32", tag=4, nullable=True),
                _f("leaderRecoveryState", "int8", tag=5, default=-1),
                _f("directories", "[]uuid", 1, tag=8, nullable=True),
                _f("eligibleLeaderReplicas", "[]int32", 2, tag=6, nullable=True),
                _f("lastKnownElr", "[]int32", 2, tag=7, nullable=True),
            ),
        ),
        Schema(7, "FENCE_BROKER_RECORD", (0, 0), (_f("id", "int32"), _f("epoch", "int64"))),
        Schema(8, "UNFENCE_BROKER_RECORD", (0, 0), (_f("id", "int32"), _f("epoch", "int64"))),
        Schema(9, "REMOVE_TOPIC_RECORD", (0, 0), (_f("topicId", "uuid"),)),
        Schema(
            11,
            "USER_SCRAM_CREDENTIAL_RECORD",
            (0, 0),
            (
                _f("name", "string"),
                _f("mechanism", "int8"),
                _f("salt", "bytes"),
                _f("storedKey", "bytes"),
                _f("serverKey", "bytes"),
                _f("iterations", "int32"),
            ),
        ),
        Schema(12, "FEATURE_LEVEL_RECORD", (0, 0), (_f("name", "string"), _f("featureLevel", "int16"))),
        Schema(
            15,
            "PRODUCER_IDS_RECORD",
            (0, 0),
            (_f("brokerId", "int32"), _f("brokerEpoch", "int64", default=-1), _f("nextProducerId", "int64")),
        ),
        Schema(
            17,
            "BROKER_REGISTRATION_CHANGE_RECORD",
            (0, 2),
            (
                _f("brokerId", "int32"),
                _f("brokerEpoch", "int64"),
                _f("fenced", "int8", tag=0, default=0),
                _f("inControlledShutdown", "int8", 1, tag=1, default=0),
                _f("logDirs", "[]uuid", 2, tag=2, default=()),
            ),
        ),
        Schema(
            18,
            "ACCESS_CONTROL_ENTRY_RECORD",
            (0, 0),
            (
                _f("id", "uuid"),
                _f("resourceType", "int8"),
                _f("resourceName", "string"),
                _f("patternType", "int8"),
                _f("principal", "string"),
                _f("host", "string"),
                _f("operation", "int8"),
                _f("permissionType", "int8"),
            ),
        ),
        Schema(19, "REMOVE_ACCESS_CONTROL_ENTRY_RECORD", (0, 0), (_f("id", "uuid"),)),
        Schema(20, "NO_OP_RECORD", (0, 0), ()),
        Schema(
            22,
            "REMOVE_USER_SCRAM_CREDENTIAL_RECORD",
            (0, 0),
            (_f("name", "string"), _f("mechanism", "int8")),
        ),
    )
}
BY_NAME = {s.name: s for s in SCHEMAS.values()}
# The names of the record types kcli does not write but Kafka does, so a dump of a log from
# Kafka says which type it met (MetadataRecordType).
OTHER_TYPES = {
    10: "DELEGATION_TOKEN_RECORD",
    14: "CLIENT_QUOTA_RECORD",
    16: "REMOVE_FEATURE_LEVEL_RECORD",
    21: "ZK_MIGRATION_STATE_RECORD",
    23: "BEGIN_TRANSACTION_RECORD",
    24: "END_TRANSACTION_RECORD",
    25: "ABORT_TRANSACTION_RECORD",
    26: "REMOVE_DELEGATION_TOKEN_RECORD",
    27: "REGISTER_CONTROLLER_RECORD",
    28: "CLEAR_ELR_RECORD",
}


class MetadataParseError(ValueError):
    """Bytes that are not a metadata record kcli knows (Kafka's MetadataParseException)."""


@dataclass
class MetadataRecord:
    type: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> Schema:
        return BY_NAME[self.type]

    def to_json(self) -> dict[str, Any]:
        """As Kafka's dump tool prints it: {"type", "version", "data"} with tagged fields only
        when they differ from their default, uuids in Kafka's base64 form."""
        return {
            "type": self.type,
            "version": self.version,
            "data": _json_struct(self.schema.fields, self.data, self.version),
        }

    def to_wire(self) -> dict[str, Any]:
        """A JSON-safe form for the broker-controller link (uuids as their canonical text)."""
        return {"type": self.type, "version": self.version, "data": _to_wire(self.data)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> MetadataRecord:
        record = cls(str(data["type"]), int(data["version"]), {})
        record.data = _from_wire(record.schema.fields, data["data"])
        return record


def record(type_name: str, version: int = 0, **data: Any) -> MetadataRecord:
    """A record with every field of its version (missing ones at their defaults)."""
    schema = BY_NAME[type_name]
    filled: dict[str, Any] = {}
    for f in schema.fields:
        if f.since > version:
            continue
        filled[f.name] = data.pop(f.name) if f.name in data else _default(f)
    if data:
        raise TypeError(f"{type_name} v{version} has no field(s) {sorted(data)}")
    return MetadataRecord(type_name, version, filled)


_ZERO_UUID = uuid.UUID(int=0)


def _default(f: Field) -> Any:
    if f.default is not None:
        return f.default
    if f.nullable:
        return None
    if f.type.startswith("[]"):
        return ()
    return _TYPE_DEFAULTS.get(f.type, 0)


_TYPE_DEFAULTS: dict[str, Any] = {"string": "", "bytes": b"", "uuid": _ZERO_UUID, "bool": False}


# --- binary encoding -----------------------------------------------------------------------------


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_FIXED = {"int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "int64": ">q"}


def _write_value(f: Field, value: Any, version: int, out: bytearray) -> None:
    t = f.type
    if t in _FIXED:
        out += struct.pack(_FIXED[t], value)
    elif t == "bool":
        out.append(1 if value else 0)
    elif t == "uuid":
        out += value.bytes
    elif t in ("string", "bytes"):
        if value is None:
            out += _uvarint(0)
        else:
            raw = value.encode() if t == "string" else bytes(value)
            out += _uvarint(len(raw) + 1) + raw
    elif t.startswith("[]"):
        if value is None:
            out += _uvarint(0)
            return
        out += _uvarint(len(value) + 1)
        for item in value:
            if t == "[]int32":
                out += struct.pack(">i", item)
            elif t == "[]uuid":
                out += item.bytes
            else:
                _write_struct(f.fields, item, version, out)
    else:  # pragma: no cover - the schemas above use only the types handled here
        raise TypeError(t)


def _write_struct(fields: tuple[Field, ...], data: dict[str, Any], version: int, out: bytearray) -> None:
    tagged: list[tuple[int, bytes]] = []
    for f in fields:
        if f.since > version:
            continue
        value = data.get(f.name, _default(f))
        if f.tag is not None:
            if _is_default(f, value):
                continue
            buf = bytearray()
            _write_value(f, value, version, buf)
            tagged.append((f.tag, bytes(buf)))
        else:
            _write_value(f, value, version, out)
    out += _uvarint(len(tagged))
    for tag, raw in sorted(tagged):
        out += _uvarint(tag) + _uvarint(len(raw)) + raw


def _is_default(f: Field, value: Any) -> bool:
    default = _default(f)
    if isinstance(default, tuple) and value is not None:
        return tuple(value) == default
    return value == default


def encode(rec: MetadataRecord) -> bytes:
    """The record value Kafka writes: frame version, type, version, then the record."""
    schema = rec.schema
    out = bytearray(_uvarint(FRAME_VERSION) + _uvarint(schema.api_key) + _uvarint(rec.version))
    _write_struct(schema.fields, rec.data, rec.version, out)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MetadataParseError("the record ends early")
        chunk = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return chunk

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 35:
                raise MetadataParseError("varint too long")


def _read_value(f: Field, r: _Reader, version: int) -> Any:
    t = f.type
    if t in _FIXED:
        fmt = _FIXED[t]
        return struct.unpack(fmt, r.take(struct.calcsize(fmt)))[0]
    if t == "bool":
        return r.take(1)[0] != 0
    if t == "uuid":
        return uuid.UUID(bytes=r.take(16))
    if t in ("string", "bytes"):
        n = r.uvarint()
        if n == 0:
            return None
        raw = r.take(n - 1)
        return raw.decode() if t == "string" else raw
    n = r.uvarint()
    if n == 0:
        return None
    if t == "[]int32":
        return [struct.unpack(">i", r.take(4))[0] for _ in range(n - 1)]
    if t == "[]uuid":
        return [uuid.UUID(bytes=r.take(16)) for _ in range(n - 1)]
    return [_read_struct(f.fields, r, version) for _ in range(n - 1)]


def _read_struct(fields: tuple[Field, ...], r: _Reader, version: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    by_tag = {}
    for f in fields:
        if f.since > version:
            continue
        if f.tag is not None:
            by_tag[f.tag] = f
            data[f.name] = _default(f)
        else:
            data[f.name] = _read_value(f, r, version)
    for _ in range(r.uvarint()):
        tag, size = r.uvarint(), r.uvarint()
        raw = r.take(size)
        f = by_tag.get(tag)
        if f is not None:  # unknown tags are skipped, as Kafka skips them
            data[f.name] = _read_value(f, _Reader(raw), version)
    return data


def decode(value: bytes) -> MetadataRecord:
    """A record value back into its record; MetadataParseError (Kafka's message) otherwise."""
    r = _Reader(value)
    frame = r.uvarint()
    if frame == 0:
        raise MetadataParseError(
            "Could not deserialize metadata record with frame version 0. Note that upgrades from the "
            "preview release of KRaft in 2.8 to newer versions are not supported."
        )
    if frame != FRAME_VERSION:
        raise MetadataParseError(
            f"Could not deserialize metadata record due to unknown frame version {frame}"
            f"(only frame version {FRAME_VERSION} is supported)"
        )
    api_key, version = r.uvarint(), r.uvarint()
    schema = SCHEMAS.get(api_key)
    if schema is None:
        name = OTHER_TYPES.get(api_key)
        raise MetadataParseError(
            f"Record type {name} is not decoded by kcli" if name else f"Unknown metadata id {api_key}"
        )
    if not schema.versions[0] <= version <= schema.versions[1]:
        raise MetadataParseError(
            f"Failed to deserialize record with type {api_key}: unknown version {version}"
        )
    data = _read_struct(schema.fields, r, version)
    if r.pos != len(r.data):
        raise MetadataParseError(f"Found {len(r.data) - r.pos} byte(s) of garbage after {api_key}")
    return MetadataRecord(schema.name, version, data)


# --- JSON, as Kafka's converters print ---------------------------------------------------------


def kafka_uuid(value: uuid.UUID) -> str:
    """Kafka's Uuid.toString(): URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def _json_value(f: Field, value: Any, version: int) -> Any:
    if value is None:
        return None
    if f.type == "uuid":
        return kafka_uuid(value)
    if f.type == "bytes":  # Kafka's JSON converters print bytes as base64
        return base64.b64encode(value).decode()
    if f.type == "[]uuid":
        return [kafka_uuid(v) for v in value]
    if f.type == "[]struct":
        return [_json_struct(f.fields, v, version) for v in value]
    if f.type == "[]int32":
        return list(value)
    return value


def _json_struct(fields: tuple[Field, ...], data: dict[str, Any], version: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.since > version:
            continue
        value = data.get(f.name, _default(f))
        if f.tag is not None and _is_default(f, value):
            continue
        out[f.name] = _json_value(f, value, version)
    return out


def dumps(rec: MetadataRecord) -> str:
    """One record as Kafka's ``--cluster-metadata-decoder`` prints its payload (compact JSON)."""
    return json.dumps(rec.to_json(), separators=(",", ":"), ensure_ascii=False)


def _to_wire(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    return value


def _from_wire(fields: tuple[Field, ...], data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.name not in data:
            continue
        value = data[f.name]
        if value is None:
            out[f.name] = None
        elif f.type == "uuid":
            out[f.name] = uuid.UUID(value)
        elif f.type == "bytes":
            out[f.name] = base64.b64decode(value)
        elif f.type == "[]uuid":
            out[f.name] = [uuid.UUID(v) for v in value]
        elif f.type == "[]struct":
            out[f.name] = [_from_wire(f.fields, v) for v in value]
        else:
            out[f.name] = value
    return out
