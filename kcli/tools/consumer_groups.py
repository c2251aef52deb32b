"""kafka-consumer-groups: list, describe, reset offsets of, and delete consumer groups.

Everything goes through confluent-kafka's AdminClient (ListGroups, DescribeGroups, OffsetFetch,
OffsetCommit, DeleteGroups, ListOffsets), so the tool works against any Kafka cluster, not only
kcli's broker. The one exception is ``--delete-offsets``: the Python binding has no OffsetDelete
call, so FindCoordinator and OffsetDelete are sent as plain requests encoded with kio (PLAINTEXT
listeners only).

Output follows Kafka's ConsumerGroupCommand: the same tables (left-aligned columns padded to the
widest value, at least 15 wide), the same messages on the same streams, and the same exit codes.
Kafka's tool reports every failure of an action with ``printError`` (a blank line and ``Error: ...``
on stdout, the Java stack trace on stderr) and still exits 0; see :func:`describe` and
:func:`delete_groups` for a missing group.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import re
import socket
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kcli.tools.cli import ToolError, ToolParser, UsageError, add_bootstrap, resolve_bootstrap, run

MISSING = "-"
STATE_NAMES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}
CONSUMER_STATES = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"]
DRY_RUN_WARNING = (
    "WARN: No action will be performed as the --execute option is missing.In a future major release, "
    "the default behavior of this command will be to prompt the user before executing the reset rather "
    "than doing a dry run. You should add the --dry-run option explicitly if you are scripting this "
    "command and want to keep the current default behavior without prompting."
)
RESET_TARGETS = (
    "to_offset",
    "shift_by",
    "to_datetime",
    "by_duration",
    "to_earliest",
    "to_latest",
    "to_current",
    "from_file",
)
# Java exception names and messages for the errors this tool reports per group or partition.
JAVA_ERRORS = {
    3: ("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
    15: ("CoordinatorNotAvailableException", "The coordinator is not available."),
    16: ("NotCoordinatorException", "This is not the correct coordinator."),
    24: ("InvalidGroupIdException", "The configured groupId is invalid."),
    30: ("GroupAuthorizationException", "Not authorized to access group: Group authorization failed."),
    68: ("GroupNotEmptyException", "The group is not empty."),
    69: ("GroupIdNotFoundException", "The group id does not exist."),
    86: ("GroupSubscribedToTopicException", "The consumer group is actively subscribed to the topic"),
}


class CommandFailed(Exception):
    """A failure Kafka's tool reports as "Error: Executing consumer group command failed due to ..."."""


class GroupNotFound(CommandFailed):
    """``--describe`` of a group the coordinator does not know, as Kafka 4.x's tool reports it.

    Kafka 4.x's admin client gets GROUP_ID_NOT_FOUND with "Group <id> not found." (DescribeGroups
    v6, KIP-1043); ``describeConsumerGroups`` rethrows it from ``KafkaFuture.get()`` wrapped in an
    ExecutionException, which ``run`` prints with ``printError`` and then returns normally.
    """

    def __init__(self, group: str):
        super().__init__(f"org.apache.kafka.common.errors.GroupIdNotFoundException: Group {group} not found.")
        self.group = group

    def java_trace_head(self) -> str:
        """The first line of the stack trace Kafka prints on stderr (we have no Java frames)."""
        return f"java.util.concurrent.ExecutionException: {self}"


def printf(fmt_widths: Sequence[int], values: Sequence[Any]) -> str:
    """Java's ``%-Ns`` columns joined by single spaces; width 0 means "no padding" (``%s``)."""
    cells = []
    for width, value in zip(fmt_widths, values, strict=True):
        text = str(value)
        cells.append(text.ljust(width) if width else text)
    return " ".join(cells)


def error_line(message: str) -> None:
    """Kafka's ``printError``: a blank line, then ``Error: ...``, on stdout."""
    print(f"\nError: {message}")


def java_error(code: int, fallback: str = "") -> str:
    name, message = JAVA_ERRORS.get(code, ("KafkaException", fallback or f"error code {code}"))
    return f"org.apache.kafka.common.errors.{name}: {message}"


# --- option parsing -------------------------------------------------------------------------------


