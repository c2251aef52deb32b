"""Kafka Streams' internal topic names for a Quix Streams application.

Kafka Streams names a state store's changelog ``<application.id>-<store>-changelog`` and a
repartition topic ``<application.id>-<name>-repartition``; Quix Streams' own scheme is
``changelog__<group>--<topic>--<store>``. This topic manager gives Quix's internal topics Kafka
Streams' names, so ``kafka-topics --list`` after WordCountDemo shows what the Kafka docs show.
"""

from __future__ import annotations

from typing import Literal

from quixstreams.models.topics import TopicManager


class KafkaStreamsTopicManager(TopicManager):
    """``store_names`` maps Quix store names (``default``) to the Kafka Streams store name."""

    def __init__(self, *args: object, store_names: dict[str, str] | None = None, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.store_names = store_names or {}

    def _internal_name(
        self,
        topic_type: Literal["changelog", "repartition"],
        topic_name: str | None,
        suffix: str,
    ) -> str:
        name = self.store_names.get(suffix, suffix)
        return f"{self._consumer_group}-{name}-{topic_type}"
