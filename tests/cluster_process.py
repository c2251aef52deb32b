"""A real multi-broker cluster as subprocesses: ZooKeeper mode or KRaft mode, for tests.

ZooKeeper mode starts ``zookeeper-server-start`` (which hosts the controller) and N brokers with
``zookeeper.connect``; KRaft mode starts one ``process.roles=controller`` node and N
``process.roles=broker`` nodes voting for it - the two topologies of the multi-broker lab.
Each process waits for its own "started" log line; ``stop()`` ends every one of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.broker_process import BrokerProcess, ServiceProcess, free_port, start_and_wait

CONTROLLER_MARKER = "started (kafka.server.ControllerServer)"
ZOOKEEPER_MARKER = "binding to port"


class ZooKeeperProcess(ServiceProcess):
    def __init__(self, workdir: Path):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.properties = workdir / "zookeeper.properties"
        self.properties.write_text(f"dataDir={workdir / 'data'}\nclientPort={self.port}\ntickTime=500\n")
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> ZooKeeperProcess:
        args = [sys.executable, "-m", "kcli.zookeeper.start", str(self.properties)]
        self.proc = start_and_wait(args, self.workdir, ZOOKEEPER_MARKER, self.output, timeout)
        return self


class Cluster:
    """``brokers`` brokers with ids 0..N-1 on free ports, in ``mode`` "zookeeper" or "kraft"."""

    def __init__(
        self,
        workdir: Path,
        brokers: int = 3,
        mode: str = "zookeeper",
        overrides: dict[str, str] | None = None,
        controllers: int = 1,
        controller_overrides: dict[str, str] | None = None,
    ):
        """``controllers``: KRaft voters (ids 100, 101, ...): one, or a Raft quorum of several;
        ``controller_overrides``: settings of every controller (its timers, its snapshots)."""
        self.workdir = workdir
        self.mode = mode
        self.zookeeper: ZooKeeperProcess | None = None
        self.controller: BrokerProcess | None = None
        self.controllers: list[BrokerProcess] = []
        common: dict[str, str | None] = {
            "offsets.topic.replication.factor": "1",
            "group.initial.rebalance.delay.ms": "0",
            "replica.lag.time.max.ms": "10000",
        }
        if mode == "zookeeper":
            self.zookeeper = ZooKeeperProcess(workdir / "zookeeper")
            common.update({"process.roles": None, "zookeeper.connect": f"127.0.0.1:{self.zookeeper.port}"})
        else:
            ports = {100 + i: free_port() for i in range(controllers)}
            voters = ",".join(f"{node}@127.0.0.1:{port}" for node, port in ports.items())
            self.controllers = [
                BrokerProcess(
                    workdir / ("controller" if node == 100 else f"controller-{node}"),
                    {
                        "node.id": str(node),
                        "process.roles": "controller",
                        "listeners": f"CONTROLLER://127.0.0.1:{port}",
                        "controller.listener.names": "CONTROLLER",
                        "controller.quorum.voters": voters,
                        **(controller_overrides or {}),
                    },
                    port=port,
                    marker=CONTROLLER_MARKER,
                )
                for node, port in ports.items()
            ]
            self.controller = self.controllers[0]
            common.update({"process.roles": "broker", "controller.quorum.voters": voters,
                           "controller.listener.names": "CONTROLLER"})  # fmt: skip
        common.update(overrides or {})
        self.brokers = [
            BrokerProcess(workdir / f"broker-{i}", {**common, "node.id": str(i), "broker.id": str(i)})
            for i in range(brokers)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers)

    def start(self) -> Cluster:
        try:
            if self.zookeeper is not None:
                self.zookeeper.start()
            for controller in self.controllers:
                controller.start()
            for broker in self.brokers:
                broker.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for broker in self.brokers:
            broker.stop()
        for controller in self.controllers:
            controller.stop()
        if self.zookeeper is not None:
            self.zookeeper.stop()