def build_parser() -> ToolParser:
    p = ToolParser(
        "kafka-consumer-groups",
        "List all consumer groups, describe a consumer group, delete consumer group info, "
        "or reset consumer group offsets.",
    )
    add_bootstrap(p)
    p.add_argument(
        "--command-config",
        metavar="command config property file",
        help="Client settings (security, timeouts) for the admin client, as a properties file.",
    )
    p.add_argument("--list", action="store_true", help="List all consumer groups.")
    p.add_argument(
        "--describe", action="store_true", help="Describe consumer group(s): offsets, members or state."
    )
    p.add_argument("--delete", action="store_true", help="Delete inactive consumer group(s).")
    p.add_argument(
        "--reset-offsets",
        action="store_true",
        help="Reset the committed offsets of inactive consumer group(s). Plan only unless --execute.",
    )
    p.add_argument(
        "--delete-offsets",
        action="store_true",
        help="Delete the committed offsets of a group for the given topic(s) or partitions.",
    )
    p.add_argument("--validate-regex", metavar="regex", help=argparse.SUPPRESS)
    p.add_argument(
        "--group", action="append", metavar="consumer group", help="The consumer group (repeatable)."
    )
    p.add_argument("--all-groups", action="store_true", help="Apply to all consumer groups.")
    p.add_argument(
        "--topic",
        action="append",
        metavar="topic",
        help="Topic, or topic:partition,partition..., for --reset-offsets and --delete-offsets.",
    )
    p.add_argument(
        "--all-topics", action="store_true", help="Every topic the group has committed offsets for."
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=5000,
        metavar="timeout (ms)",
        help="Time to wait for the group to answer, in ms (default: 5000).",
    )
    p.add_argument("--dry-run", action="store_true", help="Only show the result of --reset-offsets.")
    p.add_argument("--execute", action="store_true", help="Commit the offsets computed by --reset-offsets.")
    p.add_argument("--export", action="store_true", help="Print the --reset-offsets plan as CSV.")
    p.add_argument("--to-offset", type=int, metavar="offset", help="Reset to this offset.")
    p.add_argument(
        "--from-file",
        metavar="path to CSV file",
        help="Reset to the offsets of a CSV file (topic,partition,offset).",
    )
    p.add_argument(
        "--to-datetime",
        metavar="datetime",
        help="Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss[zone].",
    )
    p.add_argument("--by-duration", metavar="duration", help="Reset to the offset this long ago: PnDTnHnMnS.")
    p.add_argument("--to-earliest", action="store_true", help="Reset to the earliest offset.")
    p.add_argument("--to-latest", action="store_true", help="Reset to the latest offset.")
    p.add_argument("--to-current", action="store_true", help="Reset to the current committed offset.")
    p.add_argument(
        "--shift-by",
        type=int,
        metavar="number-of-offsets",
        help="Move the committed offsets by this many (negative moves back).",
    )
    p.add_argument("--members", action="store_true", help="With --describe: the members of the group.")
    p.add_argument("--verbose", action="store_true", help="With --describe --members: assignments too.")
    p.add_argument("--offsets", action="store_true", help="With --describe: offsets and lag (the default).")
    p.add_argument(
        "--state",
        nargs="?",
        const="",
        metavar="states",
        help="With --describe: the group's state; with --list: filter by state (comma-separated).",
    )
    p.add_argument("--type", nargs="?", const="", metavar="types", help=argparse.SUPPRESS)
    from kcli.tools.cli import add_explain  # kcli's --explain (kcli/tools/explain.py)

    add_explain(p)
    return p


def check_args(parser: ToolParser, args: argparse.Namespace) -> None:
    """The option combinations Kafka's tool accepts, with its messages."""
    actions = ["list", "describe", "delete", "reset_offsets", "delete_offsets", "validate_regex"]
    chosen = [a for a in actions if getattr(args, a)]
    if len(chosen) != 1:
        parser.fail(
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, "
            "--delete-offsets, --validate-regex"
        )
    selection = "--group, --all-groups"
    if args.describe:
        if not args.group and not args.all_groups:
            parser.fail(f"Option [describe] takes one of these options: {selection}")
        if sum(bool(x) for x in (args.members, args.offsets, args.state is not None)) > 1:
            parser.fail("Option [describe] takes at most one of these options: [members], [offsets], [state]")
        if args.state:
            parser.fail("Option [describe] does not take a value for [state]")
    if args.delete:
        if not args.group and not args.all_groups:
            parser.fail(f"Option [delete] takes one of these options: {selection}")
        if args.topic:
            parser.fail("The consumer does not support topic-specific offset deletion from a consumer group.")
    if args.delete_offsets and (not args.group or not args.topic):
        parser.fail("Option [delete-offsets] takes the following options: --group, --topic")
    if args.reset_offsets:
        if args.dry_run and args.execute:
            parser.fail("Option [reset-offsets] only accepts one of [execute] and [dry-run]")
        if not args.dry_run and not args.execute:
            print(DRY_RUN_WARNING, file=sys.stderr)
        if not args.group and not args.all_groups:
            parser.fail(f"Option [reset-offsets] takes one of these options: {selection}")
        targets = [t for t in RESET_TARGETS if getattr(args, t) not in (None, False)]
        if len(targets) > 1:
            parser.fail(
                f"Option [{targets[0].replace('_', '-')}] can't be used with option "
                f"[{targets[1].replace('_', '-')}]"
            )
        if not targets:
            parser.fail(
                "Option [reset-offsets] requires one of the following scenarios: [to-offset], [shift-by], "
                "[to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file]"
            )
    if args.group and args.all_groups:
        parser.fail("Option [group] can't be used with option [all-groups]")
    if args.group and args.list:
        parser.fail("Option [group] can't be used with option [list]")
    if args.topic and not (args.delete or args.reset_offsets or args.delete_offsets):
        parser.fail("Option [topic] can't be used with option [" + chosen[0].replace("_", "-") + "]")
    if args.list and args.state:
        states = [s.strip() for s in args.state.split(",")]
        valid = {s.lower(): s for s in CONSUMER_STATES}
        if any(s.lower() not in valid for s in states):
            parser.fail(f"Invalid state list '{args.state}'. Valid states are: {', '.join(CONSUMER_STATES)}")


# --- the admin side -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the offsets table."""

    group: str
    topic: str | None
    partition: int | None
    offset: int | None
    log_end: int | None
    consumer_id: str
    host: str
    client_id: str
    leader_epoch: int | None = None

    @property
    def lag(self) -> int | None:
        if self.offset is None or self.offset == -1 or self.log_end is None:
            return None
        return self.log_end - self.offset


