"""kafka-consumer-groups: list, describe, reset offsets of, and delete consumer groups.

Everything goes through confluent-kafka's AdminClient (ListGroups, DescribeGroups, OffsetFetch,
OffsetCommit, DeleteGroups, ListOffsets), so the tool works against any Kafka cluster, not only
kcli's broker. The one exception is ``--delete-offsets``: the Python binding has no OffsetDelete
call, so FindCoordinator and OffsetDelete are sent as plain requests encoded with kio (PLAINTEXT
listeners only, :func:`kcli.tools.group_wire.delete_offsets`).

Output follows Kafka's ConsumerGroupCommand (:mod:`kcli.tools.consumer_group_output`), with the
same exit codes: Kafka's tool reports every failure of an action with ``printError`` and still
exits 0; see :func:`describe` and :func:`delete_groups` for a missing group. The options are
:mod:`kcli.tools.consumer_group_options`, the AdminClient calls
:mod:`kcli.tools.consumer_group_admin`, ``--reset-offsets`` :mod:`kcli.tools.consumer_group_reset`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools.cli import ToolError, resolve_bootstrap, run
from kcli.tools.consumer_group_admin import STATE_NAMES, GroupService, state_name
from kcli.tools.consumer_group_options import build_parser, check_args
from kcli.tools.consumer_group_output import (
    JAVA_ERRORS,
    MISSING,
    CommandFailed,
    GroupNotFound,
    Row,
    error_line,
    java_error,
    print_members,
    print_offsets,
    print_state,
    printf,
    quoted,
)
from kcli.tools.consumer_group_reset import parse_topic_args, reset_offsets


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
    from kcli.tools.group_wire import delete_offsets as wire_delete_offsets

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
            from kcli.tools.explain_admin import explain_groups

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


if __name__ == "__main__":
    sys.exit(main())
