"""kafka-metadata-quorum: ``describe --status`` and ``describe --replication`` of the KRaft quorum.

Kafka's MetadataQuorumCommand: the Admin client's describeCluster (for the cluster id) and
describeMetadataQuorum (DescribeQuorum, API 55, which a broker forwards to the active controller),
printed as Kafka prints them - the ``--status`` block with its aligned labels and the
``CurrentVoters``/``CurrentObservers`` lists (``{"id": N, "endpoints": ["NAME://host:port"]}``,
the directory id left out when it is the zero UUID, as in Kafka), and the ``--replication``
table (``ToolsUtils.prettyPrintTable``) with the leader first, then followers, then observers.
The requests go over PLAINTEXT with kio (:mod:`kcli.tools.admin_wire`): confluent-kafka has no
DescribeQuorum. ``--bootstrap-controller`` is refused with one line: kcli's controllers do not
serve the Kafka protocol.
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.admin_wire import Connection, check_plaintext
from kcli.tools.cli import ToolError, ToolParser
from kcli.tools.transactions import error_message, pretty_table

PROG = "kafka-metadata-quorum"
DESCRIPTION = "This tool describes kraft metadata quorum status."
TIMEOUT_S = 30.0
DESCRIBE_QUORUM, DESCRIBE_CLUSTER = 55, 60


def build_parser() -> ToolParser:
    p = ToolParser(PROG, DESCRIPTION)
    p.add_argument(
        "--bootstrap-server",
        metavar="BOOTSTRAP_SERVER",
        help="A comma-separated list of host:port pairs to use for establishing the connection to the Kafka "
        "cluster.",
    )
    p.add_argument(
        "--bootstrap-controller",
        metavar="BOOTSTRAP_CONTROLLER",
        help="A comma-separated list of host:port pairs to use for establishing the connection to the Kafka "
        "controllers.",
    )
    p.add_argument(
        "--command-config",
        metavar="COMMAND_CONFIG",
        help="Property file containing configs to be passed to Admin Client.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser)
    d = sub.add_parser("describe", help="Describe the metadata quorum info")
    d.add_argument(
        "--status",
        action="store_true",
        help="A short summary of the quorum status and the other provides detailed information about the "
        "status of replication.",
    )
    d.add_argument(
        "--replication", action="store_true", help="Detailed information about the status of replication"
    )
    d.add_argument("--human-readable", action="store_true", help="Human-readable output")
    for parser in (p, *sub.choices.values()):
        parser.error = p.error  # type: ignore[method-assign]
    return p


def _uuid_string(value: uuid.UUID | None) -> str:
    """Kafka's Uuid.toString: URL-safe base64 of the 16 bytes, without padding."""
    raw = (value or uuid.UUID(int=0)).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _connect(bootstrap: str) -> Connection:
    from kcli.client import split_bootstrap

    last: ToolError | None = None
    for host, port in split_bootstrap(bootstrap):
        conn = Connection(host, port, TIMEOUT_S)
        try:
            conn.open()
            return conn
        except ToolError as exc:
            last = exc
    raise last or ToolError("No bootstrap server given")


def describe_quorum(conn: Connection) -> tuple[str, Any]:
    cluster = conn.request(DESCRIBE_CLUSTER, 0, {"include_cluster_authorized_operations": False})
    if int(cluster.error_code):
        raise ToolError(f"Error: {error_message(int(cluster.error_code))}")
    body = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]}
    response = conn.request(DESCRIBE_QUORUM, 2, body)
    code = int(response.error_code)
    if not code and response.topics:
        code = int(response.topics[0].partitions[0].error_code)
    if code:
        raise ToolError(f"{response.error_message or error_message(code)}")
    return str(cluster.cluster_id), response


def _node_text(replica: Any, endpoints: dict[int, list[str]]) -> str:
    parts = [f'"id": {int(replica.replica_id)}']
    if replica.replica_directory_id not in (None, uuid.UUID(int=0)):
        parts.append(f'"directoryId": "{_uuid_string(replica.replica_directory_id)}"')
    if endpoints.get(int(replica.replica_id)):
        parts.append('"endpoints": [' + ", ".join(f'"{e}"' for e in endpoints[int(replica.replica_id)]) + "]")
    return "{" + ", ".join(parts) + "}"


