"""kafka-transactions: list, describe, describe-producers, abort and find-hanging transactions.

Kafka's TransactionsCommand, with its subcommands, options, tables (``ToolsUtils.prettyPrintTable``:
each column padded to its widest cell, every cell followed by a tab) and error lines
(``<what failed>: <reason>. Enable debug logging for additional detail.`` on stderr, exit 1).
The requests (:mod:`kcli.tools.transactions_admin`) are the Java AdminClient's: ListTransactions
to every broker, FindCoordinator then DescribeTransactions to a transactional id's coordinator, DescribeProducers to a partition's
leader (or ``--broker-id``), and WriteTxnMarkers with an ABORT marker to the leader for
``abort``. They are sent over PLAINTEXT with kio (:mod:`kcli.tools.admin_wire`): confluent-kafka
has none of them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from kcli.tools import cli
from kcli.tools.admin_wire import check_plaintext
from kcli.tools.cli import ToolError, ToolParser
from kcli.tools.transactions_admin import (
    Cluster,
    PartitionError,
    decode_describe_transactions,
    describe_transaction,
    error_message,
    fail_because,
    find_coordinator,
    partition_leader,
    producers_of,
)

PROG = "kafka-transactions"
DESCRIPTION = (
    "This tool is used to analyze the transactional state of producers in the cluster. It can be used to "
    "detect and recover from hanging transactions."
)


def fail(message: str) -> NoReturn:
    raise ToolError(message)


def pretty_table(headers: list[str], rows: list[list[str]]) -> str:
    """ToolsUtils.prettyPrintTable: columns as wide as their widest cell, a tab after each cell."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [
        "".join(cell.ljust(w) + "\t" for cell, w in zip(row, widths, strict=True)) for row in [headers, *rows]
    ]
    return "\n".join(lines)


# --- cluster access ---------------------------------------------------------------------------------


# --- list -------------------------------------------------------------------------------------------


def list_transactions(cluster: Cluster, duration_filter: int | None) -> str:
    cluster.load([])
    rows: list[list[str]] = []
    for node_id in sorted(cluster.nodes):
        body: dict[str, Any] = {"state_filters": [], "producer_id_filters": []}
        version = 0
        if duration_filter is not None:
            body["duration_filter"] = duration_filter
            version = 1
        response = cluster.to_node(node_id).request(66, version, body)
        code = int(response.error_code)
        if code:
            fail_because("Failed to list transactions", error_message(code))
        for t in response.transaction_states:
            rows.append([t.transactional_id, str(node_id), str(int(t.producer_id)), t.transaction_state])
    return pretty_table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], rows)


# --- describe ---------------------------------------------------------------------------------------


def describe(cluster: Cluster, transactional_id: str, now_ms: int | None = None) -> str:
    state = describe_transaction(cluster, transactional_id)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    start = state["transaction_start_time_ms"]
    row = [
        str(state["coordinator_id"]),
        transactional_id,
        str(state["producer_id"]),
        str(state["producer_epoch"]),
        _state_label(state["transaction_state"]),
        str(state["transaction_timeout_ms"]),
        str(start) if start >= 0 else "None",
        str(now - start) if start >= 0 else "None",
        ",".join(f"{t}-{p}" for t, p in sorted(state["partitions"])),
    ]
    headers = [
        "CoordinatorId",
        "TransactionalId",
        "ProducerId",
        "ProducerEpoch",
        "TransactionState",
        "TransactionTimeoutMs",
        "CurrentTransactionStartTimeMs",
        "TransactionDurationMs",
        "TopicPartitions",
    ]
    return pretty_table(headers, [row])


def _state_label(name: str) -> str:
    known = {
        "Ongoing",
        "PrepareAbort",
        "PrepareCommit",
        "CompleteAbort",
        "CompleteCommit",
        "Empty",
        "PrepareEpochFence",
    }
    return name if name in known else "Unknown"


# --- describe-producers -----------------------------------------------------------------------------


