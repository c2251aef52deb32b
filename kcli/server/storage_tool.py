"""``kafka-storage``: ``random-uuid``, ``format -t ID -c FILE [--standalone] [--ignore-formatted]``,
``info -c FILE`` and kcli's ``verify (-c FILE | --log-dir DIR...)``.

As in the Apache Kafka quickstart: format writes ``meta.properties`` with the cluster id into every
log directory. (The broker also formats an unformatted directory on first start, saying so, so
that students who skip this step are not stopped by it.)

``verify`` is kcli's addition: it reads every batch, offset and index of a stopped broker's log
directories and prints each problem with a non-zero exit. It lives here rather than under ``kcli``
because it works on what ``info`` and ``format`` work on (the log directories of a
``server.properties``, given the same way) and on any Kafka log directory, kcli's or Apache
Kafka's; Kafka's own tool has no such subcommand, so nothing a Kafka user types changes meaning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from kcli.versions import kafka_version

    parser = argparse.ArgumentParser(prog="kafka-storage", description="The Kafka storage tool.")
    parser.add_argument("--version", action="version", version=kafka_version())
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("random-uuid", help="Print a random UUID.")
    fmt = sub.add_parser("format", help="Format the Kafka log directories on this node.")
    fmt.add_argument("--config", "-c", required=True, help="The Kafka configuration file to use.")
    fmt.add_argument("--cluster-id", "-t", required=True, help="The cluster ID to use.")
    fmt.add_argument("--ignore-formatted", "-g", action="store_true")
    fmt.add_argument("--release-version", "-r")
    fmt.add_argument("--add-scram", "-S", action="append")
    # KIP-853 (Kafka 3.9+): how the first voter set of a dynamic quorum is given; one at most.
    quorum = fmt.add_mutually_exclusive_group()
    quorum.add_argument(
        "--standalone",
        "-s",
        action="store_true",
        help="Used to initialize a controller as a single-node dynamic quorum. When setting this flag, the "
        "controller.quorum.voters config must not be set, and controller.quorum.bootstrap.servers is set instead.",
    )
    quorum.add_argument(
        "--no-initial-controllers",
        "-N",
        action="store_true",
        help="Used to initialize a server without specifying a dynamic quorum. When setting this flag, the "
        "controller.quorum.voters config should not be set, and controller.quorum.bootstrap.servers is set instead.",
    )
    quorum.add_argument(
        "--initial-controllers",
        "-I",
        help="Used to initialize a server with the specified dynamic quorum. The argument is a comma-separated "
        "list of id@hostname:port:directory. The same values must be used to format all nodes. For example: "
        "0@example.com:8082:JEXY6aqzQY-32P5TStzaFg,1@example.com:8083:MvDxzVmcRsaTz33bUuRU6A,"
        "2@example.com:8084:07R5amHmR32VDA6jHkGbTA . When setting this flag, the controller.quorum.voters config "
        "must not be set, and controller.quorum.bootstrap.servers is set instead.",
    )
    info = sub.add_parser("info", help="Get information about the Kafka log directories on this node.")
    info.add_argument("--config", "-c", required=True)
    verify = sub.add_parser(
        "verify",
        help="Check every batch CRC, offset and index of the log directories (kcli; run it with the broker "
        "stopped). Exits 1 when a problem is found.",
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", "-c", help="The server.properties whose log.dirs to check.")
    source.add_argument(
        "--log-dir", action="append", metavar="DIR", help="A log directory to check (repeatable)."
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from kcli.protocol.uuids import encode_cluster_id, random_uuid

    if args.command == "random-uuid":
        print(encode_cluster_id(random_uuid()))
        return 0
    from kcli.server.cluster.raft_voters import write_bootstrap_snapshot
    from kcli.server.config import BrokerConfig, ConfigError
    from kcli.server.storage.log_dirs import MetaPropertiesError, read_meta, write_meta

    if args.command == "verify" and args.log_dir:
        return _verify([Path(d).expanduser() for d in args.log_dir])
    try:
        config = BrokerConfig.load(args.config)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if args.command == "verify":
        return _verify(list(config.log_dirs))
    if args.command == "info":
        return _info(list(config.log_dirs), config.kraft)
    cluster_id = args.cluster_id
    try:
        if len(cluster_id) != 22:
            raise ValueError
        import base64

        base64.urlsafe_b64decode(cluster_id + "==")
    except ValueError:
        print(
            f"Error: Cluster ID string {cluster_id} does not appear to be a valid UUID: "
            "expected a 22-character base64 string, as printed by kafka-storage random-uuid",
            file=sys.stderr,
        )
        return 1
    try:
        initial = _initial_controllers(args, config)
    except ValueError as exc:
        print(f"Error: {exc}" if not isinstance(exc, _Terse) else str(exc), file=sys.stderr)
        return 1
    credentials = []
    if args.add_scram:
        from kcli.server.security.scram_bootstrap import ScramArgumentError, parse_add_scram

        try:
            credentials = [parse_add_scram(item) for item in args.add_scram]
        except ScramArgumentError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
    for d in config.log_dirs:
        try:
            meta = read_meta(d)
        except MetaPropertiesError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        if meta is not None:
            if args.ignore_formatted:
                continue
            print(
                f"Log directory {d} is already formatted. Use --ignore-formatted to ignore this "
                "directory and format the others.",
                file=sys.stderr,
            )
            return 1
        voter = next((v for v in initial or [] if v.node_id == config.node_id), None)
        if d == config.log_dirs[0] and voter is not None:
            # Kafka's DYNAMIC_METADATA_VOTER_DIRECTORY: the directory id is the one the voter
            # set names, and the bootstrap snapshot holds the voter set.
            write_meta(d, cluster_id, config.node_id, kraft=True, directory_id=voter.directory_id)
            write_bootstrap_snapshot(d, initial or [], _controller_listener(config))
            kind = "dynamic metadata voter directory"
        elif d == config.log_dirs[0]:
            write_meta(d, cluster_id, config.node_id, kraft=True)
            kind = "dynamic metadata directory" if initial is not None else "metadata directory"
        else:
            write_meta(d, cluster_id, config.node_id, kraft=True)
            kind = "data directory"
        print(f"Formatting {kind} {d} with metadata.version 4.0-IV3.")
    if credentials:  # bootstrap SCRAM users, in the node's security store
        from kcli.server.security.store import SecurityStore

        store = SecurityStore.load(config.log_dirs[0])
        store.alter_scram(credentials, [])
    return 0


class _Terse(ValueError):
    """A refusal printed as Kafka's StorageTool prints a TerseFailure: the message alone."""