class GroupService:
    """The AdminClient calls of the tool; every call is bounded by ``--timeout``."""

    def __init__(self, admin: Any, timeout_ms: int, wire: tuple[str, dict[str, Any]] | None = None):
        self.admin = admin
        self.timeout_s = max(timeout_ms, 1) / 1000
        self.wire = wire  # (bootstrap, config) for the requests the admin client lacks (group_wire)
        # (group, topic, partition) -> leader epoch of the committed offset (for --verbose)
        self.leader_epochs: dict[tuple[str, str, int], int | None] = {}

    def result(self, future: Any) -> Any:
        import concurrent.futures

        try:
            return future.result(timeout=self.timeout_s + 5)
        except concurrent.futures.TimeoutError:
            raise ToolError(f"Timed out after {self.timeout_s:g} s waiting for the broker") from None

    def list_groups(self, states: Iterable[str] = ()) -> list[Any]:
        from confluent_kafka import ConsumerGroupState

        wanted = {s.lower() for s in states}
        by_name = {v.lower(): ConsumerGroupState[k] for k, v in STATE_NAMES.items() if k != "UNKNOWN"}
        kwargs: dict[str, Any] = {"request_timeout": self.timeout_s}
        if wanted:
            kwargs["states"] = {by_name[s] for s in wanted}
        result = self.result(self.admin.list_consumer_groups(**kwargs))
        return sorted(result.valid, key=lambda g: g.group_id)

    def describe(self, groups: list[str]) -> dict[str, Any]:
        """group -> ConsumerGroupDescription, or None for a group the broker does not know."""
        from confluent_kafka import KafkaException

        if not groups:  # --all-groups on a cluster without groups
            return {}
        futures = self.admin.describe_consumer_groups(groups, request_timeout=self.timeout_s)
        described: dict[str, Any] = {}
        for group, future in futures.items():
            try:
                described[group] = self.result(future)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if getattr(err, "code", lambda: None)() == 69:  # GROUP_ID_NOT_FOUND (DescribeGroups v6)
                    described[group] = None
                else:
                    raise
        return described

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        from confluent_kafka import ConsumerGroupTopicPartitions

        futures = self.admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout_s
        )
        result = self.result(futures[group])
        found = [tp for tp in result.topic_partitions or [] if tp.offset >= 0 and tp.error is None]
        for tp in found:
            epoch = getattr(tp, "leader_epoch", None)
            self.leader_epochs[(group, tp.topic, tp.partition)] = (
                epoch if epoch is not None and epoch >= 0 else None
            )
        return {(tp.topic, tp.partition): tp.offset for tp in found}

    def log_offsets(
        self, partitions: Iterable[tuple[str, int]], spec: Any
    ) -> dict[tuple[str, int], int | None]:
        """ListOffsets for each partition with ``spec``; None where the broker did not answer."""
        from confluent_kafka import KafkaException, TopicPartition

        wanted = {TopicPartition(t, p): spec for t, p in partitions}
        if not wanted:
            return {}
        futures = self.admin.list_offsets(wanted, request_timeout=self.timeout_s)
        out: dict[tuple[str, int], int | None] = {}
        for tp, future in futures.items():
            try:
                out[(tp.topic, tp.partition)] = self.result(future).offset
            except KafkaException:
                out[(tp.topic, tp.partition)] = None
        return out

    def topic_partitions(self, topics: Iterable[str]) -> dict[str, list[int]]:
        """Partitions of each existing topic (missing topics are left out)."""
        found: dict[str, list[int]] = {}
        for topic in sorted(set(topics)):
            # One topic per request: a named-topic Metadata request never auto-creates here
            # (allow.auto.create.topics is off for the admin client) and stays small.
            metadata = self.admin.list_topics(topic=topic, timeout=self.timeout_s + 5)
            info = metadata.topics.get(topic)
            if info is not None and info.error is None and info.partitions:
                found[topic] = sorted(info.partitions)
        return found

    def alter(self, group: str, offsets: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        )
        futures = self.admin.alter_consumer_group_offsets([request], request_timeout=self.timeout_s)
        result = self.result(futures[group])
        failed = [tp for tp in result.topic_partitions or [] if tp.error is not None]
        if failed:
            raise ToolError(
                f"Failed to reset offsets of {failed[0].topic}-{failed[0].partition}: {failed[0].error}"
            )

    def delete(self, groups: list[str]) -> dict[str, Any]:
        """group -> None on success, else the error."""
        from confluent_kafka import KafkaException

        if not groups:
            return {}
        futures = self.admin.delete_consumer_groups(groups, request_timeout=self.timeout_s)
        out: dict[str, Any] = {}
        for group, future in futures.items():
            try:
                self.result(future)
                out[group] = None
            except KafkaException as exc:
                out[group] = exc.args[0] if exc.args else exc
        return out


def state_name(description: Any | None, facts: Any | None = None) -> str:
    if facts is not None:
        return facts.state  # Assigning and Reconciling, which librdkafka reports as Unknown
    if description is None:
        return "Dead"
    state = description.state
    return STATE_NAMES.get(getattr(state, "name", str(state)), str(state))


def should_print(group: str, state: str | None, rows: int | None) -> bool:
    """Kafka's per-group banner: missing/dead groups, empty groups, rebalancing groups."""
    if rows is None:
        error_line(f"The consumer group '{group}' does not exist.")
        return False
    if state == "Dead":
        error_line(f"Consumer group '{group}' does not exist.")
    elif state == "Empty":
        print(f"\nConsumer group '{group}' has no active members.", file=sys.stderr)
    elif state in ("PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling"):
        print(f"\nWarning: Consumer group '{group}' is rebalancing.", file=sys.stderr)
    return state != "Dead" and rows > 0