def describe_producers(cluster: Cluster, topic: str, partition: int, broker_id: int | None) -> str:
    cluster.load([topic])
    where = f"broker {broker_id}" if broker_id is not None else "leader"
    try:
        states = producers_of(cluster, [(topic, partition)], broker_id)[(topic, partition)]
    except PartitionError as exc:
        fail_because(f"Failed to describe producers for partition {topic}-{partition} on {where}", str(exc))
    rows = [
        [
            str(s.producer_id),
            str(s.producer_epoch),
            str(s.coordinator_epoch if s.coordinator_epoch >= 0 else -1),
            str(s.last_sequence),
            str(s.last_timestamp),
            str(s.current_txn_start_offset) if s.current_txn_start_offset >= 0 else "None",
        ]
        for s in states
    ]
    headers = [
        "ProducerId",
        "ProducerEpoch",
        "LatestCoordinatorEpoch",
        "LastSequence",
        "LastTimestamp",
        "CurrentTransactionStartOffset",
    ]
    return pretty_table(headers, rows)


# --- abort ------------------------------------------------------------------------------------------


def abort(cluster: Cluster, topic: str, partition: int, args: argparse.Namespace) -> str:
    if args.start_offset is None and args.producer_id is None:
        fail(
            "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) "
            "or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)"
        )
    cluster.load([topic])
    if args.start_offset is None:
        if args.producer_epoch is None:
            fail("Missing required argument --producer-epoch")
        if args.coordinator_epoch is None:
            fail("Missing required argument --coordinator-epoch")
        spec = (args.producer_id, args.producer_epoch, max(args.coordinator_epoch, 0))
    else:
        try:
            states = producers_of(cluster, [(topic, partition)], None)[(topic, partition)]
        except PartitionError as exc:
            fail_because(f"Failed to validate producer state for partition {topic}-{partition}", str(exc))
        found = [s for s in states if s.current_txn_start_offset == args.start_offset]
        if not found:
            fail(
                f"Could not find any open transactions starting at offset {args.start_offset} on partition {topic}-{partition}"
            )
        s = found[0]
        spec = (s.producer_id, s.producer_epoch, max(s.coordinator_epoch, 0))
    pid, epoch, coordinator_epoch = spec
    description = (
        f"AbortTransactionSpec(topicPartition={topic}-{partition}, producerId={pid}, producerEpoch={epoch}, "
        f"coordinatorEpoch={coordinator_epoch})"
    )
    try:
        leader = partition_leader(cluster, topic, partition)
    except PartitionError as exc:
        fail_because(f"Failed to abort transaction {description}", str(exc))
    body = {
        "markers": [
            {
                "producer_id": pid,
                "producer_epoch": epoch,
                "transaction_result": False,
                "topics": [{"name": topic, "partition_indexes": [partition]}],
                "coordinator_epoch": coordinator_epoch,
            }
        ]
    }
    response = cluster.to_node(leader).request(27, 1, body)
    for marker in response.markers:
        for t in marker.topics:
            for p in t.partitions:
                if int(p.error_code):
                    fail_because(
                        f"Failed to abort transaction {description}", error_message(int(p.error_code))
                    )
    return ""


# --- find-hanging -----------------------------------------------------------------------------------