def status(cluster_id: str, response: Any) -> str:
    partition = response.topics[0].partitions[0]
    voters = list(partition.current_voters)
    leader_id = int(partition.leader_id)
    leader = next((v for v in voters if int(v.replica_id) == leader_id), None)
    if leader is None:
        raise ToolError(f"The quorum has no leader (leader id {leader_id})")
    lagging = min(voters, key=lambda v: int(v.log_end_offset))
    if lagging is leader:
        lag_time = 0
    elif int(leader.last_caught_up_timestamp) >= 0 and int(lagging.last_caught_up_timestamp) >= 0:
        lag_time = int(leader.last_caught_up_timestamp) - int(lagging.last_caught_up_timestamp)
    else:
        lag_time = -1
    endpoints = {
        int(n.node_id): [f"{ls.name}://{ls.host}:{int(ls.port)}" for ls in n.listeners]
        for n in getattr(response, "nodes", ())
    }
    return "\n".join(
        [
            f"ClusterId:              {cluster_id}",
            f"LeaderId:               {leader_id}",
            f"LeaderEpoch:            {int(partition.leader_epoch)}",
            f"HighWatermark:          {int(partition.high_watermark)}",
            f"MaxFollowerLag:         {int(leader.log_end_offset) - int(lagging.log_end_offset)}",
            f"MaxFollowerLagTimeMs:   {lag_time}",
            "CurrentVoters:          [" + ", ".join(_node_text(v, endpoints) for v in voters) + "]",
            "CurrentObservers:       [" + ", ".join(_node_text(o, {}) for o in partition.observers) + "]",
        ]
    )


def replication(response: Any, human_readable: bool, now_ms: int | None = None) -> str:
    partition = response.topics[0].partitions[0]
    leader_id = int(partition.leader_id)
    voters = list(partition.current_voters)
    leader = next((v for v in voters if int(v.replica_id) == leader_id), None)
    if leader is None:
        raise ToolError(f"The quorum has no leader (leader id {leader_id})")
    now = int(time.time() * 1000) if now_ms is None else now_ms

    def stamp(value: int) -> str:
        if value < 0:
            return "-1"
        return f"{max(now - value, 0)} ms ago" if human_readable else str(value)

    rows = []
    groups = [
        ([leader], "Leader"),
        ([v for v in voters if int(v.replica_id) != leader_id], "Follower"),
        (list(partition.observers), "Observer"),
    ]
    for replicas, label in groups:
        for r in replicas:
            rows.append(
                [
                    str(int(r.replica_id)),
                    _uuid_string(r.replica_directory_id),
                    str(int(r.log_end_offset)),
                    str(int(leader.log_end_offset) - int(r.log_end_offset)),
                    stamp(int(r.last_fetch_timestamp)),
                    stamp(int(r.last_caught_up_timestamp)),
                    label,
                ]
            )
    headers = [
        "NodeId",
        "DirectoryId",
        "LogEndOffset",
        "Lag",
        "LastFetchTimestamp",
        "LastCaughtUpTimestamp",
        "Status",
    ]
    return pretty_table(headers, rows)


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.bootstrap_server and args.bootstrap_controller:
        parser.fail("argument --bootstrap-controller: not allowed with argument --bootstrap-server")
    if args.bootstrap_controller:
        raise ToolError(
            "--bootstrap-controller is not supported by kcli's controllers (they do not serve the Kafka "
            "protocol): use --bootstrap-server"
        )
    if not args.bootstrap_server:
        parser.fail("one of the arguments --bootstrap-server --bootstrap-controller is required")
    if args.command != "describe":
        parser.fail("too few arguments" if args.command is None else f"invalid choice: '{args.command}'")
    if args.status and args.replication:
        raise ToolError("Only one of --status or --replication should be specified with describe sub-command")
    if not args.status and not args.replication:
        raise ToolError("One of --status or --replication must be specified with describe sub-command")
    if args.status and args.human_readable:
        raise ToolError("The option --human-readable is only supported along with --replication")
    conf: dict[str, str] = {}
    if args.command_config:
        from kcli.client import load_config_file

        conf = load_config_file(args.command_config)
    check_plaintext(conf)
    with _connect(args.bootstrap_server) as conn:
        cluster_id, response = describe_quorum(conn)
    print(status(cluster_id, response) if args.status else replication(response, args.human_readable))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
