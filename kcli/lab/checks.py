"""One function per kind of expectation, each asking the cluster (read-only) and answering with a
:class:`Result`: passed or not, what was found, and a hint that teaches the fix.

This module holds the checks of topics, records, groups, configs and replicas, the table of every
kind (:data:`CHECKS`) and :func:`run_one`; the schema checks are :mod:`kcli.lab.schema_checks`,
what they share (:class:`~kcli.lab.context.Context`, :class:`~kcli.lab.context.Result`)
:mod:`kcli.lab.context`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kcli.lab.spec import Check

if TYPE_CHECKING:
    pass
from kcli.lab.context import CheckFailed, Context, Result, short, topic_detail
from kcli.lab.schema_checks import check_avro_records, check_schema


def check_topic(ctx: Context, c: Check) -> Result:
    a = c.args
    topic = a["topic"]
    exists = a.get("exists", True)
    parts = [f"topic {topic} " + ("exists" if exists else "does not exist")]
    if "partitions" in a:
        parts.append(f"{a['partitions']} partition(s)")
    if "replication_factor" in a:
        parts.append(f"replication factor {a['replication_factor']}")
    title = ", ".join(parts)
    create = f"kafka-topics --create --topic {topic}"
    if "partitions" in a:
        create += f" --partitions {a['partitions']}"
    if "replication_factor" in a:
        create += f" --replication-factor {a['replication_factor']}"
    create += " --bootstrap-server localhost:9092"
    names = set(ctx.source._metadata().topics)
    if not exists:
        if topic in names:
            return Result(
                c, title, False, f"{topic} exists", f"delete it: kafka-topics --delete --topic {topic} ..."
            )
        return Result(c, title, True, f"{topic} does not exist")
    if topic not in names:
        return Result(c, title, False, f"there is no topic {topic}", f"create it: {create}")
    detail = topic_detail(ctx, topic)
    found_p = len(detail.partitions)
    found_rf = max((len(p.replicas) for p in detail.partitions), default=0)
    problems = []
    if "partitions" in a and found_p != a["partitions"]:
        problems.append(f"it has {found_p} partition(s)")
    if "replication_factor" in a and found_rf != a["replication_factor"]:
        problems.append(f"its replication factor is {found_rf}")
    if problems:
        hint = (
            f"delete and create it again ({create}); partitions can only be added "
            f"(kafka-topics --alter --partitions N), and that moves keys to other partitions"
        )
        if "replication_factor" in a and found_rf != a["replication_factor"]:
            hint += "; the replication factor cannot exceed the number of brokers"
        return Result(c, title, False, ", ".join(problems), hint)
    return Result(c, title, True, f"{found_p} partition(s), replication factor {found_rf}")


def check_records(ctx: Context, c: Check) -> Result:
    a = c.args
    topic = a["topic"]
    least = int(a.get("at_least", 1))
    keyed = bool(a.get("keyed", False))
    fields = list(a.get("json_fields", []))
    title = f"topic {topic} holds at least {least}{' keyed' if keyed else ''} record(s)"
    if fields:
        title += f", JSON with {', '.join(fields)}"
    topic_detail(ctx, topic)
    records = ctx.records(topic)
    counted = [m for m in records if m.key is not None] if keyed else records
    producer = f"kafka-console-producer --bootstrap-server localhost:9092 --topic {topic}"
    if keyed:
        producer += " --property parse.key=true --property key.separator=:"
    if len(counted) < least:
        what = "keyed records" if keyed else "records"
        hint = f"produce more: {producer}" + (" (then type key:value lines)" if keyed else "")
        return Result(c, title, False, f"found {len(counted)} {what}", hint)
    if fields:
        for m in counted:
            try:
                value = json.loads(m.value or b"")
            except ValueError:
                value = None
            if not isinstance(value, dict):
                return Result(
                    c,
                    title,
                    False,
                    f"offset {m.offset} of partition {m.partition} is not a JSON object: {short(m.value)}",
                    "type one JSON object per line, e.g. "
                    + json.dumps({f: "..." for f in fields})
                    + "; a bad record stays in the topic: recreate the topic or use kcli local restore",
                )
            missing = [f for f in fields if f not in value]
            if missing:
                return Result(
                    c,
                    title,
                    False,
                    f"offset {m.offset} of partition {m.partition} lacks {', '.join(missing)}: {short(m.value)}",
                    "check the field names against the exercise (they are case-sensitive)",
                )
    return Result(c, title, True, f"found {len(counted)}")


def check_key_partition(ctx: Context, c: Check) -> Result:
    a = c.args
    topic = a["topic"]
    wanted = [a["key"]] if "key" in a else list(a.get("keys", []))
    title = f"in {topic}, " + (
        f"key{'s' if len(wanted) > 1 else ''} {', '.join(map(repr, wanted))} always in one partition"
        if wanted
        else "every key always in one partition"
    )
    topic_detail(ctx, topic)
    where: dict[bytes, set[int]] = {}
    for m in ctx.records(topic):
        if m.key is not None:
            where.setdefault(m.key, set()).add(m.partition)
    hint = (
        "a keyed record goes to partition murmur2(key) mod the partition count: send every record "
        "with its key (parse.key=true), never choose a partition by hand, and do not add partitions "
        "after producing (it changes the modulus)"
    )
    keys = [k.encode() for k in wanted] if wanted else list(where)
    if not keys:
        return Result(c, title, False, f"{topic} holds no keyed record", hint)
    for key in keys:
        parts = where.get(key)
        if parts is None:
            return Result(c, title, False, f"no record with key {key.decode(errors='replace')!r}", hint)
        if len(parts) > 1:
            text = ", ".join(map(str, sorted(parts)))
            return Result(
                c, title, False, f"key {key.decode(errors='replace')!r} is in partitions {text}", hint
            )
    if wanted:
        found = ", ".join(f"{k!r} in {next(iter(where[k.encode()]))}" for k in wanted)
        return Result(c, title, True, found)
    return Result(c, title, True, f"{len(keys)} key(s), each in one partition")


def check_group_lag(ctx: Context, c: Check) -> Result:
    from kcli.cluster_view.source import KafkaDataError

    a = c.args
    group = a["group"]
    topic = a.get("topic")
    limit = int(a.get("max_lag", 0))
    title = f"group {group} has lag {'0' if limit == 0 else f'at most {limit}'}" + (
        f" on {topic}" if topic else ""
    )
    try:
        detail = ctx.source.group_detail(group)
    except KafkaDataError as exc:
        return Result(
            c, title, False, str(exc), "is the cluster up? kafka-consumer-groups --describe --group " + group
        )
    committed = {
        (o.topic, o.partition): o.committed for o in detail.offsets if topic is None or o.topic == topic
    }
    if not committed:
        return Result(
            c,
            title,
            False,
            f"group {group} has committed no offset"
            + (f" on {topic}" if topic else "")
            + f" (state {detail.state})",
            f"consume with the group: kafka-console-consumer --topic {topic or 'TOPIC'} --group {group} "
            "--from-beginning ... (it commits as it reads)",
        )
    # Every partition of the group's topics counts, committed or not: a partition the group never
    # committed holds records it has not read (from the log start, as auto.offset.reset=earliest reads).
    lags: dict[tuple[str, int], int] = {}
    for name in sorted({t for t, _ in committed}):
        for p, (low, high) in ctx.source.watermarks(name).items():
            at = committed.get((name, p))
            lags[(name, p)] = max(0, high - (at if at is not None and at >= 0 else low))
    lag = sum(lags.values())
    if lag > limit:
        behind = ", ".join(
            f"{t}-{p}: {n}" + ("" if committed.get((t, p)) is not None else " (nothing committed)")
            for (t, p), n in sorted(lags.items())
            if n
        )
        return Result(
            c,
            title,
            False,
            f"lag {lag} ({behind})",
            "let the group's consumers read to the end (a consumer commits what it read); "
            f"kafka-consumer-groups --describe --group {group} shows LOG-END-OFFSET - CURRENT-OFFSET",
        )
    return Result(c, title, True, f"lag {lag} over {len(lags)} partition(s)")


def check_aggregate(ctx: Context, c: Check) -> Result:
    a = c.args
    topic, source, fname = a["topic"], a["source"], a["field"]
    avg_as = a.get("average_as", f"avg_{fname}")
    count_as = a.get("count_as", "count")
    title = f"topic {topic} holds avg({fname}) and count(*) of {source}"
    topic_detail(ctx, source)
    values = [m.value for m in ctx.records(source)]
    numbers = []
    for v in values:
        try:
            rec = json.loads(v) if v is not None else None
        except ValueError:
            rec = None
        x = rec.get(fname) if isinstance(rec, dict) else None
        if isinstance(x, int | float) and not isinstance(x, bool):
            numbers.append(float(x))
    expected: dict[str, Any] = {count_as: len(values)}
    if numbers:
        expected[avg_as] = sum(numbers) / len(numbers)
    hint = c.hint or f"run the job that computes it from {source}"
    names = set(ctx.source._metadata().topics)
    if topic not in names:
        return Result(c, title, False, f"there is no topic {topic}; expected {json.dumps(expected)}", hint)
    out = ctx.records(topic)
    if not out:
        return Result(c, title, False, f"{topic} is empty; expected {json.dumps(expected)}", hint)
    latest = max(out, key=lambda m: (m.timestamp_ms or 0, m.offset))
    try:
        got = json.loads(latest.value or b"")
    except ValueError:
        got = None
    if not isinstance(got, dict):
        return Result(
            c, title, False, f"the newest record of {topic} is not JSON: {short(latest.value)}", hint
        )
    problems = []
    if got.get(count_as) != expected[count_as]:
        problems.append(f"{count_as} is {got.get(count_as)!r}, expected {expected[count_as]}")
    if avg_as in expected:
        found = got.get(avg_as)
        if not isinstance(found, int | float) or not math.isclose(found, expected[avg_as], rel_tol=1e-9):
            problems.append(f"{avg_as} is {found!r}, expected {expected[avg_as]!r}")
    if a.get("key_is_count") and (latest.key or b"").decode(errors="replace") != str(expected[count_as]):
        problems.append(f"key is {short(latest.key)}, expected {expected[count_as]} (the count)")
    if problems:
        return Result(
            c,
            title,
            False,
            "; ".join(problems) + f" (newest record: {short(latest.value)})",
            hint
            + f"; {source} holds {len(values)} record(s) now: if the job ran before the last ones arrived, it must still be running to update {topic}",
        )
    return Result(
        c, title, True, f"newest record {short(latest.value)} matches {len(values)} record(s) of {source}"
    )


def check_config(ctx: Context, c: Check) -> Result:
    a = c.args
    name, value = a["name"], str(a["value"])
    if "topic" in a:
        topic = a["topic"]
        title = f"topic {topic} has {name}={value}"
        detail = topic_detail(ctx, topic)
        found = {cv.name: cv.value for cv in detail.configs}
        hint = f"kafka-configs --bootstrap-server localhost:9092 --alter --entity-type topics --entity-name {topic} --add-config {name}={value}"
    else:
        broker = a["broker"]
        title = f"broker {broker} has {name}={value}"
        found = _broker_configs(ctx, int(broker))
        hint = f"set {name}={value} in broker {broker}'s server.properties and restart it"
    if name not in found:
        return Result(c, title, False, f"the cluster does not report {name}", hint)
    if str(found[name]) != value:
        return Result(c, title, False, f"{name}={found[name]}", hint)
    return Result(c, title, True, f"{name}={found[name]}")


def _broker_configs(ctx: Context, broker: int) -> dict[str, str | None]:
    from confluent_kafka.admin import ConfigResource, ResourceType

    try:
        futures = ctx.source.admin.describe_configs([ConfigResource(ResourceType.BROKER, str(broker))])
        out: dict[str, str | None] = {}
        for fut in futures.values():
            for entry in ctx.source._wait(fut).values():
                out[entry.name] = entry.value
        return out
    except Exception as exc:  # KafkaDataError, or the AdminClient's own
        raise CheckFailed(f"broker {broker}'s configs: {exc}") from None


def check_in_sync(ctx: Context, c: Check) -> Result:
    a = c.args
    topic = a["topic"]
    least = a.get("min_isr")
    title = f"every replica of {topic} is in sync" + (f" (ISR of at least {least})" if least else "")
    detail = topic_detail(ctx, topic)
    behind = [p for p in detail.partitions if len(p.isr) < len(p.replicas) or (least and len(p.isr) < least)]
    if behind:
        text = "; ".join(
            f"partition {p.partition}: replicas {','.join(map(str, p.replicas))}, ISR {','.join(map(str, p.isr))}"
            + (f", down {','.join(map(str, p.offline))}" if p.offline else "")
            for p in behind
        )
        hint = (
            "a replica outside the ISR is down or catching up: start the stopped broker again "
            "(kcli local start --broker N) and wait until it has fetched up to the leader's log end"
        )
        return Result(c, title, False, text, hint)
    return Result(c, title, True, f"{len(detail.partitions)} partition(s) fully in sync")


CHECKS: dict[str, Callable[[Context, Check], Result]] = {
    "topic": check_topic,
    "records": check_records,
    "key_partition": check_key_partition,
    "group_lag": check_group_lag,
    "aggregate": check_aggregate,
    "config": check_config,
    "in_sync": check_in_sync,
    "schema": check_schema,
    "avro_records": check_avro_records,
}


def run_one(ctx: Context, c: Check) -> Result:
    """Run a check; whatever stops it from looking is its failure, never a crash of the run."""
    from kcli.cluster_view.source import KafkaDataError

    try:
        result = CHECKS[c.kind](ctx, c)
    except (CheckFailed, KafkaDataError) as exc:
        result = Result(c, c.name or f"{c.kind} check {c.index}", False, str(exc), None)
    except Exception as exc:  # never a traceback for a student: the check fails, saying why
        from kcli.cluster_view.source import error_text

        result = Result(
            c, c.name or f"{c.kind} check {c.index}", False, f"could not check: {error_text(exc)}", None
        )
    if c.name:
        result.title = c.name
    if c.hint and not result.passed and c.hint not in (result.hint or ""):
        result.hint = c.hint
    return result
