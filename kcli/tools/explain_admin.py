"""``--explain`` for the admin tools: what ``kafka-topics`` and ``kafka-consumer-groups`` asked the cluster and why.

The console producer's and consumer's explanations, and the rules (stdout untouched, every line on
stderr prefixed ``[explain]``, nothing said that the cluster did not say), are in
:mod:`kcli.tools.explain`.
"""

from __future__ import annotations

from typing import Any, TextIO

from kcli.explain_texts import STATES
from kcli.tools.explain import Explainer, wire_ok


def explain_topics(action: str, args: Any, admin: Any, out: TextIO | None = None) -> None:
    """What ``kafka-topics --create/--describe/--list/--delete/--alter`` did, read back from the
    cluster (metadata and the topic's configs)."""
    ex = Explainer(out)
    try:
        md = admin.list_topics(timeout=10)
    except Exception as exc:
        ex.say(f"could not read the cluster's metadata to explain ({exc})")
        return
    brokers = sorted(md.brokers)
    ex.say(
        f"the cluster has {len(brokers)} live broker(s) ({','.join(map(str, brokers))}); "
        f"controller: broker {md.controller_id}"
    )
    if action == "list":
        internal = [t for t in md.topics if t.startswith("__")]
        ex.say(
            f"--list asked one broker for the cluster metadata (a Metadata request): {len(md.topics)} topic(s), "
            f"{len(internal)} internal ({', '.join(sorted(internal)) or 'none'}; hidden by --exclude-internal)"
        )
        return
    if action == "delete":
        ex.say(
            "--delete sent DeleteTopics to the controller: the topic's partitions are removed on every "
            "broker and its records cannot be read again (a consumer group's committed offsets for it remain "
            "until they expire)"
        )
        return
    name = getattr(args, "topic", None)
    topics = [t for t in md.topics if name is None or t == name or _matches(name, t)]
    for t in sorted(topics)[:20]:
        tm = md.topics[t]
        parts = sorted(tm.partitions.items())
        if action == "create":
            ex.say(
                f"--create sent CreateTopics to the controller, which placed {len(parts)} partition(s) "
                f"with {len(parts[0][1].replicas) if parts else 0} replica(s) each over the brokers "
                "(round robin from a random start, without racks)"
            )
        for p, pm in parts[:50]:
            reps = ",".join(map(str, pm.replicas))
            isr = ",".join(map(str, pm.isrs))
            line = f"{t}-{p}: replicas {reps} (the first, {pm.replicas[0] if pm.replicas else '-'}, is the preferred leader)"
            if pm.leader < 0:
                line += (
                    "; NO LEADER: the partition is offline (no in-sync replica alive), reads and writes fail"
                )
            else:
                line += f"; leader {pm.leader} serves every read and write"
            if len(pm.isrs) < len(pm.replicas):
                missing = [r for r in pm.replicas if r not in pm.isrs]
                line += (
                    f"; ISR {isr}: replica(s) {','.join(map(str, missing))} fell behind or are down "
                    "(under-replicated: acks=all waits only for the ISR)"
                )
            else:
                line += f"; ISR {isr}: every replica is caught up"
            ex.say(line)
        if action == "alter":
            ex.say(
                "partitions can only be added: keyed records then map to toPositive(murmur2(key)) mod the "
                "new count, so a key's new records may go to another partition than its old ones"
            )
    if action == "describe":
        ex.say(
            "Leader: the broker serving the partition; Replicas: the brokers holding a copy; Isr: the "
            "replicas caught up within replica.lag.time.max.ms (only they can become leader in a clean election)"
        )


def _matches(pattern: str, name: str) -> bool:
    import re

    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def explain_groups(
    args: Any, groups: list[str], bootstrap: str, conf: dict[str, Any], out: TextIO | None = None
) -> None:
    """What ``kafka-consumer-groups`` read, and what its columns mean, from the coordinators' answers."""
    ex = Explainer(out)
    if getattr(args, "list", False):
        action = "list"
    elif getattr(args, "describe", False):
        action = "describe"
    elif getattr(args, "reset_offsets", False):
        action = "reset"
    else:
        action = "other"
    if action == "list":
        ex.say(
            "--list asked every broker for the groups it coordinates (ListGroups); a group's coordinator "
            "is the leader of its partition of __consumer_offsets (hash of the group id mod 50)"
        )
        return
    if action == "reset":
        ex.say(
            "--reset-offsets works only on an inactive group (no members: a live consumer would overwrite "
            "the offsets with its next commit); without --execute it only prints the plan (--dry-run)"
        )
    if not groups:
        return
    readings: dict[str, Any] = {}
    if wire_ok(conf):
        try:
            from kcli.client import split_bootstrap
            from kcli.cluster_view.group_reader import WireGroupReader

            brokers = {-(i + 1): hp for i, hp in enumerate(split_bootstrap(bootstrap))}
            with WireGroupReader(brokers, 5.0) as reader:
                readings = reader.read(groups)
        except Exception as exc:
            ex.say(f"could not ask the coordinators to explain ({exc})")
    for g in groups:
        read = readings.get(g)
        if read is None:
            continue
        state = read.state or "unknown"
        line = (
            f"group {g}: coordinator broker {read.coordinator if read.coordinator is not None else 'unknown'}"
        )
        line += f"; state {state}" + (f" ({STATES[state]})" if state in STATES else "")
        if read.protocol:
            line += f"; assignor {read.protocol} chosen from the members' votes"
        ex.say(line)
        for m in read.members or ():
            owned = ", ".join(f"{t}-{p}" for t, p in m.assignment) or "nothing"
            ex.say(f"  member {m.client_id} ({m.host}) owns {owned}")
        committed = read.offsets or {}
        if committed and action in ("describe", "reset"):
            ex.say(
                "  CURRENT-OFFSET is the group's committed offset (the next record it will read); LOG-END-OFFSET "
                "the partition's high watermark; LAG their difference; '-' means nothing committed yet: a restart "
                "then begins where auto.offset.reset says"
            )
