"""A KRaft ``process.roles=controller`` node: the controller service on the controller listener.

Brokers (``process.roles=broker``) find it through ``controller.quorum.voters`` (or
``controller.quorum.bootstrap.servers``), register, and then watch its metadata; it has no client
listener, as a Kafka controller-only node has none. With one voter it is the controller at once;
with several (``raft_node``) the voters elect one by Raft, and only the elected one - the active
controller - runs a Controller on the replicated log and answers brokers; the others answer
``ctl_*`` with NOT_CONTROLLER and where the leader is, so brokers move to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

from kio.schema.errors import ErrorCode

from kcli.protocol.json_lines import MAX_LINE, answer_lines
from kcli.protocol.uuids import encode_cluster_id, random_uuid
from kcli.server.base.config import BrokerConfig
from kcli.server.cluster.controller import SNAPSHOT_BYTES, Controller
from kcli.server.cluster.controller_service import ControllerService
from kcli.server.cluster.raft_log import RaftMetadataLog
from kcli.server.cluster.raft_node import QuorumNode
from kcli.server.cluster.raft_snapshots import FollowerSnapshots
from kcli.server.cluster.raft_voters import configured_voters, read_bootstrap_voters

log = logging.getLogger("kafka.server.ControllerServer")

DEFAULT_SESSION_TIMEOUT_MS = 9000


@dataclass(eq=False)
class _Session:
    id: int
    last_seen: float = field(default_factory=time.monotonic)
    writer: asyncio.StreamWriter | None = None


def _cluster_id(config: BrokerConfig, make: bool = True) -> str:
    """The formatted cluster id; an unformatted single controller formats itself (a voter of a
    quorum learns it from its leader instead: ``make=False`` answers "")."""
    from kcli.server.storage.log_dirs import read_meta, write_meta

    directory = config.log_dirs[0]
    meta = read_meta(directory)
    if meta and meta.get("cluster.id"):
        return meta["cluster.id"]
    if not make:
        return ""
    found = encode_cluster_id(random_uuid())
    log.info("Formatting %s with cluster.id %s (the metadata directory was not formatted)", directory, found)
    write_meta(directory, found, config.node_id, kraft=True)
    return found


def _bootstrap_servers(config: BrokerConfig) -> list[tuple[str, int]]:
    """``controller.quorum.bootstrap.servers`` (host:port,...), without this node's own listeners."""
    own = {ls.port for ls in config.listeners}
    found = []
    for entry in config.raw.get("controller.quorum.bootstrap.servers", "").split(","):
        host, _, port = entry.strip().rpartition(":")
        if port.isdigit() and not (int(port) in own and host in ("localhost", "127.0.0.1", "")):
            found.append((host.strip("[]") or "localhost", int(port)))
    return found


