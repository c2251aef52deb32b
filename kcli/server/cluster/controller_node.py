"""A KRaft ``process.roles=controller`` node: the controller service on the controller listener.

Brokers (``process.roles=broker``) find it through ``controller.quorum.voters`` (or
``controller.quorum.bootstrap.servers``), register, and then watch its metadata; it has no client
listener, as a Kafka controller-only node has none. One voter is supported: a quorum of several
controllers needs Raft, which this project does not implement yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

from kcli.server.catalog import encode_cluster_id, random_uuid
from kcli.server.cluster.controller import SNAPSHOT_BYTES, Controller
from kcli.server.cluster.controller_service import ControllerService
from kcli.server.config import BrokerConfig
from kcli.zookeeper.protocol import MAX_LINE, answer_lines

log = logging.getLogger("kafka.server.ControllerServer")

DEFAULT_SESSION_TIMEOUT_MS = 9000


@dataclass(eq=False)
class _Session:
    id: int
    last_seen: float = field(default_factory=time.monotonic)
    writer: asyncio.StreamWriter | None = None


def _cluster_id(config: BrokerConfig) -> str:
    from kcli.server.broker import read_meta, write_meta

    directory = config.log_dirs[0]
    meta = read_meta(directory)
    if meta and meta.get("cluster.id"):
        return meta["cluster.id"]
    found = encode_cluster_id(random_uuid())
    log.info("Formatting %s with cluster.id %s (the metadata directory was not formatted)", directory, found)
    write_meta(directory, found, config.node_id, kraft=True)
    return found


class ControllerNode:
    def __init__(self, config: BrokerConfig):
        self.config = config
        self.session_timeout_s = (
            int(config.raw.get("broker.session.timeout.ms", DEFAULT_SESSION_TIMEOUT_MS)) / 1000
        )
        controller = Controller(
            config.log_dirs[0],
            _cluster_id(config),
            node_id=config.node_id,
            snapshot_bytes=int(
                config.raw.get("metadata.log.max.record.bytes.between.snapshots", SNAPSHOT_BYTES)
            ),
        )
        raw = config.raw
        rebalance = raw.get("auto.leader.rebalance.enable", "true").strip().lower() == "true"
        self.service = ControllerService(
            controller,
            grace_s=self.session_timeout_s,
            rebalance_interval_s=float(raw.get("leader.imbalance.check.interval.seconds", "300"))
            if rebalance
            else None,
            imbalance_percent=int(raw.get("leader.imbalance.per.broker.percentage", "10")),
        )
        self.sessions: dict[int, _Session] = {}
        self._ids = itertools.count(1)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(next(self._ids), writer=writer)
        self.sessions[session.id] = session

        def seen() -> None:
            session.last_seen = time.monotonic()

        try:
            await answer_lines(reader, writer, lambda request: self._dispatch(session, request), seen)
        finally:
            self._end(session)

    async def _dispatch(self, session: _Session, request: dict) -> dict:
        op = str(request.get("op"))
        try:
            if op in ("hello", "ping"):
                return {"ok": True, "timeout_ms": int(self.session_timeout_s * 1000)}
            if op == "cluster_id":
                return {"ok": True, "id": self.service.controller.image.cluster_id}
            if op.startswith("ctl_"):
                return await self.service.dispatch(session.id, request)
        except (ValueError, TypeError, KeyError) as exc:
            return {"ok": False, "error": "BadArguments", "message": str(exc)}
        return {"ok": False, "error": "Unimplemented", "message": f"unknown operation {op!r}"}

    def _end(self, session: _Session) -> None:
        if self.sessions.pop(session.id, None) is None:
            return
        self.service.session_ended(session.id)
        if session.writer is not None:
            session.writer.close()

    async def reap(self) -> None:
        while True:
            await asyncio.sleep(min(self.session_timeout_s / 4, 1.0))
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if now - session.last_seen > self.session_timeout_s:
                    log.info(
                        "Broker session %d expired after %d ms",
                        session.id,
                        int(self.session_timeout_s * 1000),
                    )
                    self._end(session)


async def serve_controller(config: BrokerConfig) -> None:
    from kcli.daemons import PidFile, stop_on_signals

    tag = f"[ControllerServer id={config.node_id}]"
    log.info("%s starting", tag)
    listeners = [
        ls for ls in config.listeners if ls.name in config.controller_listener_names
    ] or config.listeners
    node = ControllerNode(config)
    servers = [
        await asyncio.start_server(
            node.handle, ls.bind_host or None, ls.port, limit=MAX_LINE, reuse_address=True
        )
        for ls in listeners
    ]
    pid_files = [PidFile(f"kafka-server-{ls.port}") for ls in listeners]
    for pid_file in pid_files:
        pid_file.write()
    stop = stop_on_signals()
    reaper = asyncio.create_task(node.reap())
    log.info(
        "Kafka controller started with cluster id %s, listening on %s",
        node.service.controller.image.cluster_id,
        ", ".join(f"{ls.name}://{ls.bind_host}:{ls.port}" for ls in listeners),
    )
    log.info("%s started", tag)
    try:
        await stop.wait()
    finally:
        log.info("%s shutting down", tag)
        reaper.cancel()
        for server in servers:
            server.close()
        for session in list(node.sessions.values()):
            node._end(session)
        node.service.controller.close()
        for pid_file in pid_files:
            pid_file.remove()
        with contextlib.suppress(Exception):
            for server in servers:
                await server.wait_closed()
        log.info("%s shut down completed", tag)
