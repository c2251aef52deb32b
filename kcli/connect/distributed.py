"""``connect-distributed worker.properties``: workers sharing connectors and tasks through Kafka.

Configs, source offsets and statuses live in ``config.storage.topic``, ``offset.storage.topic``
and ``status.storage.topic`` (created when missing, compacted, with the configured partitions
and replication factors; the config topic must have exactly one partition, as Kafka requires).
Workers with the same ``group.id`` form one Connect cluster: any worker's REST API answers for the
whole cluster and accepts changes (written to the config topic, which every worker follows), and
:mod:`kcli.connect.membership` spreads connectors and tasks over the live workers, moving the
tasks of a worker that dies to the survivors.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

from kcli.connect.config_store import ConfigSnapshot, TopicConfigStore
from kcli.connect.errors import ConfigError
from kcli.connect.herder import Herder, TaskId
from kcli.connect.kafka_log import KafkaBasedLog, ensure_topic
from kcli.connect.membership import GroupMembership, eager_assignment
from kcli.connect.offsets import TopicOffsetStore
from kcli.connect.runtime import cluster_id, run
from kcli.connect.status_store import TopicStatusStore
from kcli.connect.worker_config import WorkerConfig


class DistributedHerder(Herder):
    """Runs this worker's share; changes go through the config topic and reach every worker."""

    def __init__(self, config: WorkerConfig, configs: Any, statuses: Any, offsets: Any):
        super().__init__(config, configs, statuses, offsets)
        self.members: list[str] | None = None  # None: not in the group yet, run nothing

    def assigned(self, snapshot: ConfigSnapshot) -> tuple[set[str], set[TaskId]]:
        if self.members is None:
            return set(), set()
        return eager_assignment(self.members, snapshot).get(self.config.worker_id, (set(), set()))

    def on_assigned(self, members: list[str]) -> None:
        self.generation += 1
        self.configs.read_to_end()
        with self.lock:
            self.members = members
        self.reconcile()

    def on_revoked(self) -> None:
        with self.lock:
            self.members = None
            self._stop_everything(report=False)

    def start(self) -> None:
        self.configs.start()
        self.statuses.start()
        self.offsets.start()
        c = self.config
        self.membership = GroupMembership(
            c.client_conf("consumer"),
            c.client_conf("admin"),
            c.props["group.id"],
            c.props["config.storage.topic"],
            c.worker_id,
            self.on_assigned,
            self.on_revoked,
            c.int_setting("session.timeout.ms", 10000),
            c.int_setting("heartbeat.interval.ms", 3000),
        )
        self.membership.start()
        super().start()

    def stop(self) -> None:
        self._stopping.set()
        with self.lock:
            self._stop_everything(report=True)
        membership = getattr(self, "membership", None)
        if membership is not None:
            membership.stop()
        super().stop()
        for store in (self.configs, self.statuses, self.offsets):
            store.stop()

    def _restart_task_here(self, name: str, task: int, snapshot: ConfigSnapshot) -> None:
        """A task runs on one worker; a restart asked of another is forwarded there, as Kafka does."""
        if (name, task) in self.assigned(snapshot)[1] or self.members is None:
            super()._restart_task_here(name, task, snapshot)
            return
        status = self.statuses.task(name, task)
        if status is None or status.worker_id == self.config.worker_id:
            return
        import urllib.request

        url = (
            f"http://{status.worker_id}/connectors/{urllib.request.quote(name, safe='')}/tasks/{task}/restart"
        )
        request = urllib.request.Request(url, method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30):
            pass


def _internal_topics(config: WorkerConfig) -> dict[str, tuple[str, int, int]]:
    def rf(key: str) -> int:
        return config.int_setting(key, 3)

    return {
        "config": (config.props["config.storage.topic"], 1, rf("config.storage.replication.factor")),
        "offset": (
            config.props["offset.storage.topic"],
            config.int_setting("offset.storage.partitions", 25),
            rf("offset.storage.replication.factor"),
        ),
        "status": (
            config.props["status.storage.topic"],
            config.int_setting("status.storage.partitions", 5),
            rf("status.storage.replication.factor"),
        ),
    }


def build(config: WorkerConfig, extra_args: list[str]) -> Herder:
    if extra_args:
        raise ConfigError(
            "connect-distributed takes only the worker properties file; create connectors with the REST API"
        )
    herder_cluster_id = cluster_id(config)
    admin = config.client_conf("admin")
    topics = _internal_topics(config)
    purposes = {
        "config": "connector configurations",
        "offset": "connector offsets",
        "status": "connector and task statuses",
    }
    for kind, (topic, partitions, replication) in topics.items():
        found = ensure_topic(admin, topic, partitions, replication, purposes[kind])
        if kind == "config" and found != 1:
            raise ConfigError(
                f"Topic '{topic}' supplied via the 'config.storage.topic' property is required to have a single "
                f"partition in order to guarantee consistency of connector configurations, but found {found} partitions."
            )
    consumer, producer = config.client_conf("consumer"), config.client_conf("producer")
    producer["partitioner"] = (
        "murmur2_random"  # Java's partitioning of keys, so offsets land where Kafka's do
    )

    def log_factory(kind: str, callback: Any) -> KafkaBasedLog:
        return KafkaBasedLog(topics[kind][0], consumer, producer, callback, kind)

    herder = DistributedHerder(
        config,
        TopicConfigStore(partial(log_factory, "config")),
        TopicStatusStore(partial(log_factory, "status")),
        TopicOffsetStore(partial(log_factory, "offset")),
    )
    herder.cluster_id = herder_cluster_id
    return herder


def main(argv: list[str] | None = None) -> int:
    return run("connect-distributed", argv, True, build)


if __name__ == "__main__":
    sys.exit(main())
