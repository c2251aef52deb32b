"""kafka-reassign-partitions: move partitions between brokers (KIP-455 reassignments).

Options, JSON files, output and errors follow Kafka's ReassignPartitionsCommand (3.9):
``--generate`` proposes an assignment of the topics in ``--topics-to-move-json-file`` over
``--broker-list`` (AdminUtils' placement, rack-aware unless ``--disable-rack-aware``);
``--execute`` prints the current assignment (to keep for a rollback) and starts the
reassignment of ``--reassignment-json-file``; ``--verify`` says which are complete and clears
the replication throttles; ``--cancel`` reverts running ones; ``--list`` shows them. As Kafka's
tool, errors are printed on stdout (``Error: ...``) and the exit code is 1.

The calls confluent-kafka lacks (AlterPartitionReassignments, ListPartitionReassignments) are
sent with kio over PLAINTEXT (:mod:`kcli.tools.cluster_wire`), so the tool works against any
Kafka cluster's plaintext listener, not only kcli's. ``--throttle`` sets Kafka's throttle
configs (``leader/follower.replication.throttled.replicas`` on the topics, the ``...rate``
configs on the brokers) exactly as Kafka's tool does, and kcli's brokers enforce them as Kafka's
replication quotas (:mod:`kcli.server.base.replication_quota`); ``--execute --additional
--throttle N`` resubmits a running plan with a new rate. ``--verify`` (once nothing is moving)
and ``--cancel`` clear them, printing Kafka 3.9's ``Clearing broker-level throttles ...`` and
``Clearing topic-level throttles ...`` lines (the ZooKeeper-era tool printed ``Throttle was
removed.``, which Kafka's documentation still shows). Replica moves between log dirs
(``log_dirs`` other than ``"any"``) are refused with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError
from kcli.tools.java_order import hashmap_order

PROG = "kafka-reassign-partitions"
HELP_TEXT = "This tool helps to move topic partitions between replicas."
ACTIONS = ("generate", "execute", "verify", "cancel", "list")
ANY_LOG_DIR = "any"
CANNOT_EXECUTE = (
    "Cannot execute because there is an existing partition assignment.  Use --additional to override this "
    "and create a new partition assignment in addition to the existing one. The --additional flag can also "
    "be used to change the throttle by resubmitting the current reassignment."
)
RUN_VERIFY = (
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle "
    "is removed."
)
BROKER_THROTTLES = (
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
)
TOPIC_THROTTLES = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
SET, DELETE = 0, 1  # IncrementalAlterConfigs operations
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
EXCEPTIONS = {
    3: "UnknownTopicOrPartitionException",
    7: "TimeoutException",
    31: "ClusterAuthorizationException",
    39: "InvalidReplicaAssignmentException",
    40: "InvalidConfigurationException",
    41: "NotControllerException",
    85: "NoReassignmentInProgressException",
}
# (option, its action list, permitted options) as Kafka's validateAndParseArgs
REQUIRED = {
    "verify": ["reassignment_json_file"],
    "generate": ["topics_to_move_json_file", "broker_list"],
    "execute": ["reassignment_json_file"],
    "cancel": ["reassignment_json_file"],
    "list": [],
}
PERMITTED = {
    "verify": ["bootstrap", "command_config", "preserve_throttles"],
    "generate": ["bootstrap", "broker_list", "command_config", "disable_rack_aware"],
    "execute": [
        "additional", "bootstrap", "command_config", "throttle", "replica_alter_log_dirs_throttle", "timeout",
    ],
    "cancel": ["bootstrap", "command_config", "preserve_throttles", "timeout"],
    "list": ["bootstrap", "command_config"],
}  # fmt: skip
VALUED = {
    "reassignment_json_file": None,
    "topics_to_move_json_file": None,
    "broker_list": None,
    "command_config": None,
    "throttle": None,
    "replica_alter_log_dirs_throttle": None,
    "timeout": None,
}


class Failed(Exception):
    """Kafka's tool prints these on stdout (``Error: `` prefixed unless terse) and exits 1."""

    def __init__(self, message: str, terse: bool = False):
        super().__init__(message)
        self.text = message if terse else f"Error: {message}"