class ControllerNode:
    def __init__(self, config: BrokerConfig):
        self.config = config
        self.session_timeout_s = (
            int(config.raw.get("broker.session.timeout.ms", DEFAULT_SESSION_TIMEOUT_MS)) / 1000
        )
        self.sessions: dict[int, _Session] = {}
        self._ids = itertools.count(1)
        self.voters = configured_voters(config.controller_quorum_voters, config.log_dirs[0])
        self.quorum: QuorumNode | None = None
        self.service: ControllerService | None = None
        # KIP-853: without a static controller.quorum.voters, a controller that knows the quorum
        # by controller.quorum.bootstrap.servers runs Raft even alone (the set can grow), and
        # one outside the set (formatted with --no-initial-controllers) is an observer.
        dynamic = not config.controller_quorum_voters.strip() and bool(
            config.raw.get("controller.quorum.bootstrap.servers", "").strip()
        )
        if len(self.voters) > 1 or dynamic:
            bootstrapped = None
            if not config.controller_quorum_voters.strip():
                bootstrapped = read_bootstrap_voters(config.log_dirs[0]) or []
            self.quorum = QuorumNode(
                config,
                self.voters,
                _cluster_id(config, make=False),
                self._become_active,
                self._resign,
                bootstrap=bootstrapped,
                bootstrap_servers=_bootstrap_servers(config) if dynamic else None,
            )
            self.quorum.on_cluster_id = self._adopt_cluster_id
            self.quorum.log.on_commit = self._follower_snapshots()
            return
        self.service = self._make_service(None)

    @property
    def cluster_id(self) -> str:
        if self.quorum is not None:
            return self.quorum.cluster_id
        assert self.service is not None
        return self.service.controller.image.cluster_id

    def _adopt_cluster_id(self, cluster_id: str) -> None:
        from kcli.server.storage.log_dirs import write_meta

        write_meta(self.config.log_dirs[0], cluster_id, self.config.node_id, kraft=True)

    def _become_active(self) -> None:
        """Elected: the controller is rebuilt from the replicated log (snapshot and records, the
        uncommitted tail of earlier epochs included: the first commit of this epoch commits it)."""
        assert self.quorum is not None
        if not self.quorum.cluster_id:
            self.quorum.cluster_id = encode_cluster_id(random_uuid())
            log.info(
                "Formatting with cluster.id %s (elected first, the quorum had none)", self.quorum.cluster_id
            )
            self._adopt_cluster_id(self.quorum.cluster_id)
        service = self._make_service(self.quorum.log)
        service.describe_quorum = self.quorum.describe
        controller = service.controller

        def committed() -> None:
            service._publish()
            controller.maybe_snapshot()

        self.quorum.log.on_commit = committed
        self.service = service

    def _snapshot_bytes(self) -> int:
        return int(self.config.raw.get("metadata.log.max.record.bytes.between.snapshots", SNAPSHOT_BYTES))

    def _follower_snapshots(self) -> FollowerSnapshots:
        """A follower voter snapshots its own log as the leader does (``raft_snapshots``)."""
        assert self.quorum is not None
        return FollowerSnapshots(self.quorum.log, self._snapshot_bytes())

    def _resign(self) -> None:
        service, self.service = self.service, None
        if self.quorum is not None:
            self.quorum.log.on_commit = self._follower_snapshots()
        if service is not None:
            service.deactivate()

    def _make_service(self, metadata_log: RaftMetadataLog | None) -> ControllerService:
        config = self.config
        controller = Controller(
            config.log_dirs[0],
            self.quorum.cluster_id if self.quorum is not None else _cluster_id(config),
            node_id=config.node_id,
            snapshot_bytes=self._snapshot_bytes(),
            metadata_log=metadata_log,
        )
        raw = config.raw
        rebalance = raw.get("auto.leader.rebalance.enable", "true").strip().lower() == "true"
        return ControllerService(
            controller,
            grace_s=self.session_timeout_s,
            rebalance_interval_s=float(raw.get("leader.imbalance.check.interval.seconds", "300"))
            if rebalance
            else None,
            imbalance_percent=int(raw.get("leader.imbalance.per.broker.percentage", "10")),
        )

    def _not_controller(self) -> dict:
        """A voter that is not the active controller sends the broker to the one that is."""
        answer = {
            "ok": False,
            "error": "NotController",
            "code": int(ErrorCode.not_controller),
            "message": f"Node {self.config.node_id} is not the active controller",
        }
        if self.quorum is not None:
            leader, address = self.quorum.leader_address()
            if address is not None and leader != self.config.node_id:
                answer.update(leader=leader, host=address[0], port=address[1])
        return answer

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(next(self._ids), writer=writer)
        self.sessions[session.id] = session

        def seen() -> None:
            session.last_seen = time.monotonic()

        try:
            await answer_lines(reader, writer, lambda request: self._dispatch(session, request), seen)
        except asyncio.CancelledError:
            # The loop is ending (shutdown) while a request was held (a voter's long-poll fetch):
            # the connection just ends. Not re-raised: Python 3.11's stream server calls
            # ``task.exception()`` on a cancelled handler task, which logs a CancelledError
            # traceback for a clean stop.
            pass
        finally:
            self._end(session)

    async def _dispatch(self, session: _Session, request: dict) -> dict:
        op = str(request.get("op"))
        try:
            if op in ("hello", "ping"):
                return {"ok": True, "timeout_ms": int(self.session_timeout_s * 1000)}
            if op == "cluster_id":
                if not self.cluster_id:
                    return {
                        "ok": False,
                        "error": "NotFormatted",
                        "message": "the quorum has no cluster id yet",
                    }
                return {"ok": True, "id": self.cluster_id}
            if op.startswith("raft_") and self.quorum is not None:
                return await self.quorum.handle(op, request)
            if op.startswith("ctl_"):
                service = self.service
                if service is None or not service.active:
                    return self._not_controller()
                answer = await service.dispatch(session.id, request)
                if answer.get("error") == "NotController":
                    return {**self._not_controller(), "message": answer.get("message")}
                return answer
        except (ValueError, TypeError, KeyError) as exc:
            return {"ok": False, "error": "BadArguments", "message": str(exc)}
        return {"ok": False, "error": "Unimplemented", "message": f"unknown operation {op!r}"}

    def _end(self, session: _Session) -> None:
        if self.sessions.pop(session.id, None) is None:
            return
        if self.service is not None:
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
    if node.quorum is not None:
        node.quorum.start()
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
        node.cluster_id or "(not formatted: learnt from the quorum's leader)",
        ", ".join(f"{ls.name}://{ls.bind_host}:{ls.port}" for ls in listeners),
    )
    log.info("%s started", tag)
    try:
        await stop.wait()
    finally:
        log.info("%s shutting down", tag)
        reaper.cancel()
        if node.quorum is not None:
            # Before the connections close: the other voters hear EndQuorumEpoch and elect the
            # next leader while this one can still vote.
            node._resign()
            await node.quorum.resign_gracefully()
        for server in servers:
            server.close()
        for session in list(node.sessions.values()):
            node._end(session)
        if node.quorum is not None:
            node._resign()
            await node.quorum.close()
        elif node.service is not None:
            node.service.controller.close()
        for pid_file in pid_files:
            pid_file.remove()
        with contextlib.suppress(Exception):
            for server in servers:
                await server.wait_closed()
        log.info("%s shut down completed", tag)
