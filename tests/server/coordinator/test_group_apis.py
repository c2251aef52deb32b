"""Every version of every group API handler builds and encodes a valid kio response.

The handlers return plain dicts for all versions at once; this walks each advertised version with
a request shaped like that version's (only the fields it has), then encodes the response with
kio, so a field that is non-nullable in an old version or missing in a new one fails here rather
than in a client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from kcli.protocol.messages import build, request_class, response_class
from kcli.server.apis import consumer_groups as _consumer_groups  # noqa: F401
from kcli.server.apis import group_offsets as _group_offsets  # noqa: F401
from kcli.server.apis import groups as _groups  # noqa: F401  (registers the handlers)
from kcli.server.apis.registry import APIS, RequestContext
from kcli.server.base.consumer_group_config import ConsumerGroupConfig
from kcli.server.coordinator.consumer_coordinator import ConsumerGroupCoordinator
from kcli.server.coordinator.consumer_group_records import TopicMetadata
from kcli.server.coordinator.group_coordinator import GroupCoordinator
from kcli.server.coordinator.group_requests import Settings
from kcli.server.coordinator.store import MemoryStore
from kcli.server.protocol.codec import RequestHeader, encode_response

TOPIC_ID = uuid.uuid4()


class FakeTopics:
    """One topic "t" of two partitions, for the consumer group coordinator."""

    def metadata(self, name: str) -> TopicMetadata | None:
        return TopicMetadata(TOPIC_ID, "t", 2) if name == "t" else None

    def name_of(self, topic_id: uuid.UUID) -> str | None:
        return "t" if topic_id == TOPIC_ID else None

    def names(self) -> list[str]:
        return ["t"]

    def version(self) -> int:
        return 0


class FakeBroker:
    """Just what the group handlers ask a broker for."""

    def __init__(self) -> None:
        self.coordinator = GroupCoordinator(
            None, MemoryStore(), Settings(initial_rebalance_delay_ms=0, min_session_timeout_ms=10)
        )
        record = SimpleNamespace(name="t", topic_id=TOPIC_ID, partitions=2)
        self.topics_by_id = {TOPIC_ID: record}
        self._record = record
        self.coordinator.consumer = ConsumerGroupCoordinator(
            self.coordinator, ConsumerGroupConfig(), FakeTopics()
        )

    def live_brokers(self, listener: str | None = None) -> list[Any]:
        return [SimpleNamespace(node_id=0, host="127.0.0.1", port=9092)]

    def topic(self, name: str) -> Any:
        return self._record if name == "t" else None

    def partition(self, topic: str, index: int) -> Any:
        return object() if topic == "t" and index < 2 else None


def request_for(api_key: int, version: int, values: dict[str, Any]) -> Any:
    """A namespace with only the fields this version's request class has (others absent)."""
    fields = {f.name for f in dataclasses.fields(request_class(api_key, version))}
    return SimpleNamespace(**{k: v for k, v in values.items() if k in fields})


def protocols() -> list[Any]:
    return [SimpleNamespace(name="range", metadata=b"\x00\x01")]


