"""The lecture's Spark job without Spark: average age and count of ``json_topic`` into ``avg_age``.

The slides read every record of ``json_topic`` (``{"id": 1, "firstname": "James", "lastname":
"Bond", "age": 35}``), compute ``avg("age") AS avg_age, count(*) AS count`` and write one record
with the count as key (``CAST(count AS STRING)``) and ``to_json(struct(*))`` as value, e.g. key
``3`` and value ``{"avg_age":29.333333333333332,"count":3}``. This script does the same with
confluent-kafka: read the topic from the beginning up to its current end, compute, produce, exit.

    python examples/avg_age.py [--bootstrap-server localhost:9092] [--input json_topic] [--output avg_age]
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid


def aggregate(values: list[bytes | None]) -> dict[str, float | int]:
    """Spark's ``avg(age)`` and ``count(*)``: every record counts; unparsable ones have no age.

    Like Spark's ``to_json``, a null average (no record had an age) is left out of the result.
    """
    ages: list[float] = []
    for value in values:
        try:
            record = json.loads(value) if value is not None else None
        except ValueError:
            record = None
        age = record.get("age") if isinstance(record, dict) else None
        if isinstance(age, (int, float)) and not isinstance(age, bool):
            ages.append(age)
    result: dict[str, float | int] = {}
    if ages:
        result["avg_age"] = sum(ages) / len(ages)
    result["count"] = len(values)
    return result


def read_all(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[bytes | None]:
    """Every value of ``topic`` from the earliest offset to the end it had when we started."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"avg-age-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s)
        meta = metadata.topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise SystemExit(f"Topic {topic} does not exist at {bootstrap}: produce to it first")
        ends: dict[int, int] = {}
        for partition in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
            if high > low:
                ends[partition] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        values: list[bytes | None] = []
        remaining = dict(ends)
        while remaining:
            message = consumer.poll(timeout_s)
            if message is None:
                raise SystemExit(f"Timed out reading {topic} after {len(values)} records")
            if message.error():
                raise KafkaException(message.error())
            partition, offset = message.partition(), message.offset()
            if partition in remaining and offset < remaining[partition]:
                values.append(message.value())
                if offset + 1 >= remaining[partition]:
                    del remaining[partition]
        return values
    finally:
        consumer.close()


def write_result(bootstrap: str, topic: str, result: dict[str, float | int]) -> None:
    """One record: key = the count as text, value = the result as compact JSON."""
    from confluent_kafka import KafkaException, Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    errors: list[str] = []
    producer.produce(
        topic,
        key=str(result["count"]).encode(),
        value=json.dumps(result, separators=(",", ":")).encode(),
        on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
    )
    if producer.flush(30) != 0 or errors:
        raise KafkaException(errors[0] if errors else "the record was not delivered within 30 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", default="localhost:9092")
    parser.add_argument("--input", default="json_topic")
    parser.add_argument("--output", default="avg_age")
    args = parser.parse_args(argv)
    values = read_all(args.bootstrap_server, args.input)
    result = aggregate(values)
    write_result(args.bootstrap_server, args.output, result)
    print(f"{result['count']}\t{json.dumps(result, separators=(',', ':'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
