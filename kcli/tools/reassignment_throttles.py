"""kafka-reassign-partitions' throttles: Kafka's replication-quota configs set, changed and cleared.

``--throttle`` sets ``leader/follower.replication.throttled.replicas`` on the moving topics and the
``...rate`` configs on the brokers exactly as Kafka's tool does; ``--verify`` and ``--cancel``
clear them, printing Kafka 3.9's ``Clearing broker-level throttles ...`` lines.
"""

from __future__ import annotations

from typing import Any

from kcli.tools.java_order import hashmap_order
from kcli.tools.reassignment_calls import (
    BROKER_RESOURCE,
    TOPIC_RESOURCE,
    alter_configs,
    list_reassignments,
)

BROKER_THROTTLES = (
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
)

TOPIC_THROTTLES = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")

SET, DELETE = 0, 1  # IncrementalAlterConfigs operations


def clear_all_throttles(view: Any, targets: list[tuple[tuple[str, int], list[int]]]) -> None:
    brokers = list(view.brokers)
    for _, replicas in targets:
        brokers += replicas
    brokers = hashmap_order(brokers)
    print(
        f"Clearing broker-level throttles on broker{'' if len(brokers) == 1 else 's'} {','.join(map(str, brokers))}"
    )
    alter_configs(
        view,
        [
            (BROKER_RESOURCE, str(b), [(k, None, DELETE) for k in BROKER_THROTTLES])
            for b in brokers
            if b in view.brokers
        ],
    )
    topics = hashmap_order(tp[0] for tp, _ in targets)
    print(f"Clearing topic-level throttles on topic{'' if len(topics) == 1 else 's'} {','.join(topics)}")
    alter_configs(view, [(TOPIC_RESOURCE, t, [(k, None, DELETE) for k in TOPIC_THROTTLES]) for t in topics])


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


def set_throttles(
    view: Any,
    proposed: dict[tuple[str, int], list[int]],
    current: dict[tuple[str, int], list[int]],
    rate: int,
) -> None:
    """Kafka's modifyReassignmentThrottle: the topics' throttled replicas, then both rates on every
    broker a partition moves from or to (with ``--additional``, the running moves count too)."""
    leaders, followers, brokers = throttle_configs(move_map(list_reassignments(view), proposed, current))
    alter_configs(
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
    alter_configs(
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


def set_log_dir_throttle(view: Any, dirs: dict[tuple[str, int, int], str], rate: int) -> None:
    """Kafka's modifyLogDirThrottle: the rate on each broker with a replica moving between its
    log dirs (none when the plan names no log dir); the line is printed either way."""
    brokers = sorted({b for _, _, b in dirs})
    alter_configs(view, [(BROKER_RESOURCE, str(b), [(BROKER_THROTTLES[2], str(rate), SET)]) for b in brokers])
    print(f"The replica-alter-dir throttle limit was set to {rate} B/s")
