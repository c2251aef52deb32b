"""Metadata responses assembled from cached, per-topic encoded bytes.

A client refreshing metadata for every topic used to cost the broker a kio dataclass per topic
and partition and a walk of the generic encoder every time: ~375 ms of CPU for 10,000 topics.
Kafka answers from its ``KRaftMetadataCache``, an image updated as metadata records arrive; here
each topic's part of the response (its ``MetadataResponseTopic``) is encoded by kio once per
response version and kept until the metadata of that topic changes, and a response is the
version's head (throttle time, brokers, cluster id, controller, which depend on the listener the
request came in on and are encoded by kio per distinct value), the topics array's length, the
concatenated topic bytes, and the version's tail. The whole "all topics" array of a version is
kept joined too, so the common refresh costs a lookup and a send.

Invalidation follows the metadata image: :meth:`MetadataResponseCache.invalidate` is called
with the ``MetadataDelta`` of each replayed run of records once the broker has reconciled it
(leader, ISR, epoch, new partitions, a deleted topic drop that topic's fragments; a broker
fenced, unfenced, registered or gone drops them all, since offline replicas follow brokers), and
:meth:`clear` after a snapshot or catch-up replaces the image. Each fragment also remembers the
catalog record it was built from and is rebuilt when the catalog holds another one, so a topic
re-created under the same name can never be answered from its predecessor's bytes.

Authorization stays in :mod:`kcli.server.authorization.api_authorization`: a fragment is a read-only
dict (the handler's dict of that topic), so the authorizer filters the array by name as before
and the encoder then joins the remaining fragments' bytes; when a client asks for topic
authorized operations (which depend on the principal) the handler hands out plain copies that
are encoded per request.
"""

from __future__ import annotations

import io
import struct
import typing
from collections.abc import Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from kio.schema.errors import ErrorCode
from kio.serial import entity_writer

from kcli.protocol.messages import build, response_class

if TYPE_CHECKING:
    from kcli.server.cluster.image import MetadataDelta
    from kcli.server.storage.catalog import Catalog, TopicRecord


class Broker(Protocol):
    """What the cache reads of the broker (kcli.server.state.broker.Broker, which owns the cache)."""

    image: Any
    catalog: Catalog

    def topic(self, name: str) -> TopicRecord | None: ...
    def partition_view(self, name: str, index: int) -> Any: ...


METADATA = 3
NOT_REQUESTED = -2147483648  # authorized operations not asked for (Kafka's Int.MinValue)
_I32 = struct.Struct(">i")
_HEADS_KEPT = 64  # distinct (version, listener view) heads; far more than brokers ever show


@cache
def _topic_class(version: int) -> type:
    return typing.get_args(typing.get_type_hints(response_class(METADATA, version))["topics"])[0]


@cache
def _topic_writer(version: int) -> Callable[[io.BytesIO, Any], None]:
    return entity_writer(_topic_class(version))


def encode_topic(version: int, topic: dict[str, Any]) -> bytes:
    """One topic of a MetadataResponse of ``version``, exactly as kio writes it in the array."""
    buf = io.BytesIO()
    _topic_writer(version)(buf, build(_topic_class(version), topic))
    return buf.getvalue()


def _flexible(version: int) -> bool:
    return version >= 9


def _tail_size(version: int) -> int:
    """Bytes after the topics array: cluster_authorized_operations (v8-10), tagged fields (v9+)."""
    return (4 if 8 <= version <= 10 else 0) + (1 if _flexible(version) else 0)


def _array_length(version: int, count: int) -> bytes:
    if not _flexible(version):
        return _I32.pack(count)
    value, out = count + 1, bytearray()  # compact arrays carry length + 1 as an unsigned varint
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class TopicFragment(dict):
    """One topic of a Metadata response: the handler's dict of it (what the authorizer and kio's
    generic path read), read-only because it is shared between requests, with its encoded bytes
    per response version."""

    __slots__ = ("_encoded", "record")

    def __init__(self, data: dict[str, Any], record: TopicRecord | None):
        dict.__init__(self, data)
        self.record = record
        self._encoded: dict[int, bytes] = {}

    def encoded(self, version: int) -> bytes:
        data = self._encoded.get(version)
        if data is None:
            data = self._encoded[version] = encode_topic(version, self)
        return data

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a cached Metadata topic is shared between requests: copy it with dict() first")

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _read_only  # type: ignore[assignment]


class FragmentList(list):
    """Every topic's fragment in name order, with the joined array bytes per version."""

    __slots__ = ("_joined",)

    def __init__(self, fragments: Iterable[TopicFragment]):
        super().__init__(fragments)
        self._joined: dict[int, bytes] = {}

    def joined(self, version: int) -> bytes:
        data = self._joined.get(version)
        if data is None:
            data = self._joined[version] = b"".join([f.encoded(version) for f in self])
        return data