def find_hanging(
    cluster: Cluster,
    topic: str | None,
    partition: int | None,
    broker_id: int | None,
    max_timeout_min: int,
    now_ms: int | None = None,
) -> str:
    if topic is None and broker_id is None:
        fail(
            "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search"
        )
    if partition is not None and topic is None:
        fail("The --partition argument requires --topic to be provided")
    cluster.load(None if topic is None else [topic])
    if topic is not None and partition is not None:
        candidates_tp = [(topic, partition)]
    else:
        candidates_tp = [
            (t, p)
            for t, parts in sorted(cluster.topics.items())
            if topic is None or t == topic
            for p, info in sorted(parts.items())
            if broker_id is None or broker_id in info.replicas
        ]
    now = int(time.time() * 1000) if now_ms is None else now_ms
    max_ms = max_timeout_min * 60_000
    try:
        producers = producers_of(cluster, candidates_tp, broker_id)
    except PartitionError as exc:
        fail_because(
            f"Failed to describe producers for {len(candidates_tp)} partitions on broker {broker_id}",
            str(exc),
        )
    open_txns = [
        (tp, s)
        for tp, states in producers.items()
        for s in states
        if s.current_txn_start_offset >= 0 and now - s.last_timestamp > max_ms
    ]
    hanging = []
    if open_txns:
        pids = {s.producer_id for _, s in open_txns}
        ids: dict[int, str] = {}
        for node_id in sorted(cluster.nodes):
            r = cluster.to_node(node_id).request(
                66, 0, {"state_filters": [], "producer_id_filters": sorted(pids)}
            )
            for t in r.transaction_states:
                if int(t.producer_id) in pids:
                    ids[int(t.producer_id)] = t.transactional_id
        for tp, s in open_txns:
            tid = ids.get(s.producer_id)
            if tid is None:
                hanging.append((tp, s))
                continue
            node = find_coordinator(cluster, tid)
            frame, pos = cluster.connection(node.host, node.port).raw(65, 0, {"transactional_ids": [tid]})
            (state,) = decode_describe_transactions(frame, pos)
            if state["error_code"] or tp not in state["partitions"]:
                hanging.append((tp, s))
    rows = [
        [
            t,
            str(p),
            str(s.producer_id),
            str(s.producer_epoch),
            str(s.coordinator_epoch if s.coordinator_epoch >= 0 else -1),
            str(s.current_txn_start_offset),
            str(s.last_timestamp),
            str((now - s.last_timestamp) // 60_000),
        ]
        for (t, p), s in hanging
    ]
    headers = [
        "Topic",
        "Partition",
        "ProducerId",
        "ProducerEpoch",
        "CoordinatorEpoch",
        "StartOffset",
        "LastTimestamp",
        "Duration(min)",
    ]
    return pretty_table(headers, rows)


# --- the command ------------------------------------------------------------------------------------


def build_parser() -> ToolParser:
    p = ToolParser(PROG, DESCRIPTION)
    p.add_argument(
        "--command-config",
        metavar="FILE",
        help="property file containing configs to be passed to admin client",
    )
    p.add_argument(
        "--bootstrap-server",
        metavar="host:port",
        help="hostname and port for the broker to connect to, in the form `host:port`  (multiple comma-separated "
        "entries can be given)",
    )
    sub = p.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", parser_class=argparse.ArgumentParser
    )
    sub.add_parser("list", help="list transactions").add_argument(
        "--duration-filter",
        type=int,
        help="Duration (in millis) to filter by: if < 0, all transactions will be returned; otherwise, only "
        "transactions running longer than this duration will be returned",
    )
    d = sub.add_parser("describe", help="describe the state of an active transactional-id")
    d.add_argument("--transactional-id", required=True, help="transactional id")
    dp = sub.add_parser(
        "describe-producers", help="describe the states of active producers for a topic partition"
    )
    dp.add_argument(
        "--broker-id",
        type=int,
        help="optional broker id to describe the producer state on a specific replica",
    )
    dp.add_argument("--topic", required=True, help="topic name")
    dp.add_argument("--partition", type=int, required=True, help="partition number")
    a = sub.add_parser("abort", help="abort a hanging transaction (requires administrative privileges)")
    a.add_argument("--topic", required=True, help="topic name")
    a.add_argument("--partition", type=int, required=True, help="partition number")
    a.add_argument("--start-offset", type=int, help="start offset of the transaction to abort")
    a.add_argument("--producer-id", type=int, help="producer id")
    a.add_argument("--producer-epoch", type=int, help="producer epoch")
    a.add_argument("--coordinator-epoch", type=int, help="coordinator epoch")
    f = sub.add_parser("find-hanging", help="find hanging transactions")
    f.add_argument("--broker-id", type=int, help="broker id to search for hanging transactions")
    f.add_argument(
        "--max-transaction-timeout",
        type=int,
        default=15,
        help="maximum transaction timeout in minutes to limit the scope of the search (15 minutes by default)",
    )
    f.add_argument("--topic", help="topic name to limit search to (required if --partition is specified)")
    f.add_argument("--partition", type=int, help="partition number")
    for parser in (p, *sub.choices.values()):
        parser.error = p.error  # type: ignore[method-assign]  # Kafka's error shape everywhere
    return p


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.bootstrap_server:
        parser.fail('Missing required argument "bootstrap-server"')
    if args.command is None:
        parser.fail("Missing required argument: COMMAND")
    conf: dict[str, str] = {}
    if args.command_config:
        from kcli.client import load_config_file

        conf = load_config_file(args.command_config)
    check_plaintext(conf)
    cluster = Cluster(args.bootstrap_server)
    try:
        if args.command == "list":
            out = list_transactions(cluster, args.duration_filter)
        elif args.command == "describe":
            out = describe(cluster, args.transactional_id)
        elif args.command == "describe-producers":
            out = describe_producers(cluster, args.topic, args.partition, args.broker_id)
        elif args.command == "abort":
            out = abort(cluster, args.topic, args.partition, args)
        else:
            out = find_hanging(
                cluster, args.topic, args.partition, args.broker_id, args.max_transaction_timeout
            )
    finally:
        cluster.close()
    if out:
        print(out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