def build_parser() -> ToolParser:
    p = ToolParser(PROG, HELP_TEXT)
    add = p.add_argument
    add(
        "--bootstrap-server",
        metavar="Server(s) to use for bootstrapping",
        help="REQUIRED: the server(s) to use for bootstrapping.",
    )
    add(
        "--bootstrap-controller",
        metavar="Controller(s) to use for bootstrapping",
        help="the controllers to use for bootstrapping (not supported by the actions of this tool in kcli).",
    )
    add(
        "--command-config",
        metavar="Admin client property file",
        help="Property file containing configs to be passed to Admin Client.",
    )
    add(
        "--generate",
        action="store_true",
        help="Generate a candidate partition reassignment configuration. Note that this only generates a "
        "candidate assignment, it does not execute it.",
    )
    add(
        "--execute",
        action="store_true",
        help="Kick off the reassignment as specified by the --reassignment-json-file option.",
    )
    add(
        "--verify",
        action="store_true",
        help="Verify if the reassignment completed as specified by the --reassignment-json-file option. If "
        "there is a throttle engaged for the replicas specified, and the rebalance has completed, the "
        "throttle will be removed",
    )
    add("--cancel", action="store_true", help="Cancel an active reassignment.")
    add("--list", action="store_true", help="List all active partition reassignments.")
    add(
        "--reassignment-json-file",
        metavar="manual assignment json file path",
        help="The JSON file with the partition reassignment configuration. The format to use is - "
        '{"partitions": [{"topic": "foo", "partition": 1, "replicas": [1,2,3], "log_dirs": ["dir1","dir2",'
        '"dir3"] }], "version":1}',
    )
    add(
        "--topics-to-move-json-file",
        metavar="topics to reassign json file path",
        help="Generate a reassignment configuration to move the partitions of the specified topics to the "
        'list of brokers specified by the --broker-list option. The format to use is - {"topics": '
        '[{"topic": "foo"},{"topic": "foo1"}], "version":1}',
    )
    add(
        "--broker-list",
        metavar="brokerlist",
        help='The list of brokers to which the partitions need to be reassigned in the form "0,1,2". This '
        "is required if --topics-to-move-json-file is used to generate reassignment configuration",
    )
    add("--disable-rack-aware", action="store_true", help="Disable rack aware replica assignment")
    add(
        "--throttle",
        metavar="throttle",
        help="The movement of partitions between brokers will be throttled to this value (bytes/sec). "
        "(default: -1)",
    )
    add(
        "--replica-alter-log-dirs-throttle",
        metavar="replicaAlterLogDirsThrottle",
        help="The movement of replicas between log directories on the same broker will be throttled to this "
        "value (bytes/sec). (default: -1)",
    )
    add(
        "--timeout",
        metavar="timeout",
        help="The maximum time in ms to wait for log directory replica assignment to begin. (default: 10000)",
    )
    add(
        "--additional",
        action="store_true",
        help="Execute this reassignment in addition to any other ongoing ones.",
    )
    add("--preserve-throttles", action="store_true", help="Do not modify broker or topic throttles.")
    return p  # fmt: skip


def _opt(name: str) -> str:
    return "[" + name.replace("_", "-") + "]"


def validate(args: argparse.Namespace) -> str:
    """Kafka's option checks and their messages; returns the action."""
    given = [a for a in ACTIONS if getattr(args, a)]
    if len(given) != 1:
        raise UsageError("Command must include exactly one action: " + ", ".join(f"--{a}" for a in ACTIONS))
    action = given[0]
    if args.bootstrap_server and args.bootstrap_controller:
        raise UsageError("Please don't specify both --bootstrap-server and --bootstrap-controller")
    if not args.bootstrap_server and not args.bootstrap_controller:
        raise UsageError("Please specify either --bootstrap-server or --bootstrap-controller")
    for required in REQUIRED[action]:
        if getattr(args, required) is None:
            raise UsageError(f'Missing required argument "{_opt(required)}"')
    present = [n for n in VALUED if getattr(args, n) is not None]
    present += [n for n in ("disable_rack_aware", "additional", "preserve_throttles") if getattr(args, n)]
    for name in present:
        if name not in REQUIRED[action] and name not in PERMITTED[action]:
            raise UsageError(f'Option "{_opt(name)}" can\'t be used with action "{_opt(action)}"')
    return action


