"""Topic operations for ``confluent kafka topic`` and ``confluent local kafka topic``: list,
describe, create, update, delete, with the Confluent CLI's messages and tables.

They are Kafka admin requests (confluent-kafka's AdminClient) against the bootstrap server the
command resolved, so they work against any cluster.
"""

from __future__ import annotations

from typing import Any

from kcli.confluent import output
from kcli.confluent.errors import CLIError
from kcli.confluent.output import Field

TIMEOUT_S = 15.0


def admin(conf: dict[str, Any]) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(conf)


def _wait(future: Any) -> Any:
    import concurrent.futures

    from confluent_kafka import KafkaException

    try:
        return future.result(timeout=TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        raise CLIError(f"timed out after {TIMEOUT_S:g}s waiting for the Kafka cluster") from None
    except KafkaException as exc:
        raise CLIError(exc.args[0].str() if exc.args else str(exc)) from None


def metadata(client: Any, topic: str | None = None) -> Any:
    from confluent_kafka import KafkaException

    try:
        return client.list_topics(topic=topic, timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise CLIError(f"failed to obtain topics from client: {exc.args[0].str()}") from None


def topic_out(name: str, topic: Any) -> list[Field]:
    partitions = topic.partitions
    first = partitions[min(partitions)] if partitions else None
    return [
        Field("Name", "name", name),
        Field("Internal", "is_internal", name.startswith("__")),
        Field("Replication Factor", "replication_factor", len(first.replicas) if first else 0),
        Field("Partition Count", "partition_count", len(partitions)),
    ]


def not_found(name: str) -> CLIError:
    return CLIError(
        f'topic "{name}" does not exist',
        "To list topics for the cluster, use `confluent kafka topic list`.",
    )


def list_topics(client: Any, fmt: str) -> None:
    found = metadata(client)
    output.print_list([[Field("Name", "name", name)] for name in found.topics], fmt)


def describe(client: Any, name: str, fmt: str) -> None:
    found = metadata(client).topics.get(name)
    if found is None or found.error is not None:
        raise not_found(name)
    partitions = [
        [
            Field("Partition", "partition", p.id),
            Field("Leader", "leader", p.leader),
            Field("Replicas", "replicas", list(p.replicas)),
            Field("ISR", "isr", list(p.isrs)),
        ]
        for p in (found.partitions[i] for i in sorted(found.partitions))
    ]
    if fmt != "human":
        import json

        body = {f.serialized: f.value for f in topic_out(name, found)}
        body["partitions"] = [{f.serialized: f.value for f in row} for row in partitions]
        text = json.dumps(body, indent=2) + "\n" if fmt == "json" else output._dump(body, "yaml")
        print(text, end="")
        return
    output.print_table(topic_out(name, found))
    print()
    output.print_list(partitions, sort=False)


def parse_configs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f'failed to parse "{item}" as key=value pair')
        out[key.strip()] = value.strip()
    return out


def create(
    client: Any,
    name: str,
    partitions: int | None,
    replication: int | None,
    configs: dict[str, str],
    if_not_exists: bool,
) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    new = NewTopic(
        name,
        num_partitions=partitions if partitions is not None else -1,
        replication_factor=replication if replication is not None else -1,
        config=configs,
    )
    future = client.create_topics([new], request_timeout=TIMEOUT_S)[name]
    try:
        future.result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        err = exc.args[0]
        if err.name() == "TOPIC_ALREADY_EXISTS":
            if if_not_exists:
                return
            raise CLIError(
                f'topic "{name}" already exists for the Kafka cluster',
                "To list topics for the cluster, use `confluent kafka topic list`.",
            ) from None
        raise CLIError(err.str()) from None
    print(f'Created topic "{name}".')


def update(client: Any, name: str, configs: dict[str, str], fmt: str) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    if name not in metadata(client).topics:
        raise not_found(name)
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
    try:
        client.incremental_alter_configs([resource])[resource].result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise CLIError(exc.args[0].str()) from None
    if fmt == "human":
        print(f'Updated the following configuration values for topic "{name}":')
    rows = [
        [Field("Name", "name", k), Field("Value", "value", v), Field("Read-Only", "read_only", False)]
        for k, v in configs.items()
    ]
    output.print_list(rows, fmt)


def delete(client: Any, name: str, force: bool) -> None:
    import sys

    if name not in metadata(client).topics:
        raise not_found(name)
    if not force:
        sys.stderr.write(f'Are you sure you want to delete topic "{name}"? (y/n): ')
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise CLIError(f'topic "{name}" was not deleted', "Pass --force to delete without a prompt.")
    _wait(client.delete_topics([name], request_timeout=TIMEOUT_S)[name])
    print(f'Deleted topic "{name}".')
