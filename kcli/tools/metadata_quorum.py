"""kafka-metadata-quorum: ``describe --status`` and ``describe --replication`` of the KRaft quorum.

Kafka's MetadataQuorumCommand: the Admin client's describeCluster (for the cluster id) and
describeMetadataQuorum (DescribeQuorum, API 55, which a broker forwards to the active controller),
printed as Kafka prints them - the ``--status`` block with its aligned labels and the
``CurrentVoters``/``CurrentObservers`` lists (``{"id": N, "endpoints": ["NAME://host:port"]}``,
the directory id left out when it is the zero UUID, as in Kafka), and the ``--replication``
table (``ToolsUtils.prettyPrintTable``) with the leader first, then followers, then observers.
The requests go over PLAINTEXT with kio (:mod:`kcli.tools.admin_wire`): confluent-kafka has no
DescribeQuorum.

``add-controller`` and ``remove-controller`` (KIP-853, Kafka 3.9) and ``--bootstrap-controller``:
Kafka's tool sends AddRaftVoter (API 80), RemoveRaftVoter (81) and DescribeQuorum to a broker, which forwards
them to the active controller (``--bootstrap-server``: kcli does the same, in Kafka's protocol), or
straight to the controllers, on their controller listener. A kcli controller's listener speaks kcli's JSON lines
(:mod:`kcli.protocol.json_lines`: one JSON object per line, the transport its brokers and the
other voters already use there), not Kafka's framing, so with ``--bootstrap-controller`` this tool
speaks that: ``raft_add_voter``/``raft_remove_voter`` with AddRaftVoter's fields (voter id,
directory id, the CONTROLLER endpoint) and Kafka's error names, and ``ctl_describe_quorum`` (the
answer DescribeQuorum is built from on a broker). A controller that is not the leader answers
with where the leader is, and the tool follows it, as Kafka's admin client does. It is a real
client of the quorum (the same requests over TCP, nothing in-process); against Apache Kafka's
controllers ``--bootstrap-controller`` cannot work (they speak only Kafka's protocol there) and
``describe --bootstrap-server`` is the way.

``add-controller --command-config controller.properties`` reads the new controller's own
properties, as Kafka's tool does: its ``node.id``, its directory id from ``meta.properties`` in
its metadata log directory (``metadata.log.dir``, else the first of ``log.dirs``), and its
endpoint on the first of ``controller.listener.names`` (``advertised.listeners``, else
``listeners``). The output lines are Kafka's: ``Added controller N with directory id D and
endpoints: CONTROLLER://host:port`` and ``Removed KRaft controller N with directory id D``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kcli.protocol.json_lines import LineSocket
from kcli.tools import cli
from kcli.tools.admin_wire import Connection, check_plaintext
from kcli.tools.cli import ToolError, ToolParser
from kcli.tools.transactions import error_message, pretty_table

PROG = "kafka-metadata-quorum"
DESCRIPTION = "This tool describes kraft metadata quorum status."
TIMEOUT_S = 30.0
DESCRIBE_QUORUM, DESCRIBE_CLUSTER, ADD_RAFT_VOTER, REMOVE_RAFT_VOTER = 55, 60, 80, 81


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
    sub.add_parser("add-controller", help="Add a controller to the KRaft controller cluster")
    r = sub.add_parser("remove-controller", help="Remove a controller from the KRaft controller cluster")
    r.add_argument("--controller-id", "-i", type=int, metavar="CONTROLLER_ID", required=True,
                   help="The id of the controller to remove.")  # fmt: skip
    r.add_argument("--controller-directory-id", "-d", metavar="CONTROLLER_DIRECTORY_ID", required=True,
                   help="The directory ID of the controller to remove.")  # fmt: skip
    r.add_argument(
        "--dry-run", action="store_true", help="True if we should print what would be done, but not do it."
    )
    a = sub.choices["add-controller"]
    # Kafka's usage puts --command-config before the sub-command; after it is accepted too
    a.add_argument(
        "--command-config", metavar="COMMAND_CONFIG", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    a.add_argument(
        "--dry-run", action="store_true", help="True if we should print what would be done, but not do it."
    )
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


class ControllerClient:
    """kcli's JSON lines to a controller listener (see the module's docstring for why)."""

    def __init__(self, bootstrap: str):
        from kcli.client import split_bootstrap

        self.addresses = split_bootstrap(bootstrap)
        if not self.addresses:
            raise ToolError("No bootstrap controller given")

    @staticmethod
    def _exchange(address: tuple[str, int], request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        conn = LineSocket(socket.create_connection(address, timeout=timeout_s))
        try:
            return conn.request(request, "connection closed")
        finally:
            conn.close()

    def request(self, request: dict[str, Any], timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
        """Ask each bootstrap controller in turn; a non-leader's answer naming the leader (host,
        port) is followed."""
        last = "no controller answered"
        deadline = time.monotonic() + timeout_s
        pending = list(self.addresses)
        while pending and time.monotonic() < deadline:
            address = pending.pop(0)
            try:
                answer = self._exchange(address, request, max(deadline - time.monotonic(), 1.0))
            except (OSError, ValueError) as exc:
                last = f"{address[0]}:{address[1]}: {exc}"
                continue
            if answer.get("ok") is False and answer.get("host") and answer.get("port"):
                leader = (str(answer["host"]), int(answer["port"]))
                if leader != address:
                    pending.insert(0, leader)
                    continue
            return answer
        raise ToolError(f"Timed out waiting for a node assignment ({last})")


# Kafka's exception for an error code, as its tool prints it (the ExecutionException's message)
EXCEPTIONS = {"RequestTimedOut": "TimeoutException"}


def _error(answer: dict[str, Any]) -> ToolError:
    """``org.apache.kafka.common.errors.DuplicateVoterException: ...``: how Kafka's tool reports a
    refused AddRaftVoter/RemoveRaftVoter."""
    name = str(answer.get("error", "Unknown"))
    exception = EXCEPTIONS.get(name, f"{name}Exception")
    return ToolError(f"org.apache.kafka.common.errors.{exception}: {answer.get('message', '')}".rstrip(": "))


def describe_via_controller(client: ControllerClient) -> tuple[str, Any]:
    """DescribeQuorum's answer from the quorum itself, in the shape :func:`status` reads."""
    from types import SimpleNamespace

    cluster = client.request({"op": "cluster_id"})
    if not cluster.get("ok"):
        raise _error(cluster)
    info = client.request({"op": "ctl_describe_quorum"})
    if not info.get("ok"):
        raise _error(info)

    def replica(row: list[Any]) -> SimpleNamespace:
        directory = uuid.UUID(int=0)
        if len(row) > 4 and row[4]:
            directory = uuid.UUID(bytes=base64.urlsafe_b64decode(str(row[4]) + "=="))
        return SimpleNamespace(
            replica_id=int(row[0]),
            replica_directory_id=directory,
            log_end_offset=int(row[1]),
            last_fetch_timestamp=int(row[2]),
            last_caught_up_timestamp=int(row[3]),
        )

    partition = SimpleNamespace(
        leader_id=int(info["leader"]),
        leader_epoch=int(info["epoch"]),
        high_watermark=int(info["hw"]),
        current_voters=[replica(v) for v in info["voters"]],
        observers=[replica(o) for o in info.get("observers", [])],
    )
    nodes = [
        SimpleNamespace(node_id=int(n), listeners=[SimpleNamespace(name="CONTROLLER", host=h, port=int(p))])
        for n, h, p in info.get("nodes", [])
    ]
    response = SimpleNamespace(topics=[SimpleNamespace(partitions=[partition])], nodes=nodes)
    return str(cluster["id"]), response


