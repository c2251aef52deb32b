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
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-topics"
ACTIONS = ("create", "list", "describe", "delete", "alter")
ERROR_PREFIX = "Error while executing topic command : "
#: ConfigEntry source code of a value that nobody set (Kafka's ``ConfigSource.DEFAULT_CONFIG``).
DEFAULT_CONFIG_SOURCE = 5


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, "This tool helps to create, delete, describe, or change a topic.")
    p.add_argument(
        "--bootstrap-server", metavar="server to connect to", help="REQUIRED: The Kafka server to connect to."
    )
    p.add_argument(
        "--zookeeper", metavar="hosts", help="DEPRECATED (removed in Kafka 3.0): resolved to its brokers."
    )
    p.add_argument(
        "--command-config", metavar="command config property file", help="Admin client properties file."
    )
    for action, text in (
        ("list", "List all available topics."),
        ("create", "Create a new topic."),
        ("delete", "Delete a topic."),
        ("alter", "Alter the number of partitions and replica assignment."),
        ("describe", "List details for the given topics."),
    ):
        p.add_argument(f"--{action}", action="store_true", help=text)
    p.add_argument(
        "--topic",
        metavar="topic",
        help="The topic to create, alter, describe or delete (a regex except for --create).",
    )
    p.add_argument("--topic-id", metavar="topic-id", help="The topic-id to describe.")
    p.add_argument(
        "--config",
        action="append",
        metavar="name=value",
        help="A topic configuration override (with --create).",
    )
    p.add_argument(
        "--delete-config", action="append", metavar="name", help="No longer supported (Kafka 4.0)."
    )
    p.add_argument(
        "--partitions", type=int, metavar="# of partitions", help="Number of partitions (create or alter)."
    )
    p.add_argument(
        "--replication-factor", type=int, metavar="replication factor", help="Replication factor (create)."
    )
    p.add_argument(
        "--replica-assignment",
        metavar="broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , ...",
        help="Manual partition-to-broker assignments.",
    )
    p.add_argument(
        "--under-replicated-partitions", action="store_true", help="Only show under-replicated partitions."
    )
    p.add_argument(
        "--unavailable-partitions",
        action="store_true",
        help="Only show partitions whose leader is not available.",
    )
    p.add_argument(
        "--under-min-isr-partitions",
        action="store_true",
        help="Only show partitions with ISR below the minimum.",
    )
    p.add_argument(
        "--at-min-isr-partitions", action="store_true", help="Only show partitions with ISR at the minimum."
    )
    p.add_argument(
        "--topics-with-overrides", action="store_true", help="Only show topics that have overridden configs."
    )
    p.add_argument(
        "--if-exists", action="store_true", help="Only act if the topic exists (alter, delete, describe)."
    )
    p.add_argument("--if-not-exists", action="store_true", help="Only create the topic if it does not exist.")
    p.add_argument(
        "--exclude-internal", action="store_true", help="Exclude internal topics when listing or describing."
    )
    p.add_argument(
        "--partition-size-limit-per-response", type=int, metavar="Integer", help="Accepted for compatibility."
    )
    cli.add_explain(p)
    return p


def parse_replica_assignment(text: str) -> list[list[int]]:
    """``0:1,1:2`` -> [[0, 1], [1, 2]] with Kafka's checks (no duplicates, same replication factor)."""
    result: list[list[int]] = []
    for index, part in enumerate(text.split(",")):
        try:
            brokers = [int(b.strip()) for b in part.split(":")]
        except ValueError:
            raise UsageError(f"Invalid replica assignment '{text}': broker ids must be integers") from None
        duplicates = sorted({b for b in brokers if brokers.count(b) > 1})
        if duplicates:
            raise ToolError(
                "Partition replica lists may not contain duplicate entries: " + ",".join(map(str, duplicates))
            )
        if result and len(brokers) != len(result[0]):
            raise ToolError(
                f"Partition {index} has different replication factor: [{', '.join(map(str, brokers))}]"
            )
        result.append(brokers)
    return result


def parse_topic_configs(items: list[str] | None) -> dict[str, str]:
    """``--config k=v`` items; each must be exactly one ``key=val`` (Kafka splits on ``\\s*=\\s*``)."""
    import re

    configs: dict[str, str] = {}
    for item in items or ():
        pieces = re.split(r"\s*=\s*", item)
        if len(pieces) != 2:
            raise ToolError(
                'requirement failed: Invalid topic config: all configs to be added must be in the format "key=val".'
            )
        configs[pieces[0].strip()] = pieces[1].strip()
    return configs