def _controller_listener(config) -> str:  # type: ignore[no-untyped-def]
    return (config.controller_listener_names or ["CONTROLLER"])[0]


def _initial_controllers(args: argparse.Namespace, config) -> list | None:  # type: ignore[no-untyped-def]
    """KIP-853's first voter set from ``--standalone``/``--initial-controllers``, with the rules
    and messages of Kafka's StorageTool (3.9+): None when the node gets none (a static quorum, a
    broker, or ``--no-initial-controllers``)."""
    from kcli.server.cluster.raft_voters import DynamicVoter, parse_dynamic_voters

    static = bool(config.controller_quorum_voters.strip())
    if static and (args.initial_controllers or args.standalone):
        raise _Terse(
            "You cannot specify controller.quorum.voters and format the node with --initial-controllers or "
            "--standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify "
            "controller.quorum.bootstrap.servers instead."
        )
    is_controller = "controller" in config.process_roles
    if args.standalone:
        if not is_controller:
            raise _Terse("You can only use --standalone on a controller.")
        listener = _controller_listener(config).upper()
        found = [ls for ls in config.advertised_listeners + config.listeners if ls.name == listener]
        if not found:
            raise _Terse("No controller listeners found.")
        host, port = found[0].host, found[0].port
        from kcli.protocol.uuids import encode_cluster_id, random_uuid

        return [DynamicVoter(config.node_id, host or "localhost", port, encode_cluster_id(random_uuid()))]
    if args.initial_controllers:
        return parse_dynamic_voters(args.initial_controllers)
    # Kafka applies this to every controller without controller.quorum.voters; kcli only to one
    # with controller.quorum.bootstrap.servers (a dynamic quorum): a node naming neither is kcli's
    # lone-node convenience (it is its own only voter), which Kafka's config would refuse anyway.
    dynamic = bool(config.raw.get("controller.quorum.bootstrap.servers", "").strip())
    if is_controller and dynamic and not static and not args.no_initial_controllers:
        raise _Terse(
            "Because controller.quorum.voters is not set on this controller, you must specify one of the "
            "following: --standalone, --initial-controllers, or --no-initial-controllers."
        )
    return None


def _info(directories: list[Path], kraft: bool) -> int:
    """Kafka's ``StorageTool.infoCommand`` output: the directories, the metadata, the problems."""
    from kcli.server.storage.log_dirs import META_PROPERTIES, MetaPropertiesError, read_meta_properties

    problems: list[str] = []
    found: list[str] = []
    first = None
    for d in sorted(directories, key=str):
        if not d.is_dir():
            problems.append(f"{d} does not exist" if not d.exists() else f"{d} is not a directory")
            continue
        found.append(str(d))
        try:
            meta = read_meta_properties(d)
        except MetaPropertiesError as exc:
            problems.append(f"Error loading {d / META_PROPERTIES}: {exc.what}")
            continue
        if meta is None:
            problems.append(f"{d} is not formatted.")
        elif first is None:
            first = meta
        elif first.cluster_id != meta.cluster_id:
            problems.append("Mismatched cluster IDs between storage directories.")
        elif first.node_id != meta.node_id:
            problems.append("Mismatched node IDs between storage directories.")
    if first is not None:
        if kraft and first.version == 0:
            problems.append(
                "The kafka configuration file appears to be for a cluster in KRaft mode, but the directories "
                "are formatted for legacy mode."
            )
        elif not kraft and first.version == 1:
            problems.append(
                "The kafka configuration file appears to be for a legacy cluster, but the directories are "
                "formatted for a cluster in KRaft mode."
            )
    if not directories:
        print("No directories specified.")
        return 0
    if found:
        print("Found log directory:" if len(found) == 1 else "Found log directories:")
        for d in found:
            print(f"  {d}")
        print()
    if first is not None:
        print("Found metadata: {" + ", ".join(f"{k}={v}" for k, v in sorted(first.props.items())) + "}")
        print()
    if problems:
        print("Found problem:" if len(problems) == 1 else "Found problems:")
        for problem in problems:
            print(f"  {problem}")
        print()
        return 1
    return 0


def _verify(directories: list[Path]) -> int:
    from kcli.server.storage.verify import verify_log_dirs

    report = verify_log_dirs(directories)
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
