"""Wiring of one broker process: config -> state -> socket server, signals and maintenance.

SIGTERM and SIGINT shut down cleanly: stop accepting, close logs (which writes the clean-shutdown
marker so the next start skips the recovery scan). A SIGKILL loses nothing acknowledged either,
because every acknowledged batch was already written to its segment file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

from kcli.paths import run_dir
from kcli.server.broker import Broker
from kcli.server.config import BrokerConfig
from kcli.server.network import BrokerServer

log = logging.getLogger("kafka.server.KafkaServer")


class PidFile:
    """``$KCLI_HOME/run/kafka-server-<port>.pid``, so kafka-server-stop finds brokers of this install."""

    def __init__(self, port: int):
        self.path = run_dir() / f"kafka-server-{port}.pid"

    def write(self) -> None:
        self.path.write_text(f"{os.getpid()}\n")

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            if self.path.read_text().strip() == str(os.getpid()):
                self.path.unlink()


async def _maintenance(broker: Broker) -> None:
    interval = max(broker.config.log_retention_check_interval_ms / 1000, 0.05)
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(broker.maintenance, int(time.time() * 1000))
        except Exception:
            log.exception("Log maintenance failed")


def raise_open_file_limit() -> None:
    """Each partition keeps its active segment's three files open, as Kafka's broker does; like
    Kafka's start scripts' advice, lift the soft descriptor limit to the hard one."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass


async def serve(config: BrokerConfig) -> None:
    raise_open_file_limit()
    tag = f"[KafkaServer id={config.node_id}]"
    log.info("%s starting", tag)
    for key in config.unknown_keys():
        log.warning("The configuration '%s' was supplied but isn't a known config.", key)
    broker = Broker(config)
    registration = None
    cluster_id = None
    if config.zookeeper_connect and not config.kraft:
        # ZooKeeper mode, as in Confluent's server.properties: the coordination service started by
        # zookeeper-server-start hands out the cluster id and lists the live brokers.
        from kcli.zookeeper.registration import ZooKeeperRegistration, ZooKeeperUnavailable

        registration = ZooKeeperRegistration(config)
        try:
            cluster_id = await registration.connect()
        except ZooKeeperUnavailable as exc:
            log.error("%s", exc)
            raise SystemExit(1) from None
    broker.load(cluster_id)
    attach_coordinator(broker)
    server = BrokerServer(broker)
    await server.start()
    pid_files = [PidFile(ls.port) for ls in config.client_listeners]
    for pid_file in pid_files:
        pid_file.write()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    maintenance = asyncio.create_task(_maintenance(broker))
    failed = False
    try:
        if registration is not None:
            try:
                await registration.register(broker.live_brokers()[0])
            except Exception as exc:  # e.g. another broker already runs with this broker.id
                log.error("%s", exc)
                failed = True
                return
        log.info(
            "Kafka Server started with cluster id %s, listening on %s",
            broker.cluster_id,
            ", ".join(f"{ls.name}://{ls.bind_host}:{ls.port}" for ls in config.client_listeners),
        )
        log.info("%s started", tag)
        await stop.wait()
    finally:
        log.info("%s shutting down", tag)
        maintenance.cancel()
        if registration is not None:
            await registration.close()
        await server.close()
        if broker.coordinator is not None and hasattr(broker.coordinator, "close"):
            await broker.coordinator.close()
        broker.close()
        for pid_file in pid_files:
            pid_file.remove()
        log.info("%s shut down completed", tag)
        if failed:
            raise SystemExit(1)


def attach_coordinator(broker: Broker) -> None:
    """Attach the group coordinator when the coordinator package provides one."""
    try:
        from kcli.server.coordinator.service import GroupCoordinator
    except ImportError:
        return
    broker.coordinator = GroupCoordinator(broker)


def run(config: BrokerConfig) -> int:
    asyncio.run(serve(config))
    return 0
