"""Which distributed worker runs what: membership through a Kafka consumer group.

Every worker joins the consumer group ``group.id`` (subscribed to the config topic, whose
partition it pauses and never reads through this consumer) with its REST address as ``client.id``.
The broker's group coordinator is then the failure detector: a worker that stops or is killed
leaves the group (at once, or after ``session.timeout.ms``), and every survivor goes through a
rebalance. Rebalances are eager, as Kafka's ``connect.protocol=eager``: on revocation a worker stops
everything it runs, and since the coordinator only hands out the next assignment once every member
has rejoined, no task runs on two workers at once. After each rebalance the worker reads the
member list (DescribeGroups) and all workers compute the same assignment from it and from the
config topic, with Kafka's eager assignor: connectors and tasks in name order, each connector
followed by its tasks, dealt round-robin over the members sorted by id.

Kafka's own protocol carries the assignment in the group's SyncGroup messages with a custom
protocol type ("connect"); librdkafka only offers consumer protocols, so kcli derives it instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kcli.connect.config_store import ConfigSnapshot

log = logging.getLogger("org.apache.kafka.connect.runtime.distributed.WorkerCoordinator")


def eager_assignment(
    members: list[str], snapshot: ConfigSnapshot
) -> dict[str, tuple[set[str], set[tuple[str, int]]]]:
    """Kafka's EagerAssignor: one circular walk over sorted members, connector then its tasks."""
    out: dict[str, tuple[set[str], set[tuple[str, int]]]] = {m: (set(), set()) for m in members}
    if not members:
        return out
    ordered = sorted(members)
    index = 0
    for name in sorted(snapshot.connectors):
        out[ordered[index % len(ordered)]][0].add(name)
        index += 1
        for task in range(len(snapshot.tasks.get(name, []))):
            out[ordered[index % len(ordered)]][1].add((name, task))
            index += 1
    return out


class GroupMembership:
    def __init__(
        self,
        consumer_conf: dict[str, Any],
        admin_conf: dict[str, Any],
        group_id: str,
        topic: str,
        worker_id: str,
        on_assigned: Callable[[list[str]], None],
        on_revoked: Callable[[], None],
        session_timeout_ms: int,
        heartbeat_interval_ms: int,
    ):
        self.consumer_conf = {
            **consumer_conf,
            "group.id": group_id,
            "client.id": worker_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
            "partition.assignment.strategy": "range",
            "session.timeout.ms": session_timeout_ms,
            "heartbeat.interval.ms": heartbeat_interval_ms,
        }
        self.admin_conf = admin_conf
        self.group_id = group_id
        self.topic = topic
        self.worker_id = worker_id
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self.members: list[str] = []
        self.generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient

        self.admin = AdminClient(self.admin_conf)
        self.consumer = Consumer(self.consumer_conf)
        self.consumer.subscribe([self.topic], on_assign=self._assigned, on_revoke=self._revoked)
        self._thread = threading.Thread(target=self._run, name="DistributedHerder-membership", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.consumer.poll(0.2)
            except Exception:
                if not self._stop.is_set():
                    log.exception("Group membership poll failed")
                    time.sleep(0.5)

    def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
        consumer.pause(partitions)
        members = self._describe()
        self.generation += 1
        self.members = members
        log.info(
            "[Worker clientId=%s, groupId=%s] Joined group at generation %d with members %s",
            self.worker_id,
            self.group_id,
            self.generation,
            ", ".join(members),
        )
        self.on_assigned(members)

    def _revoked(self, _consumer: Any, _partitions: list[Any]) -> None:
        log.info("[Worker clientId=%s, groupId=%s] Rebalance started", self.worker_id, self.group_id)
        self.on_revoked()

    def _describe(self) -> list[str]:
        """Member ids (each worker's ``client.id``) of the group as it stands after this rebalance."""
        deadline = time.monotonic() + 30
        while True:
            try:
                futures = self.admin.describe_consumer_groups([self.group_id], request_timeout=10)
                description = futures[self.group_id].result(10)
                members = sorted({m.client_id for m in description.members})
                if self.worker_id in members:
                    return members
            except Exception as exc:
                if time.monotonic() > deadline:
                    log.error("Could not read the members of group %s: %s", self.group_id, exc)
                    return [self.worker_id]
            if time.monotonic() > deadline:
                return [self.worker_id]
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        consumer = getattr(self, "consumer", None)
        if consumer is not None:
            try:
                consumer.close()  # leaves the group at once: the others rebalance without waiting
            except Exception:
                pass
