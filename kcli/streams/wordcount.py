"""``org.apache.kafka.streams.examples.wordcount.WordCountDemo`` (and the tutorial's ``myapps.WordCount``).

Reads ``streams-plaintext-input``, lower-cases each line and splits it on ``\\W+`` (Java's
``split``), re-keys by word through ``streams-wordcount-counts-store-repartition``, counts per word
in the state store ``counts-store`` (changelog ``streams-wordcount-counts-store-changelog``) and
writes every updated count to ``streams-wordcount-output`` with String keys and 8-byte Long values;
the demo's record cache is off (``statestore.cache.max.bytes=0``), so each update is emitted.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from kcli.streams.app import application, java_split, run_demo

INPUT_TOPIC = "streams-plaintext-input"
OUTPUT_TOPIC = "streams-wordcount-output"
STORE = "counts-store"
DEFAULTS = {"application.id": "streams-wordcount", "auto.offset.reset": "earliest"}
_NON_WORD = re.compile(r"\W+", re.ASCII)


def words(line: str | None) -> list[str]:
    return java_split((line or "").lower(), _NON_WORD)


def count(_word: str, state: Any) -> int:
    total = int(state.get("count", 0)) + 1
    state.set("count", total)
    return total


def build(props: dict[str, str]) -> Any:
    from quixstreams.models.topics import TopicConfig

    from kcli.streams.serdes import LongSerializer

    app = application(props, store_names={"default": STORE})
    source = app.topic(INPUT_TOPIC, key_deserializer="str", value_deserializer="str")
    partitions = source.broker_config.num_partitions or 1
    repartition = app.topic(
        f"{props['application.id']}-{STORE}-repartition",
        key_serializer="str",
        value_serializer="str",
        key_deserializer="str",
        value_deserializer="str",
        config=TopicConfig(
            num_partitions=partitions, replication_factor=1, extra_config={"cleanup.policy": "delete"}
        ),
    )
    output = app.topic(OUTPUT_TOPIC, key_serializer="str", value_serializer=LongSerializer())
    lines = app.dataframe(source)
    lines = lines.apply(words, expand=True)
    lines.to_topic(repartition, key=lambda word: word)  # groupBy((key, word) -> word)
    counts = app.dataframe(repartition)
    counts = counts.apply(count, stateful=True)  # .count(Materialized.as("counts-store")), keyed by word
    counts.to_topic(output)
    return app


def main(argv: list[str] | None = None) -> int:
    return run_demo("WordCountDemo", argv, DEFAULTS, build)


if __name__ == "__main__":
    sys.exit(main())