# --- describe -------------------------------------------------------------------------------------


def collect_offsets(svc: GroupService, group: str, description: Any | None) -> list[Row]:
    from confluent_kafka.admin import OffsetSpec

    committed = svc.committed(group)
    assigned: list[tuple[Any, list[tuple[str, int]]]] = []
    for member in description.members if description is not None else []:
        tps = [(tp.topic, tp.partition) for tp in member.assignment.topic_partitions]
        if tps:
            assigned.append((member, tps))
    assigned.sort(key=lambda mt: -len(mt[1]))
    all_assigned = {tp for _, tps in assigned for tp in tps}
    unassigned = sorted(tp for tp in committed if tp not in all_assigned)
    ends = svc.log_offsets(sorted(all_assigned | set(unassigned)), OffsetSpec.latest())
    rows: list[Row] = []
    for member, tps in assigned:
        for t, p in sorted(tps):
            rows.append(
                Row(
                    group,
                    t,
                    p,
                    committed.get((t, p)),
                    ends.get((t, p)),
                    member.member_id,
                    member.host,
                    member.client_id,
                )
            )
    for t, p in unassigned:
        rows.append(Row(group, t, p, committed.get((t, p)), ends.get((t, p)), MISSING, MISSING, MISSING))
    for r in rows:
        r.leader_epoch = svc.leader_epochs.get(
            (group, r.topic or "", r.partition if r.partition is not None else -1)
        )
    return rows


def print_offsets(group: str, state: str, rows: list[Row], verbose: bool = False) -> None:
    """Kafka's offsets table; ``--verbose`` adds the committed offset's LEADER-EPOCH column."""
    if not should_print(group, state, len(rows)):
        return
    widths = [
        max([15, *(len(r.group) for r in rows)]),
        max([15, *(len(r.topic or MISSING) for r in rows)]),
        10,
        *([15] if verbose else []),
        15,
        15,
        15,
        max([15, *(len(r.consumer_id) for r in rows)]),
        max([15, *(len(r.host) for r in rows)]),
        0,
    ]
    header = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST"]
    header.append("CLIENT-ID")
    if verbose:
        header.insert(3, "LEADER-EPOCH")
    out = ["", printf(widths, header)]

    def show(value: int | None) -> str:
        return MISSING if value is None else str(value)

    for r in rows:
        if verbose:
            values = [r.group, r.topic or MISSING, show(r.partition), show(r.leader_epoch), show(r.offset)]
            values += [show(r.log_end), show(r.lag), r.consumer_id, r.host, r.client_id]
            out.append(printf(widths, values))
            continue
        out.append(
            printf(
                widths,
                [
                    r.group,
                    r.topic or MISSING,
                    show(r.partition),
                    show(r.offset),
                    show(r.log_end),
                    show(r.lag),
                    r.consumer_id,
                    r.host,
                    r.client_id,
                ],
            )
        )
    print("\n".join(out))


def assignment_string(tps: list[tuple[str, int]]) -> str:
    by_topic: dict[str, list[int]] = {}
    for t, p in tps:
        by_topic.setdefault(t, []).append(p)
    return ";".join(sorted(f"{t}:" + ",".join(str(p) for p in sorted(ps)) for t, ps in by_topic.items()))