def _long(text: str | None, option: str, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"Cannot parse argument '{text}' of option {option}") from None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise Failed(path) from None  # NoSuchFileException's message is the path
    except OSError as exc:
        raise Failed(f"{path}: {exc.strerror}") from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Failed(f"com.fasterxml.jackson.core.JsonParseException: {exc}") from None


def _exception(code: int, message: str | None) -> str:
    name = EXCEPTIONS.get(code, "ApiException")
    return f"org.apache.kafka.common.errors.{name}: {message or 'error code ' + str(code)}"


def parse_reassignment(
    text: str,
) -> tuple[list[tuple[tuple[str, int], list[int]]], dict[tuple[str, int, int], str]]:
    """The partitions and their target replicas (in file order, duplicates kept for the
    checks), and the log dir of each replica that names one."""
    data = _json(text)
    if not isinstance(data, dict):
        raise Failed("The input string is not a valid JSON")
    version = data.get("version", 1)
    if version != 1:
        raise Failed(f"Not supported version field value {version}")
    parts: list[tuple[tuple[str, int], list[int]]] = []
    dirs: dict[tuple[str, int, int], str] = {}
    for entry in data.get("partitions") or []:
        try:
            topic, partition, replicas = (
                str(entry["topic"]),
                int(entry["partition"]),
                [int(r) for r in entry["replicas"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Failed(f"com.fasterxml.jackson.databind.JsonMappingException: {exc}") from None
        log_dirs = entry.get("log_dirs") or [ANY_LOG_DIR] * len(replicas)
        if len(log_dirs) != len(replicas):
            raise Failed(
                f"Size of replicas list {_java_list(replicas)} is different from size of log dirs list "
                f"{_java_list(log_dirs)} for partition {topic}-{partition}"
            )
        parts.append(((topic, partition), replicas))
        for replica, log_dir in zip(replicas, log_dirs, strict=True):
            if log_dir != ANY_LOG_DIR:
                dirs[(topic, partition, replica)] = str(log_dir)
    return parts, dirs


def _java_list(items: list[Any]) -> str:
    return "[" + ", ".join(map(str, items)) + "]"


def _tp(tp: tuple[str, int]) -> str:
    return f"{tp[0]}-{tp[1]}"


def format_reassignment_json(assignment: dict[tuple[str, int], list[int]]) -> str:
    """Kafka's formatAsReassignmentJson: compact, partitions sorted by topic then partition."""
    partitions = [
        {
            "topic": t,
            "partition": p,
            "replicas": assignment[(t, p)],
            "log_dirs": [ANY_LOG_DIR] * len(assignment[(t, p)]),
        }
        for t, p in sorted(assignment)
    ]
    return json.dumps({"version": 1, "partitions": partitions}, separators=(",", ":"), ensure_ascii=False)


# --- the calls -----------------------------------------------------------------------------------


def list_reassignments(
    view: Any, partitions: list[tuple[str, int]] | None = None
) -> dict[tuple[str, int], Any]:
    topics = None
    if partitions is not None:
        by_topic: dict[str, list[int]] = {}
        for t, p in partitions:
            by_topic.setdefault(t, []).append(p)
        topics = [{"name": t, "partition_indexes": ps} for t, ps in by_topic.items()]
    response = view.request(46, 0, {"timeout": 30000, "topics": topics})
    if int(response.error_code):
        raise Failed(_exception(int(response.error_code), response.error_message))
    return {(t.name, int(p.partition_index)): p for t in response.topics for p in t.partitions}


def alter_reassignments(
    view: Any, targets: dict[tuple[str, int], list[int] | None]
) -> dict[tuple[str, int], str]:
    """AlterPartitionReassignments; the failed partitions with their exception text."""
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (t, p), replicas in targets.items():
        by_topic.setdefault(t, []).append({"partition_index": p, "replicas": replicas})
    body = {"timeout": 30000, "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()]}
    response = view.request(45, 0, body)
    if int(response.error_code):
        text = _exception(int(response.error_code), response.error_message)
        return {tp: text for tp in targets}
    errors = {}
    for t in response.responses:
        for p in t.partitions:
            if int(p.error_code):
                errors[(t.name, int(p.partition_index))] = p.error_message or _exception(
                    int(p.error_code), None
                )
    return errors


def _alter_configs(view: Any, resources: list[tuple[int, str, list[tuple[str, str | None, int]]]]) -> None:
    """IncrementalAlterConfigs; a broker's resource goes to that broker, as the Java admin sends it."""
    for rtype, name, ops in resources:
        body = {
            "resources": [
                {
                    "resource_type": rtype,
                    "resource_name": name,
                    "configs": [{"name": k, "config_operation": op, "value": v} for k, v, op in ops],
                }
            ],
            "validate_only": False,
        }
        node = int(name) if rtype == BROKER_RESOURCE else None
        response = view.request(44, 0, body, node_id=node)
        for r in response.responses:
            if int(r.error_code):
                raise Failed(_exception(int(r.error_code), r.error_message))


def clear_all_throttles(view: Any, targets: list[tuple[tuple[str, int], list[int]]]) -> None:
    brokers = list(view.brokers)
    for _, replicas in targets:
        brokers += replicas
    brokers = hashmap_order(brokers)
    print(
        f"Clearing broker-level throttles on broker{'' if len(brokers) == 1 else 's'} {','.join(map(str, brokers))}"
    )
    _alter_configs(
        view,
        [
            (BROKER_RESOURCE, str(b), [(k, None, DELETE) for k in BROKER_THROTTLES])
            for b in brokers
            if b in view.brokers
        ],
    )
    topics = hashmap_order(tp[0] for tp, _ in targets)
    print(f"Clearing topic-level throttles on topic{'' if len(topics) == 1 else 's'} {','.join(topics)}")
    _alter_configs(view, [(TOPIC_RESOURCE, t, [(k, None, DELETE) for k in TOPIC_THROTTLES]) for t in topics])


def _assignment_of(view: Any, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], list[int]]:
    topics = sorted({t for t, _ in wanted})
    view.load(topics)
    for t in topics:
        if t in view.topic_errors:
            raise Failed(
                f"org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic {t} not found."
            )
    found = {(t, p): view.topics[t][p] for t, p in wanted if p in view.topics.get(t, {})}
    missing = [tp for tp in wanted if tp not in found]
    if missing:
        raise Failed(
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Unable to find partition: "
            + ", ".join(_tp(tp) for tp in missing)
        )
    return found


# --- the actions ---------------------------------------------------------------------------------


def generate(view: Any, topics_json: str, broker_list: str, rack_aware: bool) -> None:
    try:
        brokers = [int(b) for b in broker_list.split(",")]
    except ValueError as exc:
        raise Failed(f"java.lang.NumberFormatException: {exc}") from None
    duplicates = sorted({b for b in brokers if brokers.count(b) > 1})
    if duplicates:
        raise Failed(f"Broker list contains duplicate entries: {_java_list(duplicates)}")
    try:
        data = json.loads(topics_json)
    except ValueError:
        raise Failed("The input string is not a valid JSON") from None
    if not isinstance(data, dict):
        raise Failed("The input string is not a valid JSON")
    if data.get("version", 1) != 1:
        raise Failed(f"Not supported version field value {data.get('version')}")
    try:
        topics = [str(e["topic"]) for e in data.get("topics") or []]
    except (KeyError, TypeError) as exc:
        raise Failed(f"com.fasterxml.jackson.databind.JsonMappingException: {exc}") from None
    dup_topics = sorted({t for t in topics if topics.count(t) > 1})
    if dup_topics:
        raise Failed(f"List of topics to reassign contains duplicate entries: {_java_list(dup_topics)}")
    view.load(sorted(set(topics)))
    for t in topics:
        if t in view.topic_errors:
            raise Failed(
                f"org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic {t} not found."
            )
    current = {(t, p): reps for t in set(topics) for p, reps in view.topics[t].items()}
    chosen = [view.brokers[b] for b in view.brokers if b in set(brokers)]
    racks = {b.node_id: (b.rack if rack_aware else None) for b in chosen}
    rackless = sum(1 for r in racks.values() if r is None)
    if rack_aware and rackless not in (0, len(racks)):
        raise Failed(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica "
            "assignment without rack information."
        )
    from kcli.server.cluster.placement import assign_replicas

    proposed: dict[tuple[str, int], list[int]] = {}
    for t in sorted(set(topics)):
        parts = view.topics[t]
        if not parts:
            continue
        rf = len(parts[min(parts)])
        try:
            assignment = assign_replicas(
                list(racks), len(parts), rf, racks=racks if rackless == 0 and racks else None
            )
        except ValueError as exc:
            raise Failed(str(exc)) from None
        for p, reps in enumerate(assignment):
            proposed[(t, p)] = reps
    print(f"Current partition replica assignment\n{format_reassignment_json(current)}\n")
    print(f"Proposed partition reassignment configuration\n{format_reassignment_json(proposed)}")


def execute(view: Any, text: str, additional: bool, throttle: int, log_dir_throttle: int) -> None:
    parts, dirs = parse_reassignment(text)
    if not parts:
        raise Failed("Partition reassignment list cannot be empty")
    if any(not reps for _, reps in parts):
        raise Failed("Partition replica list cannot be empty")
    keys = [tp for tp, _ in parts]
    dup = [tp for tp in dict.fromkeys(keys) if keys.count(tp) > 1]
    if dup:
        raise Failed(f"Partition reassignment contains duplicate topic partitions: {','.join(map(_tp, dup))}")
    dup_entries = [(tp, sorted({r for r in reps if reps.count(r) > 1})) for tp, reps in parts]
    dup_entries = [(tp, d) for tp, d in dup_entries if d]
    if dup_entries:
        raise Failed(
            "Partition replica lists may not contain duplicate entries: "
            + ". ".join(
                f"{_tp(tp)} contains multiple entries for {','.join(map(str, d))}" for tp, d in dup_entries
            )
        )
    if dirs:
        raise Failed(
            'Moving replicas between log directories (log_dirs other than "any") is not supported by kcli\'s '
            'kafka-reassign-partitions; use "any"'
        )
    proposed = dict(parts)
    if not additional and list_reassignments(view):
        raise Failed(CANNOT_EXECUTE, terse=True)
    view.load([])
    for reps in proposed.values():
        for b in reps:
            if b not in view.brokers:
                raise Failed(f"Unknown broker id {b}")
    current = _assignment_of(view, set(proposed))
    print(
        f"Current partition replica assignment\n\n{format_reassignment_json(current)}\n\n"
        "Save this to use as the --reassignment-json-file option during rollback"
    )
    if throttle >= 0 or log_dir_throttle >= 0:
        print(RUN_VERIFY)
        if throttle >= 0:
            _set_throttles(view, proposed, current, throttle)
        if log_dir_throttle >= 0:
            _set_log_dir_throttle(view, dirs, log_dir_throttle)
    errors = alter_reassignments(view, proposed)
    if errors:
        lines = "\n".join(f"{_tp(tp)}: {errors[tp]}" for tp in sorted(errors))
        raise Failed(f"Error reassigning partition(s):\n{lines}", terse=True)
    names = ",".join(_tp(tp) for tp in sorted(proposed))
    print(f"Successfully started partition reassignment{'' if len(proposed) == 1 else 's'} for {names}")


def move_map(
    ongoing: dict[tuple[str, int], Any],
    proposed: dict[tuple[str, int], list[int]],
    current: dict[tuple[str, int], list[int]],
) -> dict[tuple[str, int], tuple[set[int], set[int]]]:
    """Kafka's calculateProposedMoveMap: (sources, destinations) of every partition moving - those
    of the running reassignments (sources without the adding replicas) and the proposed ones
    (sources from a running reassignment when there is one, else the current replicas)."""
    moves: dict[tuple[str, int], tuple[set[int], set[int]]] = {}
    for tp, r in ongoing.items():
        adding = set(r.adding_replicas)
        moves[tp] = ({int(b) for b in r.replicas} - adding, adding)
    for tp, target in proposed.items():
        sources = moves[tp][0] if tp in moves else set(current[tp])
        moves[tp] = (sources, set(target) - sources)
    return moves


def throttle_configs(
    moves: dict[tuple[str, int], tuple[set[int], set[int]]],
) -> tuple[dict[str, str], dict[str, str], list[int]]:
    """Kafka's leader and follower throttled-replicas values per topic (``partition:broker`` in
    string order) and the brokers that get the rates: the sources throttle as leaders, the new
    replicas as followers."""
    leaders: dict[str, set[str]] = {}
    followers: dict[str, set[str]] = {}
    brokers: set[int] = set()
    for (t, p), (sources, destinations) in moves.items():
        leaders.setdefault(t, set()).update(f"{p}:{s}" for s in sources)
        followers.setdefault(t, set()).update(f"{p}:{d}" for d in destinations - sources)
        brokers |= sources | destinations
    return (
        {t: ",".join(sorted(v)) for t, v in leaders.items()},
        {t: ",".join(sorted(v)) for t, v in followers.items()},
        sorted(brokers),
    )


def _set_throttles(
    view: Any,
    proposed: dict[tuple[str, int], list[int]],
    current: dict[tuple[str, int], list[int]],
    rate: int,
) -> None:
    """Kafka's modifyReassignmentThrottle: the topics' throttled replicas, then both rates on every
    broker a partition moves from or to (with ``--additional``, the running moves count too)."""
    leaders, followers, brokers = throttle_configs(move_map(list_reassignments(view), proposed, current))
    _alter_configs(
        view,
        [
            (
                TOPIC_RESOURCE,
                t,
                [(TOPIC_THROTTLES[0], leaders[t], SET), (TOPIC_THROTTLES[1], followers[t], SET)],
            )
            for t in hashmap_order(leaders)
        ],
    )
    _alter_configs(
        view,
        [
            (
                BROKER_RESOURCE,
                str(b),
                [(BROKER_THROTTLES[0], str(rate), SET), (BROKER_THROTTLES[1], str(rate), SET)],
            )
            for b in brokers
        ],
    )
    print(f"The inter-broker throttle limit was set to {rate} B/s")


def _set_log_dir_throttle(view: Any, dirs: dict[tuple[str, int, int], str], rate: int) -> None:
    """Kafka's modifyLogDirThrottle: the rate on each broker with a replica moving between its
    log dirs (none when the plan names no log dir); the line is printed either way."""
    brokers = sorted({b for _, _, b in dirs})
    _alter_configs(
        view, [(BROKER_RESOURCE, str(b), [(BROKER_THROTTLES[2], str(rate), SET)]) for b in brokers]
    )
    print(f"The replica-alter-dir throttle limit was set to {rate} B/s")


def verify(view: Any, text: str, preserve_throttles: bool) -> None:
    parts, _dirs = parse_reassignment(text)
    ongoing = list_reassignments(view)
    view.load(sorted({t for (t, _), _ in parts}))
    lines = ["Status of partition reassignment:"]
    for tp, target in sorted(dict(parts).items()):
        if tp in ongoing:
            lines.append(f"Reassignment of partition {_tp(tp)} is still in progress.")
            continue
        current = view.topics.get(tp[0], {}).get(tp[1], [])
        if current == target:
            lines.append(f"Reassignment of partition {_tp(tp)} is completed.")
        else:
            lines.append(
                f"There is no active reassignment of partition {_tp(tp)}, but replica set is "
                f"{','.join(map(str, current))} rather than {','.join(map(str, target))}."
            )
    print("\n".join(lines))
    print("")  # the (empty) log dir move states
    if not ongoing and not preserve_throttles:
        clear_all_throttles(view, parts)


def cancel(view: Any, text: str, preserve_throttles: bool) -> None:
    parts, _dirs = parse_reassignment(text)
    wanted = [tp for tp, _ in parts]
    running = list_reassignments(view, wanted)
    # Kafka 3.9's tool (ReassignPartitionsCommand.cancelAssignment, Java) cancels those with no
    # adding replicas or some removing ones - so a move that only adds replicas is not cancelled
    # by the tool (the Scala tool before it tested "adding or removing"); kept as Kafka does it.
    cancelling = sorted(tp for tp, r in running.items() if not r.adding_replicas or r.removing_replicas)
    if cancelling:
        errors = alter_reassignments(view, {tp: None for tp in cancelling})
        if errors:
            lines = "\n".join(f"{_tp(tp)}: {errors[tp]}" for tp in sorted(errors))
            raise Failed(
                f"Error cancelling partition reassignment{'' if len(errors) == 1 else 's'} for:\n{lines}",
                terse=True,
            )
        names = ",".join(_tp(tp) for tp in cancelling)
        print(
            f"Successfully cancelled partition reassignment{'' if len(cancelling) == 1 else 's'} for: {names}"
        )
    else:
        print("None of the specified partition reassignments are active.")
    # Kafka prints this without a line end, so the throttle line follows on the same line.
    print("None of the specified partition moves are active.", end="" if not preserve_throttles else "\n")
    if not preserve_throttles:
        view.load([])
        clear_all_throttles(view, parts)


def list_action(view: Any) -> None:
    running = list_reassignments(view)
    if not running:
        print("No partition reassignments found.")
        return
    lines = ["Current partition reassignments:"]
    for tp in sorted(running):
        r = running[tp]
        line = f"{_tp(tp)}: replicas: {','.join(map(str, r.replicas))}."
        if r.adding_replicas:
            line += f" adding: {','.join(map(str, r.adding_replicas))}."
        if r.removing_replicas:
            line += f" removing: {','.join(map(str, r.removing_replicas))}."
        lines.append(line)
    print("\n".join(lines))


def _body(argv: list[str]) -> int:
    if not argv:
        raise UsageError(HELP_TEXT)
    args = build_parser().parse_args(argv)
    action = validate(args)
    throttle = _long(args.throttle, "throttle", -1)
    log_dir_throttle = _long(args.replica_alter_log_dirs_throttle, "replica-alter-log-dirs-throttle", -1)
    _long(args.timeout, "timeout", 10000)
    if args.bootstrap_controller:
        print("Error: The --bootstrap-controller option is not supported with these action.")
        return 1
    from kcli.tools.cluster_wire import ClusterView

    try:
        view = ClusterView(args.bootstrap_server, args.command_config)
        try:
            view.load([])
            if action == "generate":
                generate(
                    view, _read(args.topics_to_move_json_file), args.broker_list, not args.disable_rack_aware
                )
            elif action == "execute":
                execute(view, _read(args.reassignment_json_file), args.additional, throttle, log_dir_throttle)
            elif action == "verify":
                verify(view, _read(args.reassignment_json_file), args.preserve_throttles)
            elif action == "cancel":
                cancel(view, _read(args.reassignment_json_file), args.preserve_throttles)
            else:
                list_action(view)
        finally:
            view.close()
    except Failed as exc:
        print(exc.text)
        return 1
    except ToolError as exc:  # the cluster could not be reached: Kafka prints these on stdout too
        print(f"Error: {exc}")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
