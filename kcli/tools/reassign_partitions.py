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
removed.``, which Kafka's documentation still shows). ``log_dirs`` other than ``"any"`` move
those replicas between the log dirs of their broker, as Kafka's tool does: ``--execute`` sends
AlterReplicaLogDirs to each broker (retrying, until ``--timeout``, the replicas a broker does not
host yet), ``--verify`` reports each move from DescribeLogDirs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError
from kcli.tools.reassignment_calls import (
    Failed,
    alter_reassignments,
    assignment_of,
    list_reassignments,
    tp_text,
)
from kcli.tools.reassignment_json import (
    format_reassignment_json,
    java_list,
    parse_reassignment,
    read_file,
)
from kcli.tools.reassignment_log_dirs import (
    execute_moves,
    format_move_states,
    log_dir_move_states,
)
from kcli.tools.reassignment_throttles import (
    clear_all_throttles,
    set_log_dir_throttle,
    set_throttles,
)

PROG = "kafka-reassign-partitions"

HELP_TEXT = "This tool helps to move topic partitions between replicas."

ACTIONS = ("generate", "execute", "verify", "cancel", "list")

CANNOT_EXECUTE = (
    "Cannot execute because there is an existing partition assignment.  Use --additional to override this "
    "and create a new partition assignment in addition to the existing one. The --additional flag can also "
    "be used to change the throttle by resubmitting the current reassignment."
)

RUN_VERIFY = (
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle "
    "is removed."
)

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


def generate(view: Any, topics_json: str, broker_list: str, rack_aware: bool) -> None:
    try:
        brokers = [int(b) for b in broker_list.split(",")]
    except ValueError as exc:
        raise Failed(f"java.lang.NumberFormatException: {exc}") from None
    duplicates = sorted({b for b in brokers if brokers.count(b) > 1})
    if duplicates:
        raise Failed(f"Broker list contains duplicate entries: {java_list(duplicates)}")
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
        raise Failed(f"List of topics to reassign contains duplicate entries: {java_list(dup_topics)}")
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


def execute(
    view: Any, text: str, additional: bool, throttle: int, log_dir_throttle: int, timeout_ms: int = 10000
) -> None:
    parts, dirs = parse_reassignment(text)
    if not parts:
        raise Failed("Partition reassignment list cannot be empty")
    if any(not reps for _, reps in parts):
        raise Failed("Partition replica list cannot be empty")
    keys = [tp for tp, _ in parts]
    dup = [tp for tp in dict.fromkeys(keys) if keys.count(tp) > 1]
    if dup:
        raise Failed(
            f"Partition reassignment contains duplicate topic partitions: {','.join(map(tp_text, dup))}"
        )
    dup_entries = [(tp, sorted({r for r in reps if reps.count(r) > 1})) for tp, reps in parts]
    dup_entries = [(tp, d) for tp, d in dup_entries if d]
    if dup_entries:
        raise Failed(
            "Partition replica lists may not contain duplicate entries: "
            + ". ".join(
                f"{tp_text(tp)} contains multiple entries for {','.join(map(str, d))}"
                for tp, d in dup_entries
            )
        )
    proposed = dict(parts)
    if not additional and list_reassignments(view):
        raise Failed(CANNOT_EXECUTE, terse=True)
    view.load([])
    for reps in proposed.values():
        for b in reps:
            if b not in view.brokers:
                raise Failed(f"Unknown broker id {b}")
    current = assignment_of(view, set(proposed))
    print(
        f"Current partition replica assignment\n\n{format_reassignment_json(current)}\n\n"
        "Save this to use as the --reassignment-json-file option during rollback"
    )
    if throttle >= 0 or log_dir_throttle >= 0:
        print(RUN_VERIFY)
        if throttle >= 0:
            set_throttles(view, proposed, current, throttle)
        if log_dir_throttle >= 0:
            set_log_dir_throttle(view, dirs, log_dir_throttle)
    errors = alter_reassignments(view, proposed)
    if errors:
        lines = "\n".join(f"{tp_text(tp)}: {errors[tp]}" for tp in sorted(errors))
        raise Failed(f"Error reassigning partition(s):\n{lines}", terse=True)
    names = ",".join(tp_text(tp) for tp in sorted(proposed))
    print(f"Successfully started partition reassignment{'' if len(proposed) == 1 else 's'} for {names}")
    if dirs:
        execute_moves(view, dirs, timeout_ms)