def print_members(group: str, description: Any | None, verbose: bool, facts: Any | None = None) -> None:
    """``--members``; a consumer group's epochs (and UPGRADED while it mixes protocols) come from
    ConsumerGroupDescribe (``facts``), as in Kafka 4.x."""
    state = state_name(description, facts)
    members = list(description.members) if description is not None else []
    shown = should_print(group, state, len(members))
    g_w, c_w, i_w, h_w, cl_w, cur_w, tgt_w = 15, 15, 17, 15, 15, 20, 20
    with_instance = False
    infos = []
    for m in members:
        tps = [(tp.topic, tp.partition) for tp in m.assignment.topic_partitions]
        target = getattr(m, "target_assignment", None)
        target_tps = [(tp.topic, tp.partition) for tp in target.topic_partitions] if target else []
        instance = m.group_instance_id or ""
        current = assignment_string(tps) if tps else MISSING
        target_text = assignment_string(target_tps) if target_tps else MISSING
        infos.append((m, instance, len(tps), current, target_text))
        if shown:
            g_w, c_w, i_w = max(g_w, len(group)), max(c_w, len(m.member_id)), max(i_w, len(instance))
            h_w, cl_w = max(h_w, len(m.host)), max(cl_w, len(m.client_id))
            cur_w, tgt_w = max(cur_w, len(current)), max(tgt_w, len(target_text))
            with_instance = with_instance or bool(instance)
    base = [g_w, c_w, i_w, h_w, cl_w, 15] if with_instance else [g_w, c_w, h_w, cl_w, 15]
    header = ["GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
    if not with_instance:
        header.remove("GROUP-INSTANCE-ID")
    kinds = {
        f.upgraded for f in (facts.members.values() if facts is not None else ()) if f.upgraded is not None
    }
    migrating = shown and kinds == {True, False}
    extra = [15, cur_w, 15, tgt_w, *([0] if migrating else [])]
    line = printf(base, header) + " "
    if verbose:
        titles = ["CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT"]
        line += printf(extra, [*titles, *(["UPGRADED"] if migrating else [])])
    print("\n" + line)
    for m, instance, count, current, target_text in infos:
        values = [group, m.member_id, instance, m.host, m.client_id, count]
        if not with_instance:
            values.pop(2)
        line = printf(base, values) + " "
        if verbose:
            member = facts.members.get(m.member_id) if facts is not None else None
            epochs = [MISSING, MISSING] if member is None else [member.epoch, facts.assignment_epoch]
            upgraded = [] if not migrating else [MISSING if member is None else str(member.upgraded).lower()]
            line += printf(extra, [epochs[0], current, epochs[1], target_text, *upgraded])
        print(line)


def print_state(group: str, description: Any | None, verbose: bool, facts: Any | None = None) -> None:
    state = state_name(description, facts)
    if not should_print(group, state, 1) or description is None:
        return
    node = description.coordinator
    coordinator = f"{node.host}:{node.port}  ({node.id})"
    strategy = description.partition_assignor or MISSING
    c_w, g_w = max(25, len(coordinator)), max(15, len(group))
    members = len(description.members)
    if verbose:
        widths = [g_w, c_w, 20, 20, 15, 25, 0]
        header = [
            "GROUP",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "GROUP-EPOCH",
            "TARGET-ASSIGNMENT-EPOCH",
            "#MEMBERS",
        ]
        epochs = [MISSING, MISSING] if facts is None else [facts.group_epoch, facts.assignment_epoch]
        row = [group, coordinator, strategy, state, *epochs, members]
    else:
        widths = [g_w, c_w, 20, 20, 0]
        header = ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
        row = [group, coordinator, strategy, state, members]
    print("\n" + printf(widths, header) + "\n" + printf(widths, row))


def describe(svc: GroupService, args: argparse.Namespace, groups: list[str]) -> None:
    """``--describe`` (offsets, members or state) of every requested group.

    A missing group fails the whole action before anything is printed, as in Kafka 4.x, whose
    ``describeConsumerGroups`` waits for every group's description first. Reviewed against
    Kafka's ConsumerGroupCommand (tools/.../consumer/group/ConsumerGroupCommand.java, 4.x) and its
    DescribeConsumerGroupTest.testDescribeNonExistingGroup: on stdout
    "\nError: Executing consumer group command failed due to
    org.apache.kafka.common.errors.GroupIdNotFoundException: Group <g> not found.", the stack trace
    on stderr, exit code 0 (``run`` catches the exception and ``main`` returns normally). Kafka 3.x
    printed "Error: Consumer group '<g>' does not exist." instead, because before DescribeGroups v6 a
    broker describes a missing group as Dead. This broker answers v6 like Kafka 4.x, and librdkafka
    still asks with an older version, so a Dead description means the same missing group here.
    """
    described = svc.describe(groups)
    for group in groups:
        if state_name(described.get(group)) == "Dead":
            raise GroupNotFound(group)
    facts = consumer_group_facts(svc, described) if args.members or args.state is not None else {}
    for group in sorted(described):
        description = described[group]
        if args.members:
            print_members(group, description, args.verbose, facts.get(group))
        elif args.state is not None:
            print_state(group, description, args.verbose, facts.get(group))
        else:
            rows = collect_offsets(svc, group, description)
            print_offsets(group, state_name(description), rows, args.verbose)


def consumer_group_facts(svc: GroupService, described: dict[str, Any]) -> dict[str, Any]:
    """KIP-848 facts (epochs, exact state) of the described groups that are consumer groups."""
    from kcli.tools import group_wire

    wanted = [g for g, d in described.items() if getattr(getattr(d, "type", None), "name", "") == "CONSUMER"]
    if not wanted or svc.wire is None:
        return {}
    try:
        return group_wire.describe_consumer_groups(svc.wire[0], svc.wire[1], wanted, svc.timeout_s)
    except group_wire.WireUnavailable:
        return {}


def list_groups(svc: GroupService, args: argparse.Namespace) -> None:
    if args.state is None and args.type is None:
        for g in svc.list_groups():
            print(g.group_id)
        return
    states = [s.strip() for s in args.state.split(",")] if args.state else []
    listed = svc.list_groups(states)
    width = max([15, *(len(g.group_id) for g in listed)]) + 10
    widths = [width]
    header = ["GROUP"]
    if args.type is not None:
        widths.append(20)
        header.append("TYPE")
    if args.state is not None:
        widths.append(20)
        header.append("STATE")
    print(printf(widths, header))
    for g in listed:
        row = [g.group_id]
        if args.type is not None:
            row.append(getattr(getattr(g, "type", None), "name", "UNKNOWN").capitalize())
        if args.state is not None:
            row.append(STATE_NAMES.get(getattr(g.state, "name", ""), "Unknown"))
        print(printf(widths, row))


# --- reset offsets --------------------------------------------------------------------------------


def parse_datetime(text: str) -> int:
    """Kafka's ``Utils.getDateTime``: ``yyyy-MM-ddTHH:mm:ss.SSS`` plus optional zone (UTC if none)."""
    if "T" not in text:
        raise ToolError(
            f"Error parsing timestamp. It does not contain a 'T' according to ISO8601 format: {text}"
        )
    time_part = text.split("T", 1)[1]
    if not any(c in time_part for c in "+-Z"):
        text += "Z"
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})\.(\d{3})(Z|[+-]\d{2}(?::?\d{2})?)", text)
    if not match:
        raise ToolError(
            f'Unparseable date: "{text}" (expected YYYY-MM-DDTHH:mm:SS.sss, optionally with a zone)'
        )
    day, clock, millis, zone = match.groups()
    if zone == "Z":
        tz = datetime.UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
        tz = datetime.timezone(sign * datetime.timedelta(minutes=minutes))
    try:
        moment = datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=tz)
    except ValueError:
        raise ToolError(f'Unparseable date: "{text}"') from None
    return int(moment.timestamp()) * 1000 + int(millis)


