"""kafka-topics' options and their checks, as Kafka's TopicCommand.TopicCommandOptions defines them.

The command itself (the actions against the cluster) is :mod:`kcli.tools.topics`.
"""

from __future__ import annotations

import argparse
import sys

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-topics"


ACTIONS = ("create", "list", "describe", "delete", "alter")


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
