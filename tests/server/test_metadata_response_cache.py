"""Unit tests: Metadata responses assembled from cached per-topic bytes equal kio's encoding of
the same dict for every version served, and the cache drops what a metadata delta changed."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from kio.schema.errors import ErrorCode

from kcli.protocol.messages import build, response_class
from kcli.server.apis import load_all
from kcli.server.cluster.image import MetadataDelta
from kcli.server.protocol.codec import encode_response
from kcli.server.state.metadata_response_cache import (
    NOT_REQUESTED,
    FragmentList,
    MetadataResponseCache,
    TopicFragment,
    encode_metadata_response,
)
from kcli.server.storage.catalog import TopicRecord

APIS = load_all()
VERSIONS = range(APIS[3].min_version, APIS[3].max_version + 1)


def _partition(index: int, leader: int = 1, offline: list[int] | None = None) -> dict:
    return {
        "error_code": ErrorCode.leader_not_available if leader < 0 else ErrorCode.none,
        "partition_index": index,
        "leader_id": leader,
        "leader_epoch": 7 + index,
        "replica_nodes": [1, 2, 3],
        "isr_nodes": [1, 2] if offline else [1, 2, 3],
        "offline_replicas": offline or [],
    }


def _topic(name: str, partitions: list[dict], **overrides: object) -> dict:
    topic = {
        "error_code": ErrorCode.none,
        "name": name,
        "topic_id": uuid.uuid5(uuid.NAMESPACE_DNS, name),
        "is_internal": name.startswith("__"),
        "partitions": partitions,
        "topic_authorized_operations": NOT_REQUESTED,
    }
    topic.update(overrides)
    return topic


TOPICS = [
    _topic("orders", [_partition(0), _partition(1, offline=[3]), _partition(2, leader=-1)]),
    _topic("__consumer_offsets", [_partition(i) for i in range(3)]),
    _topic("described-" + "é" * 40, [_partition(0)], topic_authorized_operations=0b11111000),
    _topic("empty", []),
]
ERRORS = [
    {"error_code": ErrorCode.unknown_topic_or_partition, "name": "missing", "topic_id": None,
     "is_internal": False, "partitions": []},
    {"error_code": ErrorCode.invalid_topic_exception, "name": "bad name!", "topic_id": None,
     "is_internal": False, "partitions": []},
    {"error_code": ErrorCode.topic_authorization_failed, "name": "secret", "topic_id": uuid.UUID(int=0),
     "is_internal": False, "partitions": [], "topic_authorized_operations": NOT_REQUESTED},
]  # fmt: skip
BY_ID_ERROR = {"error_code": ErrorCode.unknown_topic_id, "name": None, "topic_id": uuid.uuid4(),
               "is_internal": False, "partitions": []}  # fmt: skip


def _response(topics: list, **overrides: object) -> dict:
    data = {
        "throttle_time": 0,
        "brokers": [
            {"node_id": 1, "host": "localhost", "port": 9092, "rack": None},
            {"node_id": 2, "host": "broker-2.example", "port": 19092, "rack": "rack-b"},
        ],
        "cluster_id": "MkU3OEVBNTcwNTJENDM2Qg",
        "controller_id": 1,
        "topics": topics,
        "cluster_authorized_operations": NOT_REQUESTED,
    }
    data.update(overrides)
    return data


def _kio(version: int, correlation_id: int, data: dict) -> bytes:
    plain = dict(data, topics=[dict(t) for t in data["topics"]])
    return encode_response(build(response_class(3, version), plain), correlation_id)


def _ours(version: int, correlation_id: int, data: dict) -> bytes:
    chunks = encode_metadata_response(version, correlation_id, data)
    assert chunks is not None
    return b"".join(bytes(c) for c in chunks)


CASES = {
    "plain dicts": lambda: _response(TOPICS + ERRORS),
    "fragments": lambda: _response([TopicFragment(t, None) for t in TOPICS] + ERRORS),
    "all topics, joined": lambda: _response(FragmentList(TopicFragment(t, None) for t in TOPICS)),
    "no topics, no brokers' rack, cluster operations": lambda: _response(
        [],
        cluster_authorized_operations=0b10110,
        brokers=[{"node_id": 3, "host": "h", "port": 1, "rack": None}],
    ),
    "throttled, no controller": lambda: _response(TOPICS[:1], throttle_time=250, controller_id=-1),
    "many topics (a two-byte compact array length)": lambda: _response(
        FragmentList(TopicFragment(_topic(f"t{i}", [_partition(0)]), None) for i in range(300))
    ),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_cached_encoding_equals_kio(version: int, case: str) -> None:
    data = CASES[case]()
    assert _ours(version, 0x12345678, data) == _kio(version, 0x12345678, data)
    # a second response from the same cached fragments and head is the same again
    assert _ours(version, 7, data) == _kio(version, 7, data)


def test_topic_id_lookup_error_with_null_name() -> None:
    version = 12  # topics looked up by id, answered with a null name, from v12
    data = _response([BY_ID_ERROR, TopicFragment(TOPICS[0], None)])
    assert _ours(version, 1, data) == _kio(version, 1, data)


def test_a_fragment_is_read_only() -> None:
    fragment = TopicFragment(TOPICS[0], None)
    with pytest.raises(TypeError):
        fragment["topic_authorized_operations"] = 0
    copy = dict(fragment)
    copy["topic_authorized_operations"] = 0b1000  # the authorizer's way: a private copy
    assert fragment["topic_authorized_operations"] == NOT_REQUESTED


class _FakeBroker:
    """The few broker attributes the cache reads, as a unit test's stand-in."""

    def __init__(self) -> None:
        self.image = object()
        self.catalog = SimpleNamespace(topics={})
        self.views: dict[tuple[str, int], SimpleNamespace] = {}

    def add(self, name: str, partitions: int) -> None:
        self.catalog.topics[name] = TopicRecord(name, uuid.uuid4(), [[1]] * partitions, {}, False)
        for i in range(partitions):
            self.views[(name, i)] = SimpleNamespace(
                leader=1, leader_epoch=0, replicas=[1], isr=[1], offline=[]
            )

    def topic(self, name: str) -> TopicRecord | None:
        return self.catalog.topics.get(name)

    def partition_view(self, name: str, index: int) -> SimpleNamespace | None:
        return self.views.get((name, index))


