"""The ZooKeeper-mode coordination service, its shell, broker registration and ``--zookeeper`` resolution.

The service runs as the real ``zookeeper-server-start`` subprocess; the "broker" here is a
:class:`ZooKeeperRegistration` driven directly (the full broker is covered by ``test_lecture``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcli.server.base.broker_view import BrokerNode
from kcli.server.base.config import BrokerConfig
from kcli.zookeeper.connect import parse_connect
from kcli.zookeeper.registration import ZooKeeperRegistration, ZooKeeperUnavailable
from kcli.zookeeper.resolve import ZooKeeperUnavailable as ResolveUnavailable
from kcli.zookeeper.resolve import bootstrap_servers
from tests.e2e.helpers import Server, free_port, live_pid_files
from tests.waiting import wait_until


class ZooKeeper:
    def __init__(self, workdir: Path, env: dict[str, str], tick_ms: int = 3000, port: int | None = None):
        self.port = port or free_port()
        self.env = env
        self.properties = workdir / f"zookeeper-{self.port}.properties"
        self.properties.write_text(
            f"dataDir={workdir / 'zk-data'}\nclientPort={self.port}\ntickTime={tick_ms}\n"
        )
        self.server: Server | None = None

    def start(self) -> ZooKeeper:
        self.server = Server(f"{sys.executable} -m kcli.zookeeper.start {self.properties}", self.env)
        assert self.server.wait_for("started"), self.server.text()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"


@pytest.fixture
def zk_factory(env: dict[str, str], tmp_path: Path) -> Iterator:
    made: list[ZooKeeper] = []

    def make(**kwargs: object) -> ZooKeeper:
        zk = ZooKeeper(tmp_path, env, **kwargs)  # type: ignore[arg-type]
        made.append(zk)
        return zk.start()

    yield make
    for zk in made:
        zk.stop()
    assert live_pid_files(Path(env["KCLI_HOME"])) == []


def shell(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.zookeeper.shell", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
    )


def config(address: str, port: int = 9999, timeout_ms: int = 5000) -> BrokerConfig:
    return BrokerConfig.from_properties(
        {
            "broker.id": "5",
            "zookeeper.connect": address,
            "listeners": f"PLAINTEXT://localhost:{port}",
            "zookeeper.connection.timeout.ms": str(timeout_ms),
        }
    )


def test_parse_connect() -> None:
    parsed = parse_connect("zk1:2181,zk2/kafka/")
    assert parsed.hosts == (("zk1", 2181), ("zk2", 2181))
    assert parsed.chroot == "/kafka"
    assert parse_connect("localhost:2181").display == "localhost:2181"
    with pytest.raises(ValueError):
        parse_connect("")


def test_registration_lifecycle(zk_factory, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    zk = zk_factory()

    async def scenario() -> tuple[str, str, str]:
        registration = ZooKeeperRegistration(config(zk.address))
        cluster_id = await registration.connect()
        await registration.register(BrokerNode(5, "localhost", 9999))
        listed = await asyncio.to_thread(shell, env, zk.address, "ls", "/brokers/ids")
        data = await asyncio.to_thread(shell, env, zk.address, "get", "/brokers/ids/5")
        resolved = await asyncio.to_thread(bootstrap_servers, zk.address, 5.0)
        # A second broker with the same id is refused, as Kafka refuses a duplicate broker.id.
        duplicate = ZooKeeperRegistration(config(zk.address))
        assert await duplicate.connect() == cluster_id
        with pytest.raises(ZooKeeperUnavailable, match=r"/brokers/ids/5, node already exists"):
            await duplicate.register(BrokerNode(5, "localhost", 9998))
        await duplicate.close()
        await registration.close()
        return cluster_id, listed.stdout + "\n" + data.stdout, resolved

    cluster_id, output, resolved = asyncio.run(scenario())
    assert len(cluster_id) == 22
    lines = output.splitlines()
    assert lines[0] == f"Connecting to {zk.address}"
    assert "[5]" in lines
    registered = json.loads(next(line for line in lines if line.startswith("{")))
    assert registered["endpoints"] == ["PLAINTEXT://localhost:9999"]
    assert registered["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
    assert (registered["host"], registered["port"], registered["jmx_port"], registered["version"]) == (
        "localhost",
        9999,
        -1,
        5,
    )
    assert registered["timestamp"].isdigit()
    assert resolved == "localhost:9999"
    # Closing the session removes the ephemeral entry.
    assert wait_until(lambda: shell(env, zk.address, "ls", "/brokers/ids").stdout.splitlines()[-1] == "[]")
    with pytest.raises(ResolveUnavailable, match="No broker is registered with ZooKeeper at"):
        bootstrap_servers(zk.address, 5.0)
    cluster = shell(env, zk.address, "get", "/cluster/id").stdout.splitlines()[-1]
    assert json.loads(cluster) == {"version": "1", "id": cluster_id}


def test_cluster_id_survives_restart(zk_factory) -> None:  # type: ignore[no-untyped-def]
    zk = zk_factory()
    first = asyncio.run(_cluster_id(zk.address))
    zk.stop()
    again = zk_factory(port=zk.port)
    assert asyncio.run(_cluster_id(again.address)) == first


async def _cluster_id(address: str) -> str:
    registration = ZooKeeperRegistration(config(address))
    try:
        return await registration.connect()
    finally:
        await registration.close()


def test_silent_session_expires(zk_factory, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    zk = zk_factory(tick_ms=100)  # session timeout: 20 ticks, at least 2 s
    with socket.create_connection(("localhost", zk.port)) as raw:
        reader = raw.makefile("rb")
        for request in ({"op": "hello"}, {"op": "register", "id": 7, "host": "h", "port": 1}):
            raw.sendall(json.dumps(request).encode() + b"\n")
            assert json.loads(reader.readline())["ok"]
        assert shell(env, zk.address, "ls", "/brokers/ids").stdout.splitlines()[-1] == "[7]"
        # No heartbeat from here on: the entry goes although the connection stays open.
        assert wait_until(
            lambda: shell(env, zk.address, "ls", "/brokers/ids").stdout.splitlines()[-1] == "[]"
        )


def test_connect_times_out_with_one_line() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ZooKeeperUnavailable) as info:
        asyncio.run(_cluster_id_timeout(f"localhost:{port}"))
    assert time.monotonic() - started < 10
    assert str(info.value) == (
        f"Timed out waiting for connection to ZooKeeper at localhost:{port}: start ZooKeeper "
        "first (zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties)"
    )


async def _cluster_id_timeout(address: str) -> str:
    registration = ZooKeeperRegistration(config(address, timeout_ms=300))
    return await registration.connect()


def test_resolve_nothing_listens() -> None:
    port = free_port()
    with pytest.raises(ResolveUnavailable) as info:
        bootstrap_servers(f"localhost:{port}", 1.0)
    assert str(info.value).startswith(f"Nothing listens at localhost:{port} (ZooKeeper is not running there)")
    assert "\n" not in str(info.value)


def test_shell_commands(zk_factory, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    zk = zk_factory()
    root = shell(env, zk.address, "ls", "/")
    assert root.returncode == 0
    assert root.stdout.splitlines()[-1].startswith("[admin, brokers, cluster, config")
    assert shell(env, zk.address, "ls", "/brokers").stdout.splitlines()[-1] == "[ids, seqid, topics]"
    missing = shell(env, zk.address, "get", "/nope")
    assert (missing.returncode, missing.stderr.strip()) == (1, "Node does not exist: /nope")
    repl = shell(env, zk.address, stdin="ls /brokers/ids\nls /cluster\nquit\n")
    assert repl.returncode == 0
    assert repl.stdout.splitlines()[-2:] == ["[]", "[id]"]
    nothing = shell(env, f"localhost:{free_port()}", "ls", "/")
    assert nothing.returncode == 1
    assert "nothing listens there; start ZooKeeper first" in nothing.stderr


def test_port_taken_and_stop(zk_factory, env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zk = zk_factory()
    second = subprocess.run(
        [sys.executable, "-m", "kcli.zookeeper.start", str(zk.properties)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"port {zk.port} is already in use" in second.stdout
    stop = subprocess.run(
        [sys.executable, "-m", "kcli.zookeeper.stop"], capture_output=True, text=True, env=env
    )
    assert stop.returncode == 0
    assert zk.server is not None and zk.server.proc.wait(30) == 0
    again = subprocess.run(
        [sys.executable, "-m", "kcli.zookeeper.stop"], capture_output=True, text=True, env=env
    )
    assert (again.returncode, again.stderr.strip()) == (1, "No zookeeper server to stop")


def test_broker_registers_again_after_zookeeper_restart(zk_factory, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    zk = zk_factory(tick_ms=100)
    settings = {
        "broker.id": "5",
        "zookeeper.connect": zk.address,
        "listeners": "PLAINTEXT://localhost:9999",
        "zookeeper.session.timeout.ms": "600",
        "zookeeper.connection.timeout.ms": "20000",
    }

    def ids() -> str:
        result = shell(env, zk.address, "ls", "/brokers/ids")
        return result.stdout.splitlines()[-1] if result.returncode == 0 else ""

    async def scenario() -> bool:
        registration = ZooKeeperRegistration(BrokerConfig.from_properties(settings))
        await registration.connect()
        await registration.register(BrokerNode(5, "localhost", 9999))
        try:
            assert await asyncio.to_thread(ids) == "[5]"
            await asyncio.to_thread(zk.stop)
            await asyncio.to_thread(zk_factory, tick_ms=100, port=zk.port)
            return await asyncio.to_thread(wait_until, lambda: ids() == "[5]")
        finally:
            await registration.close()

    assert asyncio.run(scenario())