def _head_and_tail(version: int, data: dict[str, Any]) -> tuple[bytes, bytes]:
    """The response body of ``version`` before and after its topics array, encoded by kio from
    the handler's dict with an empty array (the array's own length is written per response)."""
    body = io.BytesIO()
    head = {k: v for k, v in data.items() if k != "topics"}
    head["topics"] = ()
    entity_writer(response_class(METADATA, version))(body, build(response_class(METADATA, version), head))
    encoded = body.getvalue()
    tail = _tail_size(version)
    empty = _array_length(version, 0)
    cut = len(encoded) - tail - len(empty)
    if encoded[cut : cut + len(empty)] != empty:  # kio's layout is not the one this module knows
        raise AssertionError(f"unexpected MetadataResponse v{version} layout")
    return encoded[:cut], encoded[len(encoded) - tail :]


_HEADS: dict[tuple, tuple[bytes, bytes]] = {}


def _head_key(version: int, data: dict[str, Any]) -> tuple:
    return (
        version,
        data.get("throttle_time", 0),
        tuple((b["node_id"], b["host"], b["port"], b["rack"]) for b in data["brokers"]),
        data.get("cluster_id"),
        data.get("controller_id", -1),
        data.get("cluster_authorized_operations", NOT_REQUESTED),
    )


def encode_metadata_response(version: int, correlation_id: int, data: dict[str, Any]) -> list[Any] | None:
    """The framed MetadataResponse of ``version`` for the handler's dict: topics that are
    :class:`TopicFragment` come from their cached bytes, plain dicts (errors, authorized
    operations) are encoded here by kio; None (kio's generic path) for a dict with fields this
    encoder does not place (a throttle time as a timedelta, say)."""
    if not isinstance(data.get("throttle_time", 0), int) or not isinstance(data.get("brokers"), list):
        return None
    key = _head_key(version, data)
    parts = _HEADS.get(key)
    if parts is None:
        if len(_HEADS) >= _HEADS_KEPT:
            _HEADS.clear()
        parts = _HEADS[key] = _head_and_tail(version, data)
    head, tail = parts
    topics = data["topics"]
    if type(topics) is FragmentList:
        joined = topics.joined(version)
    else:
        joined = b"".join(
            [t.encoded(version) if type(t) is TopicFragment else encode_topic(version, t) for t in topics]
        )
    frame = bytearray(b"\0\0\0\0")
    frame += _I32.pack(correlation_id)
    if _flexible(version):
        frame += b"\0"  # response header v1: no tagged fields
    frame += head
    frame += _array_length(version, len(topics))
    _I32.pack_into(frame, 0, len(frame) - 4 + len(joined) + len(tail))
    return [frame, joined, tail] if tail else [frame, joined]


def topic_dict(broker: Broker, name: str) -> dict[str, Any]:
    """A topic's entry of a Metadata response, built from the catalog and the partition views."""
    record = broker.topic(name)
    assert record is not None
    partitions = []
    for index in range(record.partitions):
        view = broker.partition_view(name, index)
        if view is None:
            continue
        partitions.append(
            {
                "error_code": ErrorCode.leader_not_available if view.leader < 0 else ErrorCode.none,
                "partition_index": index,
                "leader_id": view.leader,
                "leader_epoch": view.leader_epoch,
                "replica_nodes": view.replicas,
                "isr_nodes": view.isr,
                "offline_replicas": view.offline,
            }
        )
    return {
        "error_code": ErrorCode.none,
        "name": name,
        "topic_id": record.topic_id,
        "is_internal": record.internal,
        "partitions": partitions,
        "topic_authorized_operations": NOT_REQUESTED,
    }


class MetadataResponseCache:
    """Per-topic fragments of the broker's Metadata responses, kept in step with its image."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self._fragments: dict[str, TopicFragment] = {}
        self._all: FragmentList | None = None

    @property
    def active(self) -> bool:
        """Only once the broker follows a metadata image: before that, topics and partitions
        come from the catalog and the local logs, which change without a delta."""
        return self.broker.image is not None

    def topic(self, name: str) -> TopicFragment | None:
        """The topic's fragment (built now if it changed since), None for a topic not listed."""
        record = self.broker.catalog.topics.get(name)
        if record is None:
            return None
        fragment = self._fragments.get(name)
        if fragment is None or fragment.record is not record:
            fragment = self._fragments[name] = TopicFragment(topic_dict(self.broker, name), record)
        return fragment

    def all_topics(self) -> FragmentList:
        """Every listed topic's fragment in name order (shared: callers must not mutate it)."""
        if self._all is None:
            catalog = self.broker.catalog.topics
            self._all = FragmentList(self.topic(name) for name in sorted(catalog))  # type: ignore[misc]
        return self._all

    def invalidate(self, delta: MetadataDelta) -> None:
        """Drop what ``delta`` (replayed and reconciled) changed; a broker change drops all."""
        if delta.brokers:
            self.clear()
            return
        names = {name for name, _ in delta.partitions} | delta.configs | {t.name for t in delta.removed}
        if not names:
            return
        for name in names:
            self._fragments.pop(name, None)
        self._all = None

    def clear(self) -> None:
        self._fragments.clear()
        self._all = None
