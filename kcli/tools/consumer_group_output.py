"""kafka-consumer-groups' output: Kafka's tables, banners and Java-named errors, byte for byte.

Output follows Kafka's ConsumerGroupCommand: the same tables (left-aligned columns padded to the
widest value, at least 15 wide), the same messages on the same streams. Kafka's tool reports every
failure of an action with ``printError`` (a blank line and ``Error: ...`` on stdout, the Java stack
trace on stderr) and still exits 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kcli.tools.consumer_group_admin import state_name

MISSING = "-"


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


def quoted(groups: list[str]) -> str:
    return ", ".join("'" + g + "'" for g in groups)
