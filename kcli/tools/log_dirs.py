"""kafka-log-dirs: the log directories of brokers, their partitions and sizes.

As Kafka's LogDirsCommand: ``--describe`` queries each broker (all of them, or ``--broker-list``)
with DescribeLogDirs and prints two lines then one line of JSON::

    Querying brokers for log directories information
    Received log directory information from brokers 0,1,2
    {"brokers":[{"broker":0,"logDirs":[{"partitions":[...],"error":null,"logDir":"/tmp/kafka-logs"}]}],"version":1}

Kafka builds that JSON from ``HashMap``s, so its keys and lists come in Java's hash order, not
alphabetical nor insertion order; kcli reproduces that order (:mod:`kcli.tools.java_order`) so
the output is the same text. ``--topic-list`` filters the partitions shown. DescribeLogDirs is
sent with kio over PLAINTEXT (confluent-kafka has no ``describe_log_dirs``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError
from kcli.tools.java_order import hashmap_order, topic_partition_hash

PROG = "kafka-log-dirs"
DESCRIPTION = "This tool helps to query log directory usage on the specified brokers."
DESCRIBE_LOG_DIRS_VERSION = 1  # what every broker since Kafka 1.1 answers, kcli's from 1 to 4
# The Java exception class Kafka's tool prints as a log dir's "error" (ApiException subclasses).
ERRORS = {
    56: "org.apache.kafka.common.errors.KafkaStorageException",
    31: "org.apache.kafka.common.errors.ClusterAuthorizationException",
}


def build_parser() -> ToolParser:
    p = ToolParser(PROG, DESCRIPTION)
    p.add_argument("--bootstrap-server", metavar="The server(s) to use for bootstrapping",
                   help="REQUIRED: the server(s) to use for bootstrapping")  # fmt: skip
    p.add_argument("--command-config", metavar="Admin client property file",
                   help="Property file containing configs to be passed to Admin Client.")  # fmt: skip
    p.add_argument("--describe", action="store_true",
                   help="Describe the specified log directories on the specified brokers.")  # fmt: skip
    p.add_argument("--topic-list", metavar="Topic list", default="",
                   help='The list of topics to be queried in the form "topic1,topic2,topic3". All topics will be '
                   "queried if no topic list is specified (default: )")  # fmt: skip
    p.add_argument("--broker-list", metavar="Broker list", default="",
                   help='The list of brokers to be queried in the form "0,1,2". All brokers in the cluster will be '
                   "queried if no broker list is specified (default: )")  # fmt: skip
    return p


def _split(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


def _brokers(text: str) -> list[int]:
    out = []
    for item in _split(text):
        try:
            out.append(int(item))
        except ValueError:
            raise ToolError(f'For input string: "{item}"') from None
    return out


def describe(view: Any, brokers: list[int], topics: set[str]) -> dict[int, list[dict[str, Any]]]:
    """DescribeLogDirs (all partitions) on each broker: broker -> its log dirs' results."""
    out = {}
    for node_id in brokers:
        response = view.request(35, DESCRIBE_LOG_DIRS_VERSION, {"topics": None}, node_id=node_id)
        out[node_id] = list(response.results)
    return out


def format_json(results: dict[int, list[Any]], topics: set[str]) -> str:
    """Kafka's JSON, keys and lists in the order its HashMaps iterate."""
    brokers_json = []
    for broker in hashmap_order(results):
        by_dir = {str(r.log_dir): r for r in results[broker]}
        dirs = []
        for log_dir in hashmap_order(by_dir):
            result = by_dir[log_dir]
            replicas = {
                (t.name, int(p.partition_index)): p
                for t in result.topics
                for p in t.partitions
                if not topics or t.name in topics
            }
            order = hashmap_order(replicas, lambda tp: topic_partition_hash(*tp))
            partitions = [
                {
                    "partition": f"{t}-{i}",
                    "size": int(replicas[(t, i)].partition_size),
                    "offsetLag": int(replicas[(t, i)].offset_lag),
                    "isFuture": bool(replicas[(t, i)].is_future_key),
                }
                for t, i in order
            ]
            code = int(result.error_code)
            error = None if code == 0 else ERRORS.get(code, "org.apache.kafka.common.errors.ApiException")
            entry = {"logDir": log_dir, "error": error, "partitions": partitions}
            dirs.append({k: entry[k] for k in hashmap_order(entry)})
        item = {"broker": broker, "logDirs": dirs}
        brokers_json.append({k: item[k] for k in hashmap_order(item)})
    top = {"version": 1, "brokers": brokers_json}
    return json.dumps({k: top[k] for k in hashmap_order(top)}, separators=(",", ":"), ensure_ascii=False)


def _body(argv: list[str]) -> int:
    if not argv:
        raise UsageError(DESCRIPTION)
    args = build_parser().parse_args(argv)
    if not args.bootstrap_server:
        raise UsageError('Missing required argument "[bootstrap-server]"')
    if not args.describe:
        raise UsageError('Missing required argument "[describe]"')
    topics = set(_split(args.topic_list))
    wanted = _brokers(args.broker_list)
    from kcli.tools.cluster_wire import ClusterView

    view = ClusterView(args.bootstrap_server, args.command_config)
    try:
        view.load([])
        cluster = list(view.brokers)
        missing = [b for b in hashmap_order(wanted) if b not in view.brokers]
        if missing:
            raise ToolError(
                "ERROR: The given brokers do not exist from --broker-list: "
                f"{','.join(map(str, missing))}. Current existent brokers: "
                f"{','.join(map(str, hashmap_order(cluster)))}"
            )
        existing = hashmap_order(wanted or cluster)
        print("Querying brokers for log directories information")
        results = describe(view, existing, topics)
        print(f"Received log directory information from brokers {','.join(map(str, existing))}")
        print(format_json(results, topics))
    finally:
        view.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