def parse_duration(text: str) -> datetime.timedelta:
    """Java's ``Duration.parse``: ``[-]PnDTnHnMn.nS``."""
    match = re.fullmatch(
        r"([-+]?)P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?",
        text.strip().upper(),
    )
    if not match or text.strip().upper() in ("P", "PT", "-P", "-PT") or text.strip().upper().endswith("T"):
        raise ToolError(f"Text cannot be parsed to a Duration: {text}")
    sign, days, hours, minutes, seconds, fraction = match.groups()
    total = datetime.timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
        microseconds=int((fraction or "0").ljust(6, "0")[:6])
        * (-1 if (seconds or "").startswith("-") else 1),
    )
    return -total if sign == "-" else total


def parse_topic_args(svc: GroupService, topics: list[str]) -> list[tuple[str, int]]:
    """``topic`` (every partition) or ``topic:0,2`` items, in the order given."""
    explicit: list[tuple[str, int]] = []
    whole: list[str] = []
    for arg in topics:
        if ":" in arg:
            parts = arg.split(":")
            if len(parts) != 2:
                raise UsageError(f"Invalid topic arg '{arg}', expected topic name and partitions")
            for p in parts[1].split(","):
                try:
                    explicit.append((parts[0], int(p)))
                except ValueError:
                    raise UsageError(f"Invalid partition '{p}' specified in topic arg '{arg}''") from None
        else:
            whole.append(arg)
    if whole:
        found = svc.topic_partitions(whole)
        missing = [t for t in whole if t not in found]
        if missing:
            raise ToolError(f"This server does not host this topic-partition: {', '.join(missing)}")
        for t in whole:
            explicit.extend((t, p) for p in found[t])
    return explicit


def read_plan(path: str, groups: list[str]) -> dict[str, dict[tuple[str, int], int]]:
    """The CSV of ``--from-file``: ``topic,partition,offset`` for one group, else with the group first."""
    try:
        with open(path, newline="") as handle:
            lines = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except OSError as exc:
        raise ToolError(f"{path} ({exc.strerror or exc})") from None
    plan: dict[str, dict[tuple[str, int], int]] = {}
    try:
        for row in lines:
            if len(groups) == 1 and len(row) == 3:
                group, topic, partition, offset = groups[0], *row
            elif len(row) == 4:
                group, topic, partition, offset = row
            else:
                raise ValueError(",".join(row))
            plan.setdefault(group.strip(), {})[(topic.strip(), int(partition))] = int(offset)
    except ValueError as exc:
        raise ToolError(f"Invalid line in {path}: {exc}") from None
    return plan


