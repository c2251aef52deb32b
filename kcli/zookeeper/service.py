"""The coordination service behind ``zookeeper-server-start``: a virtual znode tree over JSON lines.

State is small: the cluster id (persisted in ``dataDir`` so a restarted ZooKeeper hands the same id
to brokers whose logs were formatted with it) and the live brokers, each tied to the session that
registered it. The cluster's controller lives here too (``ctl_*`` operations, see
:mod:`kcli.server.cluster.controller_service`), as Kafka's controller relied on ZooKeeper:
``/brokers/topics`` and partition states are answered from its metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from kcli.protocol.json_lines import MAX_LINE, answer_lines
from kcli.protocol.uuids import encode_cluster_id, random_uuid
from kcli.server.cluster.controller import Controller
from kcli.server.cluster.controller_service import ControllerService
from kcli.zookeeper.connect import normalize_path

log = logging.getLogger("org.apache.zookeeper.server.ZooKeeperServer")
CLUSTER_FILE = "kcli-cluster-ids.json"


class NoNode(Exception):
    """The path does not exist (ZooKeeper's NoNode)."""


@dataclass
class Session:
    id: int
    chroot: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    timeout_s: float = 18.0
    writer: asyncio.StreamWriter | None = None
    brokers: set[int] = field(default_factory=set)


@dataclass
class BrokerEntry:
    id: int
    host: str
    port: int
    rack: str | None
    endpoints: list[str]
    protocols: dict[str, str]
    timestamp_ms: int
    session: int

    def znode(self) -> str:
        """The JSON a Kafka broker writes at /brokers/ids/<id> (registration version 5)."""
        data: dict[str, object] = {
            "features": {},
            "listener_security_protocol_map": self.protocols or {"PLAINTEXT": "PLAINTEXT"},
            "endpoints": self.endpoints or [f"PLAINTEXT://{self.host}:{self.port}"],
            "jmx_port": -1,
            "port": self.port,
            "host": self.host,
            "version": 5,
            "timestamp": str(self.timestamp_ms),
        }
        if self.rack:
            data["rack"] = self.rack
        return json.dumps(data, separators=(",", ":"))


class CoordinationService:
    """All state of one running service; ``serve()`` binds the port, ``handle()`` one connection."""

    def __init__(
        self,
        data_dir: Path,
        session_timeout_s: float = 18.0,
        topic_timeout_s: float = 5.0,
        min_session_timeout_s: float = 0.0,
    ):
        self.data_dir = data_dir
        # ZooKeeper negotiates each session's timeout into [2, 20] ticks; the maximum is the default.
        self.session_timeout_s = session_timeout_s
        self.min_session_timeout_s = min(min_session_timeout_s, session_timeout_s)
        self.topic_timeout_s = topic_timeout_s
        self.sessions: dict[int, Session] = {}
        self.brokers: dict[str, dict[int, BrokerEntry]] = {}
        self._ids = itertools.count(int(time.time()) << 20)
        self.cluster_ids = self._load_cluster_ids()
        self.controllers: dict[str, ControllerService] = {}
        self.created_ms = int(time.time() * 1000)

    # --- persistence --------------------------------------------------------------------------
    def _load_cluster_ids(self) -> dict[str, str]:
        path = self.data_dir / CLUSTER_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def cluster_id(self, chroot: str) -> str:
        """The cluster id under ``chroot``, created (Kafka's 22-char form) and persisted on first use."""
        if chroot not in self.cluster_ids:
            self.cluster_ids[chroot] = encode_cluster_id(random_uuid())
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.data_dir / (CLUSTER_FILE + ".tmp")
            tmp.write_text(json.dumps(self.cluster_ids))
            os.replace(tmp, self.data_dir / CLUSTER_FILE)
            log.info("Created cluster id %s", self.cluster_ids[chroot])
        return self.cluster_ids[chroot]

    def controller(self, chroot: str) -> ControllerService:
        """The cluster controller of ``chroot``: in ZooKeeper mode it lives with the coordination
        service, its metadata in ``dataDir`` next to the cluster id."""
        if chroot not in self.controllers:
            safe = chroot.strip("/").replace("/", "_") or "root"
            directory = self.data_dir / "kcli-controller" / safe
            controller = Controller(directory, self.cluster_id(chroot))
            self.controllers[chroot] = ControllerService(controller, grace_s=self.session_timeout_s)
        return self.controllers[chroot]

    # --- sessions -----------------------------------------------------------------------------
    def end_session(self, session: Session) -> None:
        """Drop the session's ephemeral broker entries, as ZooKeeper does when a session ends."""
        if self.sessions.pop(session.id, None) is None:
            return
        for controller in self.controllers.values():
            controller.session_ended(session.id)
        live = self.brokers.get(session.chroot, {})
        for broker_id in session.brokers:
            if live.get(broker_id) is not None and live[broker_id].session == session.id:
                del live[broker_id]
                log.info("Broker %d unregistered (session 0x%x closed)", broker_id, session.id)
        if session.writer is not None:
            session.writer.close()

    async def reap(self) -> None:
        """Expire sessions that stopped heartbeating."""
        while True:
            await asyncio.sleep(min(self.min_session_timeout_s / 4 or 0.5, 1.0))
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if now - session.last_seen > session.timeout_s:
                    log.info(
                        "Expiring session 0x%x, timeout of %dms exceeded",
                        session.id,
                        int(session.timeout_s * 1000),
                    )
                    self.end_session(session)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(next(self._ids), writer=writer, timeout_s=self.session_timeout_s)
        self.sessions[session.id] = session

        def seen() -> None:
            session.last_seen = time.monotonic()

        try:
            await answer_lines(reader, writer, lambda request: self.dispatch(session, request), seen)
        finally:
            self.end_session(session)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # --- requests -----------------------------------------------------------------------------
    async def dispatch(self, session: Session, request: dict) -> dict:
        op = request.get("op")
        try:
            if op == "hello":
                session.chroot = str(request.get("chroot") or "")
                if request.get("timeout_ms"):
                    wanted = float(request["timeout_ms"]) / 1000
                    session.timeout_s = min(max(wanted, self.min_session_timeout_s), self.session_timeout_s)
                return {
                    "ok": True,
                    "session": f"0x{session.id:x}",
                    "timeout_ms": int(session.timeout_s * 1000),
                }
            if op == "ping":
                return {"ok": True}
            if isinstance(op, str) and op.startswith("ctl_"):
                chroot = str(request.get("chroot", session.chroot) or "")
                return await self.controller(chroot).dispatch(session.id, request)
            if op == "cluster_id":
                return {"ok": True, "id": self.cluster_id(session.chroot)}
            if op == "register":
                return self._register(session, request)
            if op == "brokers":
                live = self.brokers.get(session.chroot, {})
                return {
                    "ok": True,
                    "brokers": [
                        {"id": b.id, "host": b.host, "port": b.port}
                        for b in sorted(live.values(), key=lambda b: b.id)
                    ],
                }
            if op == "ls":
                return {
                    "ok": True,
                    "children": await self.children(session.chroot, str(request.get("path", ""))),
                }
            if op == "get":
                return {"ok": True, "data": await self.data(session.chroot, str(request.get("path", "")))}
        except NoNode as exc:
            return {"ok": False, "error": "NoNode", "message": str(exc)}
        except (ValueError, TypeError, KeyError) as exc:
            return {"ok": False, "error": "BadArguments", "message": str(exc)}
        return {"ok": False, "error": "Unimplemented", "message": f"unknown operation {op!r}"}

    def _register(self, session: Session, request: dict) -> dict:
        broker_id = int(request["id"])
        live = self.brokers.setdefault(session.chroot, {})
        existing = live.get(broker_id)
        if existing is not None and existing.session != session.id:
            return {
                "ok": False,
                "error": "NodeExists",
                "message": f"Error while creating ephemeral at /brokers/ids/{broker_id}, node already exists "
                f"(another broker runs with broker.id={broker_id})",
            }
        live[broker_id] = BrokerEntry(
            id=broker_id,
            host=str(request["host"]),
            port=int(request["port"]),
            rack=request.get("rack") or None,
            endpoints=[str(e) for e in request.get("endpoints") or []],
            protocols={str(k): str(v) for k, v in (request.get("protocols") or {}).items()},
            timestamp_ms=int(time.time() * 1000),
            session=session.id,
        )
        session.brokers.add(broker_id)
        log.info(
            "Broker %d registered at %s:%d (session 0x%x)",
            broker_id,
            live[broker_id].host,
            live[broker_id].port,
            session.id,
        )
        return {"ok": True}

    # --- the virtual tree ---------------------------------------------------------------------
    def _live(self, chroot: str) -> dict[int, BrokerEntry]:
        return self.brokers.get(chroot, {})

    async def children(self, chroot: str, path: str) -> list[str]:
        path = normalize_path(path)
        live = self._live(chroot)
        fixed = {
            "/": [
                "admin",
                "brokers",
                "cluster",
                "config",
                "consumers",
                "controller_epoch",
                "feature",
                "isr_change_notification",
                "latest_producer_id_block",
                "log_dir_event_notification",
                "zookeeper",
            ]
            + (["controller"] if live else []),
            "/brokers": ["ids", "seqid", "topics"],
            "/cluster": ["id"],
            "/config": ["brokers", "changes", "clients", "ips", "topics", "users"],
            "/admin": ["delete_topics"],
            "/zookeeper": ["config", "quota"],
        }
        if path in fixed:
            return sorted(fixed[path])
        if path == "/brokers/ids":
            return [str(i) for i in sorted(live)]
        if path == "/brokers/topics":
            return sorted(await self._topics(chroot))
        if path.startswith("/brokers/ids/") and path.rsplit("/", 1)[1] in {str(i) for i in live}:
            return []
        if path.startswith("/brokers/topics/"):
            topics = await self._topics(chroot)
            name = path.split("/")[3]
            if name not in topics:
                raise NoNode(path)
            rest = path.split("/")[4:]
            if not rest:
                return ["partitions"]
            if rest == ["partitions"]:
                return [str(p) for p in sorted(topics[name])]
            if len(rest) in (2, 3) and rest[1].isdigit() and int(rest[1]) in topics[name]:
                if len(rest) == 2:
                    return ["state"]
                if rest[2] == "state":
                    return []
            raise NoNode(path)
        if path in (
            "/cluster/id",
            "/controller",
            "/controller_epoch",
            "/brokers/seqid",
            "/feature",
            "/consumers",
            "/isr_change_notification",
            "/latest_producer_id_block",
            "/log_dir_event_notification",
            "/admin/delete_topics",
            "/zookeeper/config",
            "/zookeeper/quota",
        ) or path.startswith("/config/"):
            if path == "/controller" and not live:
                raise NoNode(path)
            return []
        raise NoNode(path)

    async def data(self, chroot: str, path: str) -> str:
        path = normalize_path(path)
        live = self._live(chroot)
        if path == "/cluster/id":
            return json.dumps({"version": "1", "id": self.cluster_id(chroot)}, separators=(",", ":"))
        if path.startswith("/brokers/ids/"):
            tail = path.split("/")[3]
            if tail.isdigit() and int(tail) in live and path.count("/") == 3:
                return live[int(tail)].znode()
            raise NoNode(path)
        if path == "/controller":
            if not live:
                raise NoNode(path)
            first = min(live.values(), key=lambda b: b.timestamp_ms)
            return json.dumps(
                {
                    "version": 2,
                    "brokerid": first.id,
                    "timestamp": str(first.timestamp_ms),
                    "kraftControllerEpoch": -1,
                },
                separators=(",", ":"),
            )
        if path == "/controller_epoch":
            return "1"
        if path.startswith("/brokers/topics/") and path.count("/") == 3:
            topics = await self._topics(chroot)
            name = path.split("/")[3]
            if name not in topics:
                raise NoNode(path)
            partitions = {str(p): replicas for p, replicas in sorted(topics[name].items())}
            return json.dumps(
                {"partitions": partitions, "adding_replicas": {}, "removing_replicas": {}, "version": 2},
                separators=(",", ":"),
            )
        if path.startswith("/brokers/topics/") and path.endswith("/state"):
            await self.children(chroot, path)  # raises NoNode for unknown topics and partitions
            topics = await self._topics(chroot)
            name, index = path.split("/")[3], int(path.split("/")[5])
            replicas = topics[name][index]
            state = {
                "controller_epoch": 1,
                "leader": replicas[0] if replicas else -1,
                "version": 1,
                "leader_epoch": 0,
                "isr": replicas,
            }
            live = self.controllers.get(chroot)
            topic = live.controller.image.topics.get(name) if live is not None else None
            if topic is not None and index < len(topic.partitions):
                p = topic.partitions[index]
                state.update(leader=p.leader, leader_epoch=p.leader_epoch, isr=p.isr)
            return json.dumps(state, separators=(",", ":"))
        await self.children(chroot, path)  # raises NoNode for unknown paths
        return "null"

    async def _topics(self, chroot: str) -> dict[str, dict[int, list[int]]]:
        """Topic -> partition -> replicas: the controller's metadata, or asked of a registered
        broker over the Kafka protocol when this service has not met a controller-aware broker."""
        controller = self.controllers.get(chroot)
        if controller is not None:
            image = controller.controller.image
            return {
                t.name: {i: list(p.replicas) for i, p in enumerate(t.partitions)}
                for t in image.topics.values()
            }
        live = self._live(chroot)
        if not live:
            return {}
        bootstrap = ",".join(f"{b.host}:{b.port}" for b in live.values())
        return await asyncio.to_thread(fetch_topics, bootstrap, self.topic_timeout_s)


def fetch_topics(bootstrap: str, timeout_s: float) -> dict[str, dict[int, list[int]]]:
    """One Metadata request with librdkafka; empty if the brokers do not answer in time."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "log_level": 0, "logger": logging.getLogger("kcli.zk.admin")}
    )
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        log.warning("Could not list topics from %s: %s", bootstrap, exc)
        return {}
    return {
        name: {p: list(meta.replicas) for p, meta in topic.partitions.items()}
        for name, topic in metadata.topics.items()
    }


async def serve(
    service: CoordinationService,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Bind and serve until ``stop`` is set (or forever)."""
    server = await asyncio.start_server(service.handle, host, port, limit=MAX_LINE, reuse_address=True)
    reaper = asyncio.create_task(service.reap())
    if ready is not None:
        ready.set()
    try:
        if stop is None:
            await asyncio.Event().wait()
        else:
            await stop.wait()
    finally:
        reaper.cancel()
        server.close()
        for session in list(service.sessions.values()):
            service.end_session(session)
        for controller in service.controllers.values():
            controller.controller.close()  # the metadata log's checkpoints, written on close
        with contextlib.suppress(Exception):
            await server.wait_closed()