def check_args(args: argparse.Namespace) -> str:
    """Kafka's option checks; returns the action."""
    actions = [a for a in ACTIONS if getattr(args, a)]
    if len(actions) != 1:
        raise UsageError(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
        )
    action = actions[0]
    if args.delete_config and not args.zookeeper:
        print(
            "delete-config option is no longer supported and deprecated since version 4.0. "
            "The config will be fully removed in future releases.",
            file=sys.stderr,
        )
    if not args.bootstrap_server and not args.zookeeper:
        raise UsageError("--bootstrap-server must be specified")
    if action not in ("list", "describe") and not args.topic:
        raise UsageError('Missing required argument "topic"')
    if action == "alter" and args.zookeeper and not args.bootstrap_server:
        # Kafka 2.x's ZooKeeper path: configs and partitions may be altered together
        if args.partitions is None and not args.config and not args.delete_config:
            raise UsageError('Missing required argument "partitions"')
    elif action == "alter":
        if args.config:
            raise UsageError(
                'Option combination "[bootstrap-server, config]" can\'t be used with option "alter" '
                "(To alter topic configurations, the kafka-configs tool can be used.)"
            )
        if args.partitions is None:
            raise UsageError('Missing required argument "partitions"')

    def invalid(option: str, allowed: tuple[str, ...], extra: tuple[str, ...] = ()) -> None:
        if not _given(args, option):
            return
        for other in [a for a in ACTIONS if a not in allowed] + list(extra):
            if _given(args, other):
                raise UsageError(f'Option "{_opt(option)}" can\'t be used with option "{_opt(other)}"')

    invalid("config", ("alter", "create"))
    invalid("partitions", ("alter", "create"))
    invalid("replication_factor", ("create",))
    invalid("replica_assignment", ("alter", "create"))
    if args.create and args.replica_assignment:
        for other in ("partitions", "replication_factor"):
            if _given(args, other):
                raise UsageError(
                    f'Option "replica-assignment" can\'t be used with option "{other.replace("_", "-")}"'
                )
    reports = (
        "under_replicated_partitions",
        "under_min_isr_partitions",
        "at_min_isr_partitions",
        "unavailable_partitions",
    )
    for report in reports:
        invalid(report, ("describe",), ("topics_with_overrides",))
    invalid("topics_with_overrides", ("describe",), reports)
    invalid("if_exists", ("alter", "delete", "describe"))
    invalid("if_not_exists", ("create",))
    invalid("exclude_internal", ("list", "describe"))
    return action


def _opt(dest: str) -> str:
    return dest.replace("_", "-")


def _given(args: argparse.Namespace, dest: str) -> bool:
    value = getattr(args, dest)
    return value not in (None, False, [])


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


def overridden_configs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Entries whose source is not DEFAULT_CONFIG, in the broker's order (``ConfigEntry.isDefault``)."""
    out = []
    for name, entry in config.items():
        source = getattr(entry.source, "value", entry.source)
        if source == DEFAULT_CONFIG_SOURCE:
            continue
        out.append((name, "null" if entry.value is None else entry.value))
    return out


def topic_id_text(uuid: Any) -> str | None:
    """Kafka's ``Uuid.toString``: URL-safe base64 of the 16 bytes without padding; None for the
    all-zero id (which TopicCommand omits). librdkafka's own text uses the standard alphabet."""
    import base64

    if uuid is None:
        return None
    try:
        high = uuid.get_most_significant_bits() & (2**64 - 1)
        low = uuid.get_least_significant_bits() & (2**64 - 1)
    except AttributeError:
        return str(uuid).replace("+", "-").replace("/", "_").rstrip("=")
    if high == 0 and low == 0:
        return None
    raw = high.to_bytes(8, "big") + low.to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _ids(nodes: Any) -> str:
    return ",".join(str(n.id) for n in nodes)


def _elr_text(ids: Any) -> str:
    """Kafka 4.x: the ids joined by commas (an empty list prints nothing), N/A when unknown."""
    return "N/A" if ids is None else ",".join(str(int(i)) for i in ids)


def print_description(
    args: argparse.Namespace,
    desc: Any,
    config: dict[str, Any],
    live: set[int] | None,
    out: Any,
    elr: dict[int, tuple[Any, Any]] | None = None,
) -> None:
    """One topic in TopicCommand's format, with the report filters applied."""
    reports = (
        args.under_replicated_partitions
        or args.unavailable_partitions
        or args.under_min_isr_partitions
        or args.at_min_isr_partitions
    )
    overrides = overridden_configs(config)
    partitions = sorted(desc.partitions, key=lambda p: p.id)
    if not reports and (not args.topics_with_overrides or overrides):
        line = f"Topic: {desc.name}"
        topic_id = topic_id_text(getattr(desc, "topic_id", None))
        if topic_id:
            line += f"\tTopicId: {topic_id}"
        replication = len(partitions[0].replicas) if partitions else 0
        line += f"\tPartitionCount: {len(partitions)}\tReplicationFactor: {replication}"
        line += "\tConfigs: " + ",".join(f"{k}={v}" for k, v in overrides)
        print(line, file=out)
    if args.topics_with_overrides:
        return
    min_isr_entry = config.get("min.insync.replicas")
    min_isr = int(min_isr_entry.value) if min_isr_entry is not None and min_isr_entry.value else 1
    for part in partitions:
        isr = len(part.isr)
        if reports:
            show = (
                (args.under_replicated_partitions and len(part.replicas) - isr > 0)
                or (
                    args.unavailable_partitions
                    and (part.leader is None or (live is not None and part.leader.id not in live))
                )
                or (args.under_min_isr_partitions and (part.leader is None or isr < min_isr))
                or (args.at_min_isr_partitions and isr == min_isr)
            )
            if not show:
                continue
        leader = "none" if part.leader is None or part.leader.id < 0 else str(part.leader.id)
        eligible, last_known = (elr or {}).get(part.id, (None, None))
        print(
            f"\tTopic: {desc.name}\tPartition: {part.id}\tLeader: {leader}\tReplicas: {_ids(part.replicas)}"
            f"\tIsr: {_ids(part.isr)}\tElr: {_elr_text(eligible)}\tLastKnownElr: {_elr_text(last_known)}",
            file=out,
        )


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
            from kcli.tools.explain import explain_topics

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
