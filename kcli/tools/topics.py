"""kafka-topics: create, list, describe, alter and delete topics.

Options, checks, output and error texts follow Kafka's TopicCommand (see
``reference/cli-tools.md``). ``--zookeeper HOST:PORT`` (removed in Kafka 3.0, in every older
lecture) is resolved to the brokers registered in that ZooKeeper, and with it ``--alter`` behaves
as in Kafka 2.x, where it could still change topic configs (``--config``/``--delete-config``,
with 2.x's deprecation warning and ``Updated config for topic T.``) and printed 2.x's lines for
``--partitions``. Imports are lazy: ``--list`` must stay fast.

``Elr``/``LastKnownElr`` are printed as Kafka 4.x's TopicCommand prints them: from the
DescribeTopicPartitions API (KIP-966) when the cluster serves it (the ids, possibly none), and
``N/A`` when it does not (Java's admin client then falls back to Metadata, which has no ELR).
librdkafka has no such call, so kcli sends it itself, encoded by kio, on PLAINTEXT listeners; a
secured listener prints ``N/A``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, UsageError
from kcli.tools.topic_description import print_description, topic_id_text
from kcli.tools.topic_options import (
    build_parser,
    check_args,
    parse_replica_assignment,
    parse_topic_configs,
)

ERROR_PREFIX = "Error while executing topic command : "


DESCRIBE_TOPIC_PARTITIONS = 75


class TopicService:
    """The five actions against one AdminClient."""

    def __init__(self, admin: Any, plaintext: bool = True):
        self.admin = admin
        self.plaintext = plaintext

    def topics(self, raw_filter: str | None, exclude_internal: bool) -> list[str]:
        from kcli.tools.admin import list_topic_metadata, matching_topics

        metadata = list_topic_metadata(self.admin)
        return matching_topics(list(metadata.topics), raw_filter, exclude_internal)

    def create(self, args: argparse.Namespace) -> None:
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        from kcli.client import kafka_error_text

        name = args.topic
        configs = parse_topic_configs(args.config)
        if args.replication_factor is not None and not 1 <= args.replication_factor <= 32767:
            raise ToolError("The replication factor must be between 1 and 32767 inclusive")
        if args.partitions is not None and args.partitions < 1:
            raise ToolError("The partitions must be greater than 0")
        if "." in name or "_" in name:
            print(
                "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') "
                "could collide. To avoid issues it is best to use either, but not both.",
                file=sys.stderr,
            )
        if args.replica_assignment:
            assignment = parse_replica_assignment(args.replica_assignment)
            # librdkafka wants the partition count spelled out next to an explicit assignment
            new = NewTopic(
                name, num_partitions=len(assignment), replica_assignment=assignment, config=configs
            )
        else:
            new = NewTopic(
                name,
                num_partitions=args.partitions if args.partitions is not None else -1,
                replication_factor=args.replication_factor if args.replication_factor is not None else -1,
                config=configs,
            )
        future = self.admin.create_topics([new], operation_timeout=30, request_timeout=30)[name]
        try:
            future.result(timeout=60)
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                if args.if_not_exists:
                    return
                raise ToolError(f"Topic '{name}' already exists.") from None
            raise ToolError(kafka_error_text(exc)) from None
        print(f"Created topic {name}.")

    def list(self, args: argparse.Namespace) -> None:
        print("\n".join(self.topics(args.topic, args.exclude_internal)))

    def _existing(self, args: argparse.Namespace) -> list[str]:
        topics = self.topics(args.topic, args.exclude_internal)
        if args.topic and not topics and not args.if_exists:
            raise ToolError(f"Topic '{args.topic}' does not exist as expected")
        return topics

    def delete(self, args: argparse.Namespace) -> None:
        from kcli.tools.admin import future_result

        topics = self._existing(args)
        if not topics:
            return
        futures = self.admin.delete_topics(topics, operation_timeout=30, request_timeout=30)
        for topic in topics:
            future_result(futures[topic])

    def alter_zookeeper_style(self, args: argparse.Namespace, topics: list[str]) -> None:
        """Kafka 2.x's ``--zookeeper ... --alter``: configs, then partitions, with 2.x's lines."""
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            NewPartitions,
            ResourceType,
        )

        from kcli.tools.admin import INTERNAL_TOPICS, future_result

        configs = parse_topic_configs(args.config)
        deletes = [k.strip() for item in args.delete_config or () for k in item.split(",") if k.strip()]
        for topic in topics:
            if configs or deletes:
                print(
                    "WARNING: Altering topic configuration from this script has been deprecated and may be "
                    "removed in future releases."
                )
                print("         Going forward, please use kafka-configs.sh for this functionality")
                resource = ConfigResource(ResourceType.TOPIC, topic)
                for key, value in configs.items():
                    resource.add_incremental_config(
                        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                    )
                for key in deletes:
                    resource.add_incremental_config(
                        ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE)
                    )
                futures = self.admin.incremental_alter_configs([resource], request_timeout=30)
                future_result(next(iter(futures.values())))
                print(f"Updated config for topic {topic}.")
            if args.partitions is not None:
                if topic in INTERNAL_TOPICS:
                    raise ToolError(
                        f"The number of partitions for the internal topic {topic} cannot be changed."
                    )
                print(
                    "WARNING: If partitions are increased for a topic that has a key, the partition logic or "
                    "ordering of the messages will be affected"
                )
                futures = self.admin.create_partitions(
                    [NewPartitions(topic, args.partitions)], operation_timeout=30, request_timeout=30
                )
                future_result(futures[topic])
                print("Adding partitions succeeded!")

    def alter(self, args: argparse.Namespace) -> None:
        from confluent_kafka.admin import NewPartitions

        from kcli.tools.admin import future_result

        topics = self._existing(args)
        if not topics:
            return
        if args.zookeeper and not args.bootstrap_server:
            self.alter_zookeeper_style(args, topics)
            return
        assignment = parse_replica_assignment(args.replica_assignment) if args.replica_assignment else None
        metadata = None
        requests = []
        for topic in topics:
            if assignment is not None:
                if metadata is None:
                    from kcli.tools.admin import list_topic_metadata

                    metadata = list_topic_metadata(self.admin)
                current = len(metadata.topics[topic].partitions)
                requests.append(NewPartitions(topic, args.partitions, assignment[current:]))
            else:
                requests.append(NewPartitions(topic, args.partitions))
        futures = self.admin.create_partitions(requests, operation_timeout=30, request_timeout=30)
        for topic in topics:
            future_result(futures[topic])

    def _by_topic_id(self, args: argparse.Namespace) -> list[str]:
        """The topic whose id is ``--topic-id`` (Kafka's URL-safe base64 text); the id wins over --topic."""
        from confluent_kafka import TopicCollection

        from kcli.tools.admin import future_result

        names = self.topics(None, args.exclude_internal)
        if names:
            futures = self.admin.describe_topics(TopicCollection(names), request_timeout=30)
            for name in names:
                if topic_id_text(getattr(future_result(futures[name]), "topic_id", None)) == args.topic_id:
                    return [name]
        if not args.if_exists:
            raise ToolError(f"TopicId '{args.topic_id}' does not exist as expected")
        return []

    def describe(self, args: argparse.Namespace) -> None:
        from confluent_kafka import TopicCollection
        from confluent_kafka.admin import ConfigResource, ResourceType

        from kcli.tools.admin import future_result

        topics = self._by_topic_id(args) if args.topic_id else self._existing(args)
        if not topics:
            return
        descriptions = self.admin.describe_topics(TopicCollection(topics), request_timeout=30)
        resources = [ConfigResource(ResourceType.TOPIC, t) for t in topics]
        config_futures = self.admin.describe_configs(resources, request_timeout=30)
        by_name = {r.name: f for r, f in config_futures.items()}
        live: set[int] | None = None
        if args.unavailable_partitions:
            cluster = future_result(self.admin.describe_cluster(request_timeout=30))
            live = {node.id for node in cluster.nodes}
        elr = self.eligible_leader_replicas(topics)
        for topic in topics:
            desc = future_result(descriptions[topic])
            config = future_result(by_name[topic])
            print_description(args, desc, config, live, sys.stdout, elr.get(topic, {}))

    def eligible_leader_replicas(self, topics: list[str]) -> dict[str, dict[int, tuple[Any, Any]]]:
        """{topic: {partition: (elr, last known elr)}} from DescribeTopicPartitions, or {} when the
        cluster does not serve it (or the listener is secured)."""
        from kcli.protocol.connection import BrokerConnection, WireError
        from kcli.tools.admin import list_topic_metadata

        if not self.plaintext:
            return {}
        brokers = list(list_topic_metadata(self.admin).brokers.values())
        if not brokers:
            return {}
        host, port = brokers[0].host, brokers[0].port
        try:
            with BrokerConnection(host, port, 10) as conn:
                if DESCRIBE_TOPIC_PARTITIONS not in conn.versions():
                    return {}
            found: dict[str, dict[int, tuple[Any, Any]]] = {}
            cursor = None
            while True:
                body = {
                    "topics": [{"name": t} for t in topics],
                    "response_partition_limit": 2000,
                    "cursor": cursor,
                }
                with BrokerConnection(host, port, 30) as conn:
                    response = conn.request(DESCRIBE_TOPIC_PARTITIONS, 0, body)
                for topic in response.topics:
                    for part in topic.partitions:
                        found.setdefault(topic.name, {})[int(part.partition_index)] = (
                            part.eligible_leader_replicas,
                            part.last_known_elr,
                        )
                if response.next_cursor is None:
                    return found
                cursor = {
                    "topic_name": response.next_cursor.topic_name,
                    "partition_index": response.next_cursor.partition_index,
                }
        except WireError:
            return {}


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    action = check_args(args)
    bootstrap = cli.resolve_bootstrap(parser, args)
    assert bootstrap is not None
    from kcli import client

    try:
        settings = client.client_settings(bootstrap, args.command_config, [], "admin")
        client.prepare(settings, "admin")
        plaintext = str(settings.conf.get("security.protocol", "PLAINTEXT")).upper() == "PLAINTEXT"
        service = TopicService(client.build("admin", settings.conf), plaintext)
        getattr(service, action)(args)
        if args.explain:
            from kcli.tools.explain_admin import explain_topics

            explain_topics(action, args, service.admin)
    except UsageError:
        raise
    except ToolError as exc:
        raise ToolError(ERROR_PREFIX + str(exc)) from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