def verify(view: Any, text: str, preserve_throttles: bool) -> None:
    parts, _dirs = parse_reassignment(text)
    ongoing = list_reassignments(view)
    view.load(sorted({t for (t, _), _ in parts}))
    lines = ["Status of partition reassignment:"]
    for tp, target in sorted(dict(parts).items()):
        if tp in ongoing:
            lines.append(f"Reassignment of partition {tp_text(tp)} is still in progress.")
            continue
        current = view.topics.get(tp[0], {}).get(tp[1], [])
        if current == target:
            lines.append(f"Reassignment of partition {tp_text(tp)} is completed.")
        else:
            lines.append(
                f"There is no active reassignment of partition {tp_text(tp)}, but replica set is "
                f"{','.join(map(str, current))} rather than {','.join(map(str, target))}."
            )
    print("\n".join(lines))
    states = log_dir_move_states(view, _dirs)
    print(format_move_states(states, _dirs))
    moving = any(state[0] != "completed" for state in states.values())
    if not ongoing and not moving and not preserve_throttles:
        clear_all_throttles(view, parts)


def cancel(view: Any, text: str, preserve_throttles: bool, timeout_ms: int = 10000) -> None:
    parts, dirs = parse_reassignment(text)
    wanted = [tp for tp, _ in parts]
    running = list_reassignments(view, wanted)
    # Kafka 3.9's tool (ReassignPartitionsCommand.cancelAssignment, Java) cancels those with no
    # adding replicas or some removing ones - so a move that only adds replicas is not cancelled
    # by the tool (the Scala tool before it tested "adding or removing"); kept as Kafka does it.
    cancelling = sorted(tp for tp, r in running.items() if not r.adding_replicas or r.removing_replicas)
    if cancelling:
        errors = alter_reassignments(view, {tp: None for tp in cancelling})
        if errors:
            lines = "\n".join(f"{tp_text(tp)}: {errors[tp]}" for tp in sorted(errors))
            raise Failed(
                f"Error cancelling partition reassignment{'' if len(errors) == 1 else 's'} for:\n{lines}",
                terse=True,
            )
        names = ",".join(tp_text(tp) for tp in cancelling)
        print(
            f"Successfully cancelled partition reassignment{'' if len(cancelling) == 1 else 's'} for: {names}"
        )
    else:
        print("None of the specified partition reassignments are active.")
    # Kafka prints this without a line end, so the throttle line follows on the same line.
    # Moves between log dirs under way go back to the dir they are in, as Kafka's tool does it.
    states = log_dir_move_states(view, dirs) if dirs else {}
    moving = {r: state[1] for r, state in states.items() if state[0] == "active"}
    if moving:
        execute_moves(view, moving, timeout_ms)
    else:
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
        line = f"{tp_text(tp)}: replicas: {','.join(map(str, r.replicas))}."
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
                    view,
                    read_file(args.topics_to_move_json_file),
                    args.broker_list,
                    not args.disable_rack_aware,
                )
            elif action == "execute":
                execute(
                    view,
                    read_file(args.reassignment_json_file),
                    args.additional,
                    throttle,
                    log_dir_throttle,
                    _long(args.timeout, "timeout", 10000),
                )
            elif action == "verify":
                verify(view, read_file(args.reassignment_json_file), args.preserve_throttles)
            elif action == "cancel":
                cancel(
                    view,
                    read_file(args.reassignment_json_file),
                    args.preserve_throttles,
                    _long(args.timeout, "timeout", 10000),
                )
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
