"""``kafka-dump-log --offsets-decoder``: ``__consumer_offsets`` records as Kafka 3.9 prints them.

Kafka's ``DumpLogSegments.OffsetsMessageParser`` reads the record key's version (the record type),
decodes key and value with the group coordinator's generated message classes and prints each as
compact JSON: ``{"type":"1","data":{...}}`` for the key and ``{"version":"3","data":{...}}`` for
the value, ``<DELETE>`` for a tombstone. For groups of the ``consumer`` protocol it also decodes
each member's subscription and assignment (falling back to their base64 bytes when they do not
parse). Field names, their order and the versions that carry them are those of Kafka's schemas
(OffsetCommitKey/Value, GroupMetadataKey/Value); the consumer protocol comes from kio's schemas.

Types 3 to 8 are the new (KIP-848) consumer group records, which neither kcli's broker nor a
classic-protocol Kafka writes: they are named, not decoded.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
from typing import Any

_I16, _I32, _I64 = struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_VALUE_VERSIONS = {0: (0, 4), 1: (0, 4), 2: (0, 4)}  # record type -> (lowest, highest) value version
_KIP848_TYPES = range(3, 9)


class _Reader:
    """Kafka's primitive types, with the compact (flexible version) variants."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(
                f"Error reading byte array of {n} byte(s): only {len(self.data) - self.pos} byte(s) available"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def i16(self) -> int:
        return _I16.unpack(self._take(2))[0]

    def i32(self) -> int:
        return _I32.unpack(self._take(4))[0]

    def i64(self) -> int:
        return _I64.unpack(self._take(8))[0]

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            b = self._take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 28:
                raise ValueError("Varint is too long")

    def string(self, flexible: bool) -> str | None:
        n = self.uvarint() - 1 if flexible else self.i16()
        return None if n < 0 else self._take(n).decode("utf-8")

    def bytes_(self, flexible: bool) -> bytes | None:
        n = self.uvarint() - 1 if flexible else self.i32()
        return None if n < 0 else self._take(n)

    def count(self, flexible: bool) -> int:
        n = self.uvarint() - 1 if flexible else self.i32()
        if n < 0:
            raise ValueError("non-nullable field members was serialized as null")
        return n

    def tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self._take(self.uvarint())


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _offset_commit_key(r: _Reader) -> dict[str, Any]:
    return {"group": r.string(False), "topic": r.string(False), "partition": r.i32()}


def _offset_commit_value(r: _Reader, version: int) -> dict[str, Any]:
    flexible = version >= 4
    out: dict[str, Any] = {"offset": r.i64()}
    if version >= 3:
        out["leaderEpoch"] = r.i32()
    out["metadata"] = r.string(flexible)
    out["commitTimestamp"] = r.i64()
    if version == 1:
        out["expireTimestamp"] = r.i64()
    if flexible:
        r.tagged_fields()
    return out


def _group_metadata_value(r: _Reader, version: int) -> dict[str, Any]:
    flexible = version >= 4
    out: dict[str, Any] = {
        "protocolType": r.string(flexible),
        "generation": r.i32(),
        "protocol": r.string(flexible),
        "leader": r.string(flexible),
    }
    if version >= 2:
        out["currentStateTimestamp"] = r.i64()
    members = []
    for _ in range(r.count(flexible)):
        member: dict[str, Any] = {"memberId": r.string(flexible)}
        if version >= 3:
            member["groupInstanceId"] = r.string(flexible)
        member["clientId"] = r.string(flexible)
        member["clientHost"] = r.string(flexible)
        if version >= 1:
            member["rebalanceTimeout"] = r.i32()
        member["sessionTimeout"] = r.i32()
        subscription, assignment = r.bytes_(flexible), r.bytes_(flexible)
        member["subscription"] = _b64(subscription)
        member["assignment"] = _b64(assignment)
        if flexible:
            r.tagged_fields()
        if out["protocolType"] == "consumer":
            member["subscription"] = _consumer_protocol("subscription", subscription, member["subscription"])
            member["assignment"] = _consumer_protocol("assignment", assignment, member["assignment"])
        members.append(member)
    out["members"] = members
    if flexible:
        r.tagged_fields()
    return out


def _consumer_protocol(kind: str, data: bytes | None, fallback: Any) -> Any:
    """A member's subscription or assignment decoded (kio's ConsumerProtocol schemas), else the
    original base64, as Kafka keeps the bytes when they do not parse."""
    if data is None or len(data) < 2:
        return fallback
    version = _I16.unpack_from(data)[0]
    try:
        import importlib

        from kio.serial import entity_reader

        package = (
            "consumer_protocol_subscription" if kind == "subscription" else "consumer_protocol_assignment"
        )
        module = importlib.import_module(f"kio.schema.{package}.v{version}.data")
        cls = (
            module.ConsumerProtocolSubscription
            if kind == "subscription"
            else module.ConsumerProtocolAssignment
        )
        entity, _ = entity_reader(cls)(memoryview(data), 2)
    except Exception:
        return fallback
    return _entity_json(entity)


def _entity_json(value: Any) -> Any:
    """A kio entity as Kafka's JsonConverter writes it: camelCase fields, bytes in base64."""
    if dataclasses.is_dataclass(value):
        return {_camel(f.name): _entity_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_entity_json(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return _b64(bytes(value))
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _json(node: dict[str, Any]) -> str:
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)


def decode(offset: int, key: bytes | None, value: bytes | None) -> tuple[str, str | None]:
    """(key text, payload text or None) for one ``__consumer_offsets`` record, as Kafka prints them.

    Raises ValueError for a record without a key, as Kafka's parser fails then."""
    if key is None:
        raise ValueError(
            f"Failed to decode message at offset {offset} using offset topic decoder (message had a missing key)"
        )
    try:
        kr = _Reader(key)
        record_type = kr.i16()
        if record_type in _KIP848_TYPES:
            return (
                f"Record type {record_type} (a KIP-848 consumer group record) at offset {offset} is not "
                "decoded by kcli, skipping.",
                None,
            )
        if record_type not in _VALUE_VERSIONS:
            return f"Unknown record type {record_type} at offset {offset}, skipping.", None
        try:
            data = {"group": kr.string(False)} if record_type == 2 else _offset_commit_key(kr)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(
                f"Could not read record with version {record_type} from key's buffer due to: {exc}."
            ) from None
        key_text = _json({"type": str(record_type), "data": data})
        if value is None:
            return key_text, "<DELETE>"
        vr = _Reader(value)
        version = vr.i16()
        lowest, highest = _VALUE_VERSIONS[record_type]
        name = "GroupMetadataValue" if record_type == 2 else "OffsetCommitValue"
        try:
            if not lowest <= version <= highest:
                raise ValueError(f"Can't read version {version} of {name}")
            body = (
                _group_metadata_value(vr, version) if record_type == 2 else _offset_commit_value(vr, version)
            )
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            raise ValueError(
                f"Could not read record with version {version} from value's buffer due to: {exc}."
            ) from None
        return key_text, _json({"version": str(version), "data": body})
    except (ValueError, UnicodeDecodeError, struct.error) as exc:
        return f"Error at offset {offset}, skipping. {exc}", None