def requests(api_key: int) -> list[dict[str, Any]]:
    """A few representative requests per API (field names are kio's, all versions merged)."""
    topic = SimpleNamespace(
        name="t",
        topic_id=TOPIC_ID,
        partitions=[
            SimpleNamespace(
                partition_index=0, committed_offset=5, committed_leader_epoch=-1, committed_metadata=None
            )
        ],
        partition_indexes=[0, 1],
    )
    join = {
        "group_id": "g",
        "session_timeout": 10_000,
        "rebalance_timeout": 10_000,
        "member_id": "",
        "group_instance_id": None,
        "protocol_type": "consumer",
        "protocols": protocols(),
        "reason": None,
    }
    return {
        10: [
            {"key": "g", "key_type": 0, "coordinator_keys": ["g", "h"]},
            {"key": "txn", "key_type": 1, "coordinator_keys": ["txn"]},
        ],
        11: [join, {**join, "member_id": "unknown"}],
        14: [
            {
                "group_id": "g",
                "generation_id": 1,
                "member_id": "m",
                "group_instance_id": None,
                "protocol_type": "consumer",
                "protocol_name": "range",
                "assignments": [],
            }
        ],
        12: [{"group_id": "g", "generation_id": 1, "member_id": "m", "group_instance_id": None}],
        13: [
            {
                "group_id": "g",
                "member_id": "m",
                "members": [SimpleNamespace(member_id="m", group_instance_id=None, reason=None)],
            }
        ],
        16: [{"states_filter": ["Empty"], "types_filter": []}],
        15: [{"groups": ["g", "missing"], "include_authorized_operations": False}],
        42: [{"groups_names": ["g", "missing"]}],
        8: [
            {
                "group_id": "g",
                "generation_id_or_member_epoch": -1,
                "member_id": "",
                "group_instance_id": None,
                "retention_time": -1,
                "topics": [topic],
            }
        ],
        9: [
            {
                "group_id": "g",
                "topics": [topic],
                "require_stable": False,
                "groups": [
                    SimpleNamespace(group_id="g", member_id=None, member_epoch=-1, topics=[topic]),
                    SimpleNamespace(group_id="none", member_id=None, member_epoch=-1, topics=None),
                ],
            },
            {
                "group_id": "g",
                "topics": None,
                "require_stable": False,
                "groups": [SimpleNamespace(group_id="g", member_id=None, member_epoch=-1, topics=None)],
            },
        ],
        47: [
            {
                "group_id": "g",
                "topics": [SimpleNamespace(name="t", partitions=[SimpleNamespace(partition_index=0)])],
            }
        ],
        68: [
            {
                "group_id": "g848",
                "member_id": "m-1",
                "member_epoch": 0,
                "instance_id": None,
                "rack_id": None,
                "rebalance_timeout": 30_000,
                "subscribed_topic_names": ["t"],
                "subscribed_topic_regex": None,
                "server_assignor": None,
                "topic_partitions": [],
            },
            {  # an unknown member: an error answer
                "group_id": "g848",
                "member_id": "m-2",
                "member_epoch": 3,
                "instance_id": None,
                "rack_id": None,
                "rebalance_timeout": -1,
                "subscribed_topic_names": None,
                "subscribed_topic_regex": None,
                "server_assignor": None,
                "topic_partitions": None,
            },
        ],
        69: [{"group_ids": ["g848", "missing", ""], "include_authorized_operations": False}],
    }[api_key]


CASES = [
    (key, version, index)
    for key in (10, 11, 14, 12, 13, 16, 15, 42, 8, 9, 47, 68, 69)
    for version in range(APIS[key].min_version, APIS[key].max_version + 1)
    for index in range(len(requests(key)))
]


@pytest.mark.parametrize(("api_key", "version", "index"), CASES)
def test_every_version_encodes(api_key: int, version: int, index: int) -> None:
    async def main() -> bytes:
        broker = FakeBroker()
        header = RequestHeader(api_key, version, 7, "client")
        ctx = RequestContext(broker, header, "127.0.0.1", 5555, "c1")  # type: ignore[arg-type]
        request = request_for(api_key, version, requests(api_key)[index])
        if api_key == 69:  # describe a group that has a member
            join = request_for(68, 1, requests(68)[0])
            await APIS[68].handler(RequestContext(broker, RequestHeader(68, 1, 6, "c"), "h", 1, "c0"), join)  # type: ignore[arg-type]
        result = await APIS[api_key].handler(ctx, request)
        body = build(response_class(api_key, version), result)
        await broker.coordinator.consumer.close()
        await broker.coordinator.close()
        return encode_response(body, 7)

    frame = asyncio.run(main())
    assert len(frame) > 8
    assert int.from_bytes(frame[4:8], "big") == 7  # the correlation id


def test_advertised_ranges_are_the_ones_kio_has() -> None:
    assert {
        k: (APIS[k].min_version, APIS[k].max_version)
        for k in (10, 11, 14, 12, 13, 16, 15, 42, 8, 9, 47, 68, 69)
    } == {
        10: (0, 6),
        11: (0, 9),
        14: (0, 5),
        12: (0, 4),
        13: (0, 5),
        16: (0, 5),
        15: (0, 6),
        42: (0, 2),
        8: (2, 10),
        9: (1, 10),
        47: (0, 0),
        68: (0, 1),  # ConsumerGroupHeartbeat (KIP-848)
        69: (0, 1),  # ConsumerGroupDescribe
    }