def new_controller(properties: str) -> tuple[int, str, str, tuple[str, int]]:
    """(node id, directory id, listener name, (host, port)) of the controller ``properties`` describes."""
    from kcli.client import load_config_file

    conf = load_config_file(properties)
    node = conf.get("node.id", "").strip()
    if not node.isdigit():
        raise ToolError(f"node.id not found in {properties}")
    roles = [r.strip() for r in conf.get("process.roles", "").split(",")]
    if "controller" not in roles:
        raise ToolError(
            f"{properties} does not describe a controller (process.roles={conf.get('process.roles', '')})"
        )
    log_dir = (
        conf.get("metadata.log.dir") or (conf.get("log.dirs") or conf.get("log.dir") or "").split(",")[0]
    )
    if not log_dir.strip():
        raise ToolError(f"No metadata.log.dir or log.dirs in {properties}")
    meta = Path(log_dir.strip()) / "meta.properties"
    try:
        directory_id = load_config_file(str(meta)).get("directory.id", "").strip()
    except (OSError, ToolError):
        directory_id = ""
    if not directory_id:
        raise ToolError(
            f"No directory.id found in {meta}: format the new controller with kafka-storage first"
        )
    names = [n.strip() for n in conf.get("controller.listener.names", "").split(",") if n.strip()]
    if not names:
        raise ToolError(f"controller.listener.names not found in {properties}")
    for key in ("advertised.listeners", "listeners"):
        for entry in conf.get(key, "").split(","):
            name, _, rest = entry.strip().partition("://")
            host, _, port = rest.rpartition(":")
            if name == names[0] and port.isdigit():
                return int(node), directory_id, name, (host.strip("[]") or "localhost", int(port))
    raise ToolError(f"Cannot find the {names[0]} listener of the new controller in {properties}")


