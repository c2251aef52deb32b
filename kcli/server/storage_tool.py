"""``kafka-storage``: ``random-uuid``, ``format -t ID -c FILE [--standalone] [--ignore-formatted]``, ``info -c FILE``.

As in the Apache Kafka quickstart: format writes ``meta.properties`` with the cluster id into every
log directory. (The broker also formats an unformatted directory on first start, saying so, so
that students who skip this step are not stopped by it.)
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kafka-storage", description="The Kafka storage tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("random-uuid", help="Print a random UUID.")
    fmt = sub.add_parser("format", help="Format the Kafka log directories on this node.")
    fmt.add_argument("--config", "-c", required=True, help="The Kafka configuration file to use.")
    fmt.add_argument("--cluster-id", "-t", required=True, help="The cluster ID to use.")
    fmt.add_argument("--ignore-formatted", "-g", action="store_true")
    fmt.add_argument("--standalone", "-s", action="store_true")
    fmt.add_argument("--release-version", "-r")
    fmt.add_argument("--add-scram", "-S", action="append")
    fmt.add_argument("--initial-controllers", "-I")
    fmt.add_argument("--no-initial-controllers", "-N", action="store_true")
    info = sub.add_parser("info", help="Get information about the Kafka log directories on this node.")
    info.add_argument("--config", "-c", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from kcli.server.catalog import encode_cluster_id, random_uuid

    if args.command == "random-uuid":
        print(encode_cluster_id(random_uuid()))
        return 0
    from kcli.server.broker import read_meta, write_meta
    from kcli.server.config import BrokerConfig, ConfigError

    try:
        config = BrokerConfig.load(args.config)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if args.command == "info":
        for d in config.log_dirs:
            meta = read_meta(d)
            state = f"Found log directory:\n  {d}" if meta else f"Found problem:\n  {d} is not formatted."
            print(state)
            if meta:
                print("Found metadata: {" + ", ".join(f"{k}={v}" for k, v in meta.items()) + "}")
        return 0
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
    credentials = []
    if args.add_scram:
        from kcli.server.security.scram_bootstrap import ScramArgumentError, parse_add_scram

        try:
            credentials = [parse_add_scram(item) for item in args.add_scram]
        except ScramArgumentError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
    for d in config.log_dirs:
        meta = read_meta(d)
        if meta is not None:
            if args.ignore_formatted:
                continue
            print(
                f"Log directory {d} is already formatted. Use --ignore-formatted to ignore this "
                "directory and format the others.",
                file=sys.stderr,
            )
            return 1
        write_meta(d, cluster_id, config.node_id, kraft=True)
        print(f"Formatting metadata directory {d} with metadata.version 4.0-IV3.")
    if credentials:  # bootstrap SCRAM users, in the node's security store
        from kcli.server.security.store import SecurityStore

        store = SecurityStore.load(config.log_dirs[0])
        store.alter_scram(credentials, [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