def clamp(svc: GroupService, requested: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """Offsets outside [log start, log end] move to the nearest end, as Kafka's tool does."""
    from confluent_kafka.admin import OffsetSpec

    starts = svc.log_offsets(requested, OffsetSpec.earliest())
    ends = svc.log_offsets(requested, OffsetSpec.latest())
    out = {}
    for tp, offset in requested.items():
        end, start = ends.get(tp), starts.get(tp)
        if end is not None and offset > end:
            offset = end
        elif start is not None and offset < start:
            offset = start
        out[tp] = offset
    return out


def by_timestamp(
    svc: GroupService, partitions: list[tuple[str, int]], timestamp: int
) -> dict[tuple[str, int], int]:
    from confluent_kafka.admin import OffsetSpec

    found = svc.log_offsets(partitions, OffsetSpec.for_timestamp(timestamp))
    result: dict[tuple[str, int], int] = {}
    fallback = []
    for tp in partitions:
        offset = found.get(tp)
        if offset is None or offset < 0:
            print(
                f"\nWarn: Partition {tp[1]} from topic {tp[0]} is empty. Falling back to latest known offset."
            )
            fallback.append(tp)
        else:
            result[tp] = offset
    for tp, offset in svc.log_offsets(fallback, OffsetSpec.latest()).items():
        if offset is None:
            raise ToolError(f"Error getting offset by timestamp of topic partition: {tp[0]}-{tp[1]}")
        result[tp] = offset
    return result


def plan_reset(
    svc: GroupService,
    args: argparse.Namespace,
    group: str,
    plan_file: dict[str, dict[tuple[str, int], int]] | None,
) -> dict[tuple[str, int], int]:
    """The new offsets for one inactive group, computed as Kafka's GroupOffsetsResetter does."""
    from confluent_kafka.admin import OffsetSpec

    if plan_file is not None:
        if group not in plan_file:
            error_line(f"No reset plan for group {group} found.")
            return {}
        return clamp(svc, plan_file[group])
    if args.all_topics:
        partitions = sorted(svc.committed(group))
    elif args.topic:
        partitions = parse_topic_args(svc, args.topic)
    else:
        raise UsageError("One of the reset scopes should be defined: --all-topics, --topic.")
    existing = svc.topic_partitions({t for t, _ in partitions})
    unknown = [f"{t}-{p}" for t, p in partitions if p not in existing.get(t, [])]
    if unknown:
        raise CommandFailed(f'The partitions "{",".join(unknown)}" do not exist')
    if args.to_offset is not None:
        return clamp(svc, dict.fromkeys(partitions, args.to_offset))
    if args.to_earliest or args.to_latest:
        spec = OffsetSpec.earliest() if args.to_earliest else OffsetSpec.latest()
        found = svc.log_offsets(partitions, spec)
        for tp in partitions:
            if found.get(tp) is None:
                which = "starting" if args.to_earliest else "ending"
                raise UsageError(f"Error getting {which} offset of topic partition: {tp[0]}-{tp[1]}")
        return {tp: found[tp] for tp in partitions}  # type: ignore[misc]
    if args.shift_by is not None:
        current = svc.committed(group)
        for t, p in partitions:
            if (t, p) not in current:
                raise UsageError(
                    f"Cannot shift offset for partition {t}-{p} since there is no current committed offset"
                )
        return clamp(svc, {tp: current[tp] + args.shift_by for tp in partitions})
    if args.to_datetime is not None:
        return by_timestamp(svc, partitions, parse_datetime(args.to_datetime))
    if args.by_duration is not None:
        ago = datetime.datetime.now(datetime.UTC) - parse_duration(args.by_duration)
        return by_timestamp(svc, partitions, int(ago.timestamp() * 1000))
    if args.to_current:
        current = svc.committed(group)
        result = {tp: current[tp] for tp in partitions if tp in current}
        missing = [tp for tp in partitions if tp not in current]
        for tp, offset in svc.log_offsets(missing, OffsetSpec.latest()).items():
            if offset is None:
                raise ToolError(f"Error getting ending offset of topic partition: {tp[0]}-{tp[1]}")
            result[tp] = offset
        return result
    raise UsageError("Option [reset-offsets] requires one of the following scenarios")


def reset_offsets(svc: GroupService, args: argparse.Namespace, groups: list[str]) -> None:
    plan_file = read_plan(args.from_file, groups) if args.from_file else None
    described = svc.describe(groups)
    results: dict[str, dict[tuple[str, int], int]] = {}
    for group in groups:
        state = state_name(described.get(group))
        if state in ("Empty", "Dead"):
            planned = plan_reset(svc, args, group, plan_file)
            if args.execute and planned:
                svc.alter(group, planned)
            results[group] = planned
        else:
            error_line(
                f"Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
            )
            results[group] = {}
    if args.export:
        single = len(args.group or []) == 1
        lines = []
        for group, planned in results.items():
            for (t, p), o in planned.items():
                lines.append(f"{t},{p},{o}" if single else f"{group},{t},{p},{o}")
        print("\n".join(lines))
        return
    print_plan(results)


def print_plan(results: dict[str, dict[tuple[str, int], int]]) -> None:
    g_w = max([15, *(len(g) for g in results)])
    t_w = max([15, *(len(t) for planned in results.values() for t, _ in planned)])
    widths = [g_w, t_w, 10, 0]
    out = []
    if results:
        out.append("\n" + printf(widths, ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]))
    for group, planned in results.items():
        for (t, p), o in sorted(planned.items()):
            out.append("\n" + printf(widths, [group, t, p, o]))
    print("".join(out))


# --- delete ---------------------------------------------------------------------------------------


def quoted(groups: list[str]) -> str:
    return ", ".join("'" + g + "'" for g in groups)


def delete_groups(svc: GroupService, groups: list[str]) -> None:
    """``--delete``: Kafka's ``deleteGroups`` output, all on stdout, exit code 0 even on failure.

    A missing group is a per-group failure ("* Group '<g>' could not be deleted due to:
    org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist." after
    "Error: Deletion of some consumer groups failed:"): DeleteGroups answers carry no error message,
    so Java prints the exception's default message, and the tool neither throws nor exits non-zero.
    """
    outcome = svc.delete(groups)
    ok = [g for g in groups if outcome.get(g) is None]
    failed = {g: e for g, e in outcome.items() if e is not None}
    if not failed:
        print(f"Deletion of requested consumer groups ({quoted(ok)}) was successful.")
        return
    error_line("Deletion of some consumer groups failed:")
    for group, err in failed.items():
        code = err.code() if hasattr(err, "code") else -1
        text = err.str() if hasattr(err, "str") else str(err)
        print(f"* Group '{group}' could not be deleted due to: {java_error(code, text)}")
    if ok:
        print(f"\nThese consumer groups were deleted successfully: {quoted(ok)}")


def delete_offsets(svc: GroupService, args: argparse.Namespace, bootstrap: str, conf: dict[str, Any]) -> None:
    group = args.group[0]
    partitions: list[tuple[str, int]] = []
    results: dict[tuple[str, int], str | None] = {}
    whole = [t for t in args.topic if ":" not in t]
    found = svc.topic_partitions(whole)
    for t in whole:
        if t in found:
            partitions.extend((t, p) for p in found[t])
        else:
            results[(t, -1)] = "Error: This server does not host this topic-partition."
    partitions.extend(parse_topic_args(svc, [t for t in args.topic if ":" in t]))
    top, per_partition = wire_delete_offsets(bootstrap, conf, group, partitions, svc.timeout_s)
    if top == 0:
        # Kafka's admin client fails the whole call with the first partition error.
        top = next((code for code in per_partition.values() if code), 0)
    if top == 0:
        print(f"Request succeeded for deleting offsets from group {group}.")
    elif top in (24, 69, 30, 68):
        error_line(JAVA_ERRORS[top][1])
    elif top in (86, 29, 3):
        error_line("Encountered some partition-level error, see the follow-up details.")
    else:
        error_line(f"Encountered some unknown error: {top}")
    for tp in partitions:
        code = per_partition.get(tp, top)
        results[tp] = None if code == 0 else "Error: " + JAVA_ERRORS.get(code, ("", f"error code {code}"))[1]
    t_w = max([15, *(len(t) for t, _ in results)])
    widths = [t_w, 10, 15]
    lines = ["", printf(widths, ["TOPIC", "PARTITION", "STATUS"])]
    for (t, p), err in sorted(results.items(), key=lambda kv: kv[0][0] + str(kv[0][1])):
        lines.append(printf(widths, [t, p if p >= 0 else MISSING, err or "Successful"]))
    print("\n".join(lines))