class BrokerClient:
    """AddRaftVoter (80) and RemoveRaftVoter (81) in Kafka's protocol, through a broker
    (``--bootstrap-server``): it forwards them to the active controller, as Kafka's brokers do."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def request(self, request: dict[str, Any], timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
        directory = uuid.UUID(bytes=base64.urlsafe_b64decode(str(request["directory_id"]) + "=="))
        with _connect(self.bootstrap) as conn:
            cluster = conn.request(DESCRIBE_CLUSTER, 0, {"include_cluster_authorized_operations": False})
            body: dict[str, Any] = {
                "cluster_id": str(cluster.cluster_id),
                "voter_id": int(request["voter_id"]),
                "voter_directory_id": directory,
            }
            if request["op"] == "raft_add_voter":
                body["timeout"] = datetime.timedelta(seconds=timeout_s)
                body["listeners"] = [
                    {"name": request["listener"], "host": request["host"], "port": int(request["port"])}
                ]
                response = conn.request(ADD_RAFT_VOTER, 0, body)
            else:
                response = conn.request(REMOVE_RAFT_VOTER, 0, body)
        code = int(response.error_code)
        if not code:
            return {"ok": True}
        from kio.schema.errors import ErrorCode

        name = "".join(part.capitalize() for part in ErrorCode(code).name.split("_"))
        return {"ok": False, "error": name, "message": response.error_message or error_message(code)}


def add_controller(client: ControllerClient | BrokerClient, properties: str, dry_run: bool) -> str:
    node, directory_id, listener, (host, port) = new_controller(properties)
    endpoint = f"{listener}://{host}:{port}"
    if dry_run:
        return (
            f"DRY RUN of adding controller {node} with directory id {directory_id} and endpoints: {endpoint}"
        )
    answer = client.request(
        {
            "op": "raft_add_voter",
            "voter_id": node,
            "directory_id": directory_id,
            "listener": listener,
            "host": host,
            "port": port,
            "timeout_ms": int(TIMEOUT_S * 1000),
        }
    )
    if not answer.get("ok"):
        raise _error(answer)
    return f"Added controller {node} with directory id {directory_id} and endpoints: {endpoint}"


def remove_controller(
    client: ControllerClient | BrokerClient, node: int, directory_id: str, dry_run: bool
) -> str:
    if dry_run:
        return f"DRY RUN of removing KRaft controller {node} with directory id {directory_id}"
    answer = client.request(
        {
            "op": "raft_remove_voter",
            "voter_id": node,
            "directory_id": directory_id,
            "timeout_ms": int(TIMEOUT_S * 1000),
        }
    )
    if not answer.get("ok"):
        raise _error(answer)
    return f"Removed KRaft controller {node} with directory id {directory_id}"


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.bootstrap_server and args.bootstrap_controller:
        parser.fail("argument --bootstrap-controller: not allowed with argument --bootstrap-server")
    if not args.bootstrap_server and not args.bootstrap_controller:
        parser.fail("one of the arguments --bootstrap-server --bootstrap-controller is required")
    if args.command is None:
        parser.fail("too few arguments")
    if args.command in ("add-controller", "remove-controller"):
        client: ControllerClient | BrokerClient = (
            ControllerClient(args.bootstrap_controller)
            if args.bootstrap_controller
            else BrokerClient(args.bootstrap_server)
        )
        if args.command == "add-controller":
            if not args.command_config:
                raise ToolError(
                    "You must supply the configuration file of the controller you are adding when using add-controller."
                )
            print(add_controller(client, args.command_config, args.dry_run))
        else:
            print(remove_controller(client, args.controller_id, args.controller_directory_id, args.dry_run))
        return 0
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
    if args.bootstrap_controller:
        cluster_id, response = describe_via_controller(ControllerClient(args.bootstrap_controller))
    else:
        with _connect(args.bootstrap_server) as conn:
            cluster_id, response = describe_quorum(conn)
    print(status(cluster_id, response) if args.status else replication(response, args.human_readable))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
