"""kafka-consumer-groups --reset-offsets: the scope and target options, the plan, its output."""

from __future__ import annotations

import argparse
import csv
import datetime
import re

from kcli import offset_reset
from kcli.tools.cli import ToolError, UsageError
from kcli.tools.consumer_group_admin import GroupService, state_name
from kcli.tools.consumer_group_output import CommandFailed, error_line, print_plan


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


def plan_reset(
    svc: GroupService,
    args: argparse.Namespace,
    group: str,
    plan_file: dict[str, dict[tuple[str, int], int]] | None,
) -> dict[tuple[str, int], int]:
    """The new offsets for one inactive group, computed as Kafka's GroupOffsetsResetter does."""
    if plan_file is not None:
        if group not in plan_file:
            error_line(f"No reset plan for group {group} found.")
            return {}
        return offset_reset.clamp(svc, plan_file[group])
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
    target = reset_target(args)
    committed = svc.committed(group) if target.kind in ("shift", "current") else {}
    try:
        return offset_reset.plan(target, partitions, committed, svc, _warn_empty)
    except offset_reset.ResetRefused as exc:
        raise (UsageError if exc.usage else ToolError)(str(exc)) from None


def reset_target(args: argparse.Namespace) -> offset_reset.ResetTarget:
    """The ``--to-*``/``--shift-by``/``--by-duration`` option given, as a planner target."""
    Target = offset_reset.ResetTarget
    if args.to_offset is not None:
        return Target("offset", args.to_offset)
    if args.to_earliest:
        return Target("earliest")
    if args.to_latest:
        return Target("latest")
    if args.shift_by is not None:
        return Target("shift", args.shift_by)
    if args.to_datetime is not None:
        return Target("timestamp", parse_datetime(args.to_datetime))
    if args.by_duration is not None:
        ago = datetime.datetime.now(datetime.UTC) - parse_duration(args.by_duration)
        return Target("timestamp", int(ago.timestamp() * 1000))
    if args.to_current:
        return Target("current")
    raise UsageError("Option [reset-offsets] requires one of the following scenarios")


def _warn_empty(tp: tuple[str, int]) -> None:
    print(f"\nWarn: Partition {tp[1]} from topic {tp[0]} is empty. Falling back to latest known offset.")


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
