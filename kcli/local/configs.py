"""The properties files ``kcli local start`` writes: one broker+controller, a cluster's nodes, the registry."""

from __future__ import annotations

from pathlib import Path


def broker_properties(port: int, controller_port: int, data: Path) -> str:
    """A single-node KRaft broker on ``port`` storing its logs in ``data``."""
    return "\n".join(
        [
            "# Written by kcli local start: one broker+controller (KRaft mode).",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@localhost:{controller_port}",
            f"listeners=PLAINTEXT://localhost:{port},CONTROLLER://localhost:{controller_port}",
            f"advertised.listeners=PLAINTEXT://localhost:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
    )


CONTROLLER_ID = 100


def cluster_properties(
    node_id: int,
    roles: str,
    port: int,
    controller_port: int,
    data: Path,
    brokers: int,
    controller_ports: list[int] | None = None,
) -> str:
    """One node of a local KRaft cluster: a controller (``roles="controller"``, listening on
    ``controller_port``) or broker ``node_id``. ``controller_ports``: the quorum's voters (ids
    CONTROLLER_ID, CONTROLLER_ID + 1, ...), one by default."""
    replication = min(3, brokers)
    ports = controller_ports or [controller_port]
    voters = ",".join(f"{CONTROLLER_ID + i}@localhost:{p}" for i, p in enumerate(ports))
    lines = [
        f"# Written by kcli local start --brokers {brokers}: a KRaft cluster, this node is a {roles}.",
        f"process.roles={roles}",
        f"node.id={node_id}",
        f"controller.quorum.voters={voters}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={data}",
    ]
    if roles == "controller":
        lines.append(f"listeners=CONTROLLER://localhost:{controller_port}")
    else:
        lines += [
            f"listeners=PLAINTEXT://localhost:{port}",
            f"advertised.listeners=PLAINTEXT://localhost:{port}",
            "num.partitions=1",
            f"default.replication.factor={replication}",
            f"offsets.topic.replication.factor={replication}",
            f"transaction.state.log.replication.factor={replication}",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
        ]
    return "\n".join([*lines, ""])


def registry_properties(port: int, bootstrap: str) -> str:
    return "\n".join(
        [
            "# Written by kcli local start --schema-registry.",
            f"listeners=http://0.0.0.0:{port}",
            f"kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}",
            "kafkastore.topic=_schemas",
            "",
        ]
    )