def test_a_delta_drops_only_the_topics_it_changed() -> None:
    broker = _FakeBroker()
    broker.add("a", 1)
    broker.add("b", 2)
    cache = MetadataResponseCache(broker)  # type: ignore[arg-type]
    first = cache.all_topics()
    assert [t["name"] for t in first] == ["a", "b"]
    assert cache.all_topics() is first  # unchanged: the same list and its joined bytes
    a, b = cache.topic("a"), cache.topic("b")

    broker.views[("b", 1)].leader, broker.views[("b", 1)].leader_epoch = 2, 1  # leader change
    cache.invalidate(MetadataDelta(partitions={("b", 1)}))
    assert cache.topic("a") is a
    assert cache.topic("b") is not b and cache.topic("b")["partitions"][1]["leader_id"] == 2
    assert cache.all_topics()[1]["partitions"][1]["leader_epoch"] == 1

    broker.add("c", 1)  # a new topic
    cache.invalidate(MetadataDelta(partitions={("c", 0)}))
    assert [t["name"] for t in cache.all_topics()] == ["a", "b", "c"]

    removed = SimpleNamespace(name="a")
    del broker.catalog.topics["a"]  # a deletion
    cache.invalidate(MetadataDelta(removed=[removed]))  # type: ignore[list-item]
    assert [t["name"] for t in cache.all_topics()] == ["b", "c"]
    assert cache.topic("a") is None

    c = cache.topic("c")
    broker.views[("c", 0)].offline = [1]  # a broker fenced: every topic's offline replicas may change
    cache.invalidate(MetadataDelta(brokers=True))
    assert cache.topic("c") is not c and cache.topic("c")["partitions"][0]["offline_replicas"] == [1]


def test_a_recreated_topic_is_never_answered_from_its_predecessor() -> None:
    broker = _FakeBroker()
    broker.add("t", 1)
    cache = MetadataResponseCache(broker)  # type: ignore[arg-type]
    old = cache.topic("t")
    broker.add("t", 3)  # another record under the same name, even before any delta is applied
    new = cache.topic("t")
    assert new is not old and len(new["partitions"]) == 3 and new["topic_id"] != old["topic_id"]
