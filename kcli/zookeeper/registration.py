"""A ZooKeeper-mode broker's link to the coordination service: cluster id and live registration.

Kafka < 3.0 brokers (and Confluent Platform 7.x's default ``server.properties``) get their cluster
id from ZooKeeper and announce themselves as an ephemeral znode ``/brokers/ids/<id>``. The service
drops that entry when the broker's connection closes or its heartbeats stop, which is what makes
``ls /brokers/ids`` and ``--zookeeper`` resolution show only running brokers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from kcli.protocol.json_lines import MAX_LINE, exchange
from kcli.zookeeper.connect import START_HINT, ConnectString, parse_connect

if TYPE_CHECKING:
    from kcli.server.base.broker_view import BrokerNode
    from kcli.server.base.config import BrokerConfig

log = logging.getLogger("kafka.zookeeper.ZooKeeperClient")

DEFAULT_CONNECTION_TIMEOUT_MS = 18000
DEFAULT_SESSION_TIMEOUT_MS = 18000


class ZooKeeperUnavailable(Exception):
    """ZooKeeper cannot be used; ``str()`` is one line saying what to do."""


def _int_setting(raw: dict[str, str], key: str, default: int) -> int:
    try:
        return int(str(raw.get(key, default)).strip())
    except ValueError:
        return default


class ZooKeeperRegistration:
    """Connects to ``zookeeper.connect``, hands out the cluster id, keeps the broker registered."""

    def __init__(self, config: BrokerConfig):
        self.config = config
        try:
            self.connect_string: ConnectString = parse_connect(config.zookeeper_connect)
        except ValueError as exc:
            raise ZooKeeperUnavailable(str(exc)) from None
        self.connection_timeout_s = (
            _int_setting(config.raw, "zookeeper.connection.timeout.ms", DEFAULT_CONNECTION_TIMEOUT_MS) / 1000
        )
        self.session_timeout_s = (
            _int_setting(config.raw, "zookeeper.session.timeout.ms", DEFAULT_SESSION_TIMEOUT_MS) / 1000
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None
        self._node: BrokerNode | None = None
        self._closing = False
        self.negotiated_timeout_s = self.session_timeout_s

    # --- connection ---------------------------------------------------------------------------
    async def _open(self) -> None:
        deadline = time.monotonic() + self.connection_timeout_s
        while True:
            for host, port in self.connect_string.hosts:
                try:
                    self._reader, self._writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port, limit=MAX_LINE),
                        timeout=max(deadline - time.monotonic(), 0.1),
                    )
                    answer = await self._request(
                        "hello",
                        chroot=self.connect_string.chroot,
                        timeout_ms=int(self.session_timeout_s * 1000),
                    )
                    self.negotiated_timeout_s = (
                        float(answer.get("timeout_ms", 0)) / 1000 or self.session_timeout_s
                    )
                    log.info("[ZooKeeperClient Kafka server] Connected to %s.", f"{host}:{port}")
                    return
                except (TimeoutError, OSError, ConnectionError):
                    await self._drop()
            if time.monotonic() >= deadline:
                raise ZooKeeperUnavailable(
                    f"Timed out waiting for connection to ZooKeeper at {self.connect_string.display}: "
                    f"start ZooKeeper first ({START_HINT})"
                )
            await asyncio.sleep(0.2)  # retry back-off while ZooKeeper is starting

    async def _drop(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _request(self, op: str, **fields: object) -> dict:
        if self._writer is None or self._reader is None:
            raise ConnectionError("not connected to ZooKeeper")
        answer = await exchange(
            self._reader, self._writer, {"op": op, **fields}, "ZooKeeper closed the connection"
        )
        if not answer.get("ok"):
            raise ZooKeeperUnavailable(
                f"ZooKeeper at {self.connect_string.display} refused '{op}': {answer.get('message', answer.get('error'))}"
            )
        return answer

    async def _call(self, op: str, **fields: object) -> dict:
        async with self._lock:
            return await self._request(op, **fields)

    # --- the contract used by kcli.server.daemon ----------------------------------------------
    async def connect(self) -> str:
        """Connect within ``zookeeper.connection.timeout.ms``; return the cluster id it holds."""
        log.info(
            "[ZooKeeperClient Kafka server] Initializing a new session to %s.", self.connect_string.display
        )
        async with self._lock:
            await self._open()
            answer = await self._request("cluster_id")
        return str(answer["id"])

    def _registration(self, node: BrokerNode) -> dict:
        listeners = self.config.advertised()
        return {
            "id": node.node_id,
            "host": node.host,
            "port": node.port,
            "rack": node.rack,
            "endpoints": [f"{ls.name}://{ls.host}:{ls.port}" for ls in listeners],
            "protocols": {ls.name: _security_protocol(self.config, ls.name) for ls in listeners},
        }

    async def register(self, node: BrokerNode) -> None:
        """Register ``/brokers/ids/<id>`` (ephemeral) and keep it alive with heartbeats."""
        self._node = node
        await self._call("register", **self._registration(node))
        log.info(
            "Registered broker %d at path /brokers/ids/%d with addresses: %s",
            node.node_id,
            node.node_id,
            f"PLAINTEXT://{node.host}:{node.port}",
        )
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        """Ping every third of the session timeout; after a lost connection, reconnect and re-register."""
        while not self._closing:
            await asyncio.sleep(max(self.negotiated_timeout_s / 3, 0.05))
            try:
                await self._call("ping")
            except (OSError, ConnectionError, ZooKeeperUnavailable, ValueError) as exc:
                if self._closing:
                    return
                log.warning("Lost the ZooKeeper session (%s); reconnecting", exc)
                try:
                    async with self._lock:
                        await self._drop()
                        await self._open()
                        if self._node is not None:
                            await self._request("register", **self._registration(self._node))
                except (ZooKeeperUnavailable, OSError, ConnectionError) as again:
                    log.error("%s", again)

    async def close(self) -> None:
        """Deregister (by closing the session) and stop heartbeating."""
        self._closing = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._heartbeat
            self._heartbeat = None
        async with self._lock:
            await self._drop()


def _security_protocol(config: BrokerConfig, listener: str) -> str:
    """The listener's security protocol from ``listener.security.protocol.map`` (name = protocol by default)."""
    mapping = config.raw.get("listener.security.protocol.map", "")
    for item in mapping.split(","):
        name, _, proto = item.partition(":")
        if name.strip().upper() == listener:
            return proto.strip().upper() or listener
    return listener
