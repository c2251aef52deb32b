"""kafka-consumer-groups --reset-offsets: the scope and target options, the plan, its output."""

from __future__ import annotations

import argparse
import csv
import datetime
import re

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
