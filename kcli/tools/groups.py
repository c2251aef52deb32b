"""kafka-groups: list the groups of every type (Kafka 4.0's GroupsCommand, KIP-1043).

``kafka-groups --bootstrap-server HOST:PORT --list [--group-type classic|consumer|share|streams]
[--protocol P] [--consumer] [--share] [--streams]`` prints ``GROUP TYPE PROTOCOL`` columns, each
padded to the widest value (at least 20) and followed by a space, as Kafka's tool does. The groups
come from ListGroups v5 at every broker (each broker lists the groups it coordinates), asked
directly because the Python admin client has no protocol type; on other than PLAINTEXT
listeners the admin client's consumer-group listing is used instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools.cli import ToolError, ToolParser, UsageError, add_bootstrap, run

PROG = "kafka-groups"
DESCRIPTION = "This tool helps to list groups of all types."
GROUP_TYPES = {"classic": "Classic", "consumer": "Consumer", "share": "Share", "streams": "Streams"}


def build_parser() -> ToolParser:
    p = ToolParser(PROG, DESCRIPTION)
    add_bootstrap(p)
    p.add_argument(
        "--command-config",
        metavar="command config property file",
        help="Property file containing configs to be passed to Admin Client.",
    )
    p.add_argument("--list", action="store_true", help="List the groups.")
    p.add_argument(
        "--group-type",
        metavar="type",
        help="Filter the groups based on group type. Valid types are: 'classic', 'consumer', 'share' and 'streams'.",
    )
    p.add_argument("--protocol", metavar="protocol", help="Filter the groups based on protocol type.")
    p.add_argument(
        "--consumer",
        action="store_true",
        help="Filter the groups to show all kinds of consumer groups, including classic and simple consumer "
        "groups. This matches group type 'consumer', and group type 'classic' where the protocol type is "
        "'consumer' or empty.",
    )
    p.add_argument("--share", action="store_true", help="Filter the groups to show share groups.")
    p.add_argument("--streams", action="store_true", help="Filter the groups to show streams groups.")
    return p


def check_args(parser: ToolParser, args: argparse.Namespace) -> None:
    """Kafka's GroupsCommandOptions.checkArgs, with its messages."""
    if not args.list:
        parser.fail("Command must include exactly one action: --list.")
    if args.group_type is not None and args.group_type.lower() not in GROUP_TYPES:
        raise ToolError("--group-type must be a valid group type.")
    given = {
        "consumer": args.consumer,
        "group-type": args.group_type is not None,
        "protocol": args.protocol is not None,
        "share": args.share,
        "streams": args.streams,
    }
    for option, others in (
        ("consumer", ("group-type", "protocol", "share", "streams")),
        ("share", ("consumer", "group-type", "protocol", "streams")),
        ("streams", ("consumer", "group-type", "protocol", "share")),
    ):
        if given[option]:
            for other in others:
                if given[other]:
                    parser.fail(f'Option "[{option}]" can\'t be used with option "[{other}]"')


def wanted(group: Any, args: argparse.Namespace) -> bool:
    """Kafka's combinedFilter."""
    gtype, protocol = group.group_type.lower(), group.protocol_type
    if args.group_type is not None:
        return gtype == args.group_type.lower() and (args.protocol is None or protocol == args.protocol)
    if args.protocol is not None:
        return protocol == args.protocol
    if args.consumer:
        return protocol in ("consumer", "") or gtype == "consumer"
    if args.share:
        return gtype == "share"
    if args.streams:
        return gtype == "streams"
    return True


def fetch(bootstrap: str, conf: dict[str, Any], timeout_s: float) -> list[Any]:
    """Every group of the cluster: ListGroups at each broker, else the admin client's listing."""
    from kcli import client
    from kcli.tools import group_wire

    admin = client.build("admin", conf)
    metadata = admin.list_topics(timeout=timeout_s)
    brokers = [(b.host, b.port) for b in metadata.brokers.values()]
    try:
        return group_wire.list_groups(bootstrap, conf, brokers, timeout_s)
    except group_wire.WireUnavailable:
        pass
    listing = admin.list_consumer_groups(request_timeout=timeout_s).result(timeout_s + 5)
    return [
        group_wire.ListedGroup(
            g.group_id,
            getattr(getattr(g, "type", None), "name", "").lower().replace("unknown", ""),
            "" if g.is_simple_consumer_group else "consumer",
            getattr(getattr(g, "state", None), "name", ""),
        )
        for g in listing.valid
    ]


def print_groups(groups: list[Any], args: argparse.Namespace) -> None:
    rows = []
    width = 20
    for g in groups:
        if not wanted(g, args):
            continue
        row = [g.group_id, GROUP_TYPES.get(g.group_type.lower(), g.group_type), g.protocol_type]
        width = max(width, *(len(item) for item in row))
        rows.append(row)
    print(" ".join(f"{title:<{width}}" for title in ("GROUP", "TYPE", "PROTOCOL")))
    for row in rows:
        print("".join(f"{item:<{width}} " for item in row))


def body(argv: list[str]) -> int:
    from confluent_kafka import KafkaException

    from kcli import client
    from kcli.tools.cli import resolve_bootstrap

    parser = build_parser()
    if not argv:
        raise UsageError(DESCRIPTION)
    args = parser.parse_args(argv)
    bootstrap = resolve_bootstrap(parser, args)
    assert bootstrap is not None
    check_args(parser, args)
    settings = client.client_settings(bootstrap, args.command_config, None, "admin")
    conf = settings.conf
    try:
        client.prepare(settings, "admin")  # waits for a starting broker, as every tool does
        groups = fetch(bootstrap, conf, 30.0)
    except (KafkaException, ToolError) as exc:
        text = client.kafka_error_text(exc) if isinstance(exc, KafkaException) else str(exc)
        print(f"Error while executing groups command : {text}")
        return 1
    print_groups(groups, args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
