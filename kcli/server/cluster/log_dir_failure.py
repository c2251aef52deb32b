"""A failed log dir in a cluster: this broker's partitions in it lose their leadership here.

Kafka takes a log dir offline at its first I/O error and tells the controller, which elects other
in-sync replicas as leaders of the partitions the broker led there and drops the broker from
their ISRs (KIP-858's offline log dirs). kcli keeps a failing dir's reads served and its writes
answered with KAFKA_STORAGE_ERROR (``kcli.server.storage.dir_health``); in a cluster this handler
adds Kafka's part that matters to producers: it reports the broker's replicas in the failed dir
(``ctl_offline_replicas``), so producers go on writing to the new leaders while the partitions of
the broker's other dirs are not touched. The replica rejoins the ISR as any follower does once its
dir accepts writes again and it caught up.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from kcli.server.storage.dir_health import dir_health

log = logging.getLogger("kafka.server.ReplicaManager")


class LogDirFailureHandler:
    def __init__(self, broker: Any, loop: asyncio.AbstractEventLoop):
        self.broker = broker
        self.loop = loop
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self) -> None:
        dir_health().listeners.append(self._on_failure)

    def detach(self) -> None:
        if self._on_failure in dir_health().listeners:
            dir_health().listeners.remove(self._on_failure)

    def _on_failure(self, log_dir: Path) -> None:
        """From any thread: report on the event loop."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._start, log_dir)

    def _start(self, log_dir: Path) -> None:
        task = self.loop.create_task(self.report(log_dir))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def report(self, log_dir: Path) -> None:
        broker = self.broker
        hosted = sorted(
            key
            for key, partition in broker.partitions.items()
            if partition.log.directory.parent == log_dir and broker.node_id in partition.isr
        )
        if not hosted or broker.cluster is None or not broker.logs.dir_offline(log_dir):
            return  # (a failure seen on a log deleted meanwhile leaves the dir usable)
        log.error(
            "[ReplicaManager broker=%d] Log dir %s failed: moving the leadership of its %d partition(s) "
            "to other in-sync replicas and leaving their ISRs",
            broker.node_id,
            log_dir,
            len(hosted),
        )
        try:
            await broker.cluster.call(
                "ctl_offline_replicas", broker=broker.node_id, partitions=[list(k) for k in hosted]
            )
        except Exception as exc:  # the controller unreachable: its leaders stay, writes keep failing
            log.warning("Could not report the failed log dir %s to the controller: %s", log_dir, exc)


def attach_log_dir_failure_handler(broker: Any) -> LogDirFailureHandler:
    handler = LogDirFailureHandler(broker, asyncio.get_running_loop())
    handler.attach()
    return handler
