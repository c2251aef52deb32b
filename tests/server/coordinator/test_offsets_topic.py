"""Creation of ``__consumer_offsets`` on first use, as Kafka creates it."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from kcli.server.coordinator.store import OFFSETS_TOPIC, OffsetsTopicStore


class RecordingBroker:
    def __init__(self, replication_factor: int, partitions: int = 50, live: int = 1):
        self.config = SimpleNamespace(
            offsets_topic_replication_factor=replication_factor, offsets_topic_num_partitions=partitions
        )
        self.live = live
        self.created: list[dict[str, Any]] = []
        self.topics: dict[str, Any] = {}

    def live_brokers(self, listener: str | None = None) -> list[Any]:
        return [SimpleNamespace(node_id=i) for i in range(self.live)]

    def topic(self, name: str) -> Any:
        return self.topics.get(name)

    async def create_topic(self, name: str, **kwargs: Any) -> Any:
        self.created.append({"name": name, **kwargs})
        record = SimpleNamespace(name=name, partitions=kwargs["num_partitions"])
        self.topics[name] = record
        return record


def test_created_once_compacted_internal_with_configured_partitions() -> None:
    broker = RecordingBroker(replication_factor=1, partitions=50)
    store = OffsetsTopicStore(broker)  # type: ignore[arg-type]
    assert store.partition_count() == 50
    assert asyncio.run(store.ensure()) and asyncio.run(store.ensure())
    (created,) = broker.created
    assert created["name"] == OFFSETS_TOPIC
    assert created["num_partitions"] == 50
    assert created["replication_factor"] == 1
    assert created["internal"] is True
    assert created["configs"]["cleanup.policy"] == "compact"


def test_replication_factor_is_reduced_to_live_brokers_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RecordingBroker(replication_factor=3, partitions=5, live=1)
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(OffsetsTopicStore(broker).ensure())  # type: ignore[arg-type]
    assert broker.created[0]["replication_factor"] == 1
    assert any("offsets.topic.replication.factor=3" in r.getMessage() for r in caplog.records)