# --- OffsetDelete over the wire -------------------------------------------------------------------


def _exchange(sock: socket.socket, api_key: int, version: int, body: Any, correlation: int) -> Any:
    """Send one request and read its response (both encoded by kio)."""
    import io

    from kio.index import load_request_schema, load_response_schema
    from kio.serial import entity_reader, entity_writer

    request_cls = load_request_schema(api_key, version)
    header_cls = request_cls.__header_schema__
    buf = io.BytesIO()
    entity_writer(header_cls)(
        buf,
        header_cls(
            request_api_key=api_key,
            request_api_version=version,
            correlation_id=correlation,
            client_id="kafka-consumer-groups",
        ),
    )
    entity_writer(request_cls)(buf, body)
    payload = buf.getvalue()
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _read_exactly(sock, 4))
    frame = _read_exactly(sock, size)
    response_cls = load_response_schema(api_key, version)
    _, used = entity_reader(response_cls.__header_schema__)(frame, 0)
    response, _ = entity_reader(response_cls)(frame, used)
    return response


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ToolError("The broker closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def wire_delete_offsets(
    bootstrap: str, conf: dict[str, Any], group: str, partitions: list[tuple[str, int]], timeout_s: float
) -> tuple[int, dict[tuple[str, int], int]]:
    """FindCoordinator v1 then OffsetDelete v0: (group error, error per partition)."""
    from kio.index import load_request_schema

    from kcli.client import split_bootstrap

    if str(conf.get("security.protocol", "plaintext")).lower() != "plaintext":
        raise ToolError(
            "--delete-offsets needs a PLAINTEXT listener (the Python admin client has no OffsetDelete)"
        )
    find_cls = load_request_schema(10, 1)
    delete_cls = load_request_schema(47, 0)
    by_topic: dict[str, list[int]] = {}
    for t, p in partitions:
        by_topic.setdefault(t, []).append(p)
    last_error: Exception | None = None
    for host, port in split_bootstrap(bootstrap):
        try:
            with socket.create_connection((host, port), timeout=timeout_s + 5) as sock:
                found = _exchange(sock, 10, 1, find_cls(key=group, key_type=0), 1)
            if found.error_code != 0:
                return int(found.error_code), {}
            with socket.create_connection((found.host, found.port), timeout=timeout_s + 5) as sock:
                module = __import__(delete_cls.__module__, fromlist=["x"])
                body = delete_cls(
                    group_id=group,
                    topics=tuple(
                        module.OffsetDeleteRequestTopic(
                            name=t,
                            partitions=tuple(
                                module.OffsetDeleteRequestPartition(partition_index=p) for p in ps
                            ),
                        )
                        for t, ps in by_topic.items()
                    ),
                )
                response = _exchange(sock, 47, 0, body, 2)
            per = {
                (t.name, p.partition_index): int(p.error_code) for t in response.topics for p in t.partitions
            }
            return int(response.error_code), per
        except OSError as exc:
            last_error = exc
    raise ToolError(f"Could not reach the group coordinator: {last_error}")


# --- entry point ----------------------------------------------------------------------------------


def body(argv: list[str]) -> int:
    from kcli import client

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.validate_regex is not None:
        try:
            re.compile(args.validate_regex)
            print(f"The regular expression `{args.validate_regex}` is valid.")
        except re.error as exc:
            print(f"The regular expression `{args.validate_regex}` is invalid: {exc}.")
        return 0
    bootstrap = resolve_bootstrap(parser, args)
    assert bootstrap is not None
    check_args(parser, args)
    settings = client.client_settings(bootstrap, args.command_config, None, "admin")
    client.prepare(settings, "admin")
    conf = settings.conf
    admin = client.build("admin", conf)
    svc = GroupService(admin, args.timeout, (bootstrap, conf))
    try:
        groups = sorted(args.group or [])
        if args.all_groups:
            groups = [g.group_id for g in svc.list_groups()]
        if args.list:
            list_groups(svc, args)
        elif args.describe:
            describe(svc, args, groups)
        elif args.reset_offsets:
            reset_offsets(svc, args, list(dict.fromkeys(args.group or [])) if not args.all_groups else groups)
        elif args.delete:
            delete_groups(svc, groups)
        elif args.delete_offsets:
            delete_offsets(svc, args, bootstrap, conf)
        if args.explain:
            from kcli.tools.explain import explain_groups

            explain_groups(args, groups or list(args.group or []), bootstrap, conf)
    except CommandFailed as exc:
        error_line(f"Executing consumer group command failed due to {exc}")
        if isinstance(exc, GroupNotFound):
            print(exc.java_trace_head(), file=sys.stderr)
    except ToolError:
        raise
    except Exception as exc:
        from confluent_kafka import KafkaException

        if not isinstance(exc, KafkaException):
            raise
        # Kafka's tool prints the failure and still exits 0.
        error_line(f"Executing consumer group command failed due to {client.kafka_error_text(exc)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
