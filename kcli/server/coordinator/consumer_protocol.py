"""The ``consumer`` embedded protocol of classic groups (ConsumerProtocolSubscription and
ConsumerProtocolAssignment, via kio), read and written by the broker only where KIP-848 needs it:
a classic member in a consumer group (its JoinGroup subscription, its SyncGroup assignment) and
the online conversion of a group between the two protocols.

Each blob is an int16 version then the message in that version; a version newer than kio knows
is read with the newest it knows, as Kafka's ConsumerProtocol does (fields are only appended).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

from kio.index import load_entity_schema
from kio.serial import entity_reader, entity_writer
from kio.static.constants import EntityType

_I16 = struct.Struct(">h")
MAX_VERSION = 3


class ProtocolError(ValueError):
    """A subscription or assignment that does not parse."""


@dataclass(frozen=True)
class ClassicSubscription:
    version: int
    topics: tuple[str, ...]
    owned: tuple[tuple[str, tuple[int, ...]], ...]
    rack_id: str | None


def _schema(name: str, version: int) -> Any:
    return load_entity_schema(name, min(max(version, 0), MAX_VERSION), EntityType.data)


def _read(name: str, data: bytes) -> tuple[int, Any]:
    if len(data) < 2:
        raise ProtocolError(f"{name} of {len(data)} bytes is too short")
    version = _I16.unpack_from(data, 0)[0]
    if version < 0:
        raise ProtocolError(f"{name} has invalid version {version}")
    try:
        value, _ = entity_reader(_schema(name, version))(data, 2)
    except Exception as exc:
        raise ProtocolError(f"malformed {name}: {exc}") from None
    return version, value


def version_of(data: bytes) -> int:
    """The embedded protocol version of a subscription (0 when unreadable)."""
    return _I16.unpack_from(data, 0)[0] if len(data) >= 2 else 0


def decode_subscription(data: bytes) -> ClassicSubscription:
    version, value = _read("consumer_protocol_subscription", data)
    owned = tuple(
        (tp.topic, tuple(int(p) for p in tp.partitions)) for tp in getattr(value, "owned_partitions", ())
    )
    return ClassicSubscription(version, tuple(value.topics), owned, getattr(value, "rack_id", None))


def decode_assignment(data: bytes) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(topic, partitions) of a ConsumerProtocolAssignment; an empty blob is no assignment."""
    if not data:
        return ()
    _, value = _read("consumer_protocol_assignment", data)
    return tuple((tp.topic, tuple(int(p) for p in tp.partitions)) for tp in value.assigned_partitions)


def encode_assignment(partitions: dict[str, list[int]], version: int) -> bytes:
    """A ConsumerProtocolAssignment in ``version`` (the member's subscription version)."""
    version = min(max(version, 0), MAX_VERSION)
    cls = _schema("consumer_protocol_assignment", version)
    module = __import__(cls.__module__, fromlist=["TopicPartition"])
    value = cls(
        assigned_partitions=tuple(
            module.TopicPartition(topic=t, partitions=tuple(sorted(ps)))
            for t, ps in sorted(partitions.items())
        ),
        user_data=None,
    )
    buf = io.BytesIO()
    buf.write(_I16.pack(version))
    entity_writer(cls)(buf, value)
    return buf.getvalue()


def encode_subscription(
    topics: list[str],
    owned: dict[str, list[int]],
    version: int,
    generation: int = -1,
    rack: str | None = None,
) -> bytes:
    """A ConsumerProtocolSubscription (used when a consumer group turns back into a classic one)."""
    version = min(max(version, 0), MAX_VERSION)
    cls = _schema("consumer_protocol_subscription", version)
    module = __import__(cls.__module__, fromlist=["TopicPartition"])
    fields: dict[str, Any] = {"topics": tuple(topics), "user_data": None}
    if version >= 1:
        fields["owned_partitions"] = tuple(
            module.TopicPartition(topic=t, partitions=tuple(sorted(ps))) for t, ps in sorted(owned.items())
        )
    if version >= 2:
        fields["generation_id"] = generation
    if version >= 3:
        fields["rack_id"] = rack
    buf = io.BytesIO()
    buf.write(_I16.pack(version))
    entity_writer(cls)(buf, cls(**fields))
    return buf.getvalue()
