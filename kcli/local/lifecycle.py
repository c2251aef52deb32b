"""``kcli local start|status|stop|restart|destroy|kill-broker``: the stack's processes, whole or one node."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import time
from pathlib import Path

from kcli.local import racks as local_racks
from kcli.local.configs import CONTROLLER_ID, broker_properties, cluster_properties, registry_properties
from kcli.local.services import (
    STOP_TIMEOUT_S,
    LocalError,
    Service,
    adopt,
    is_ours,
    launch,
    load_state,
    local_dir,
    port_in_use,
    reap,
    save_state,
    state_file,
    stop_services,
)


def start(
    brokers: int = 1,
    port: int = 9092,
    schema_registry: bool = False,
    registry_port: int = 8081,
    secure: bool = False,
    controllers: int = 1,
    racks: str | None = None,
) -> list[str]:
    """Start the stack; returns the lines to print. Raises LocalError with one line on failure.
    ``racks``: ``--racks a,b,c``, the brokers' racks round robin (:mod:`kcli.local.racks`)."""
    if brokers < 1:
        raise LocalError(f"--brokers {brokers}: the number of brokers must be at least 1")
    try:
        rack_list = local_racks.parse_racks(racks, brokers)
    except ValueError as exc:
        raise LocalError(str(exc)) from None
    if controllers < 1 or controllers % 2 == 0:
        raise LocalError(
            f"--controllers {controllers}: a controller quorum needs an odd number of voters (1, 3 or 5)"
        )

    messages: list[str] = []
    services = load_state()
    running = [(s, pid) for s in services if (pid := s.live_pid()) is not None]
    if running:
        desc = ", ".join(f"{s.name} (pid {pid}, port {s.port})" for s, pid in running)
        down = [s for s in services if s.live_pid() is None and s.node_id is not None]
        hint = "".join(f"; kcli local start --broker {s.node_id} starts {s.name} again" for s in down)
        raise LocalError(
            f"kcli local is already running: {desc}{hint}; see kcli local status, or kcli local stop"
        )
    if services:
        desc = ", ".join(f"{s.name} pid {s.pid}" for s in services)
        messages.append(f"Removed a stale pid file ({state_file()}): {desc} no longer running")
        save_state([])
    # One broker: its controller listener takes port + 1. A cluster: brokers on port .. port+N-1,
    # the controller node on port + N.
    broker_ports = [port + i for i in range(brokers)]
    controller_port = port + brokers
    controller_ports = [controller_port + i for i in range(controllers)]
    wanted = [*broker_ports, *controller_ports] + ([registry_port] if schema_registry else [])
    for p in wanted:
        if port_in_use(p):
            raise LocalError(
                f"Port {p} is already in use by another process: stop it, or choose another port "
                "with kcli local start --port N"
            )
    if schema_registry and importlib.util.find_spec("kcli.schema_registry.start") is None:
        raise LocalError("--schema-registry: the schema registry is not part of this kcli install")
    base = local_dir()
    logs = base / "logs"
    config_dir = base / "etc"
    config_dir.mkdir(parents=True, exist_ok=True)
    bootstrap = ",".join(f"localhost:{p}" for p in broker_ports)
    started: list[Service] = []
    try:
        secure_dir = None
        if brokers == 1 and controllers == 1:
            server_props = config_dir / "server.properties"
            text = local_racks.with_rack(
                broker_properties(port, port + 1, base / "data" / "kafka"), rack_list, 0
            )
            if secure:  # the SASL_SSL lab: certificates, users, ACLs (kcli/local/secure.py)
                from kcli.local import secure as local_secure

                secure_dir = local_secure.prepare(base, [base / "data" / "kafka"])
                text = local_secure.secure_broker_properties(text, secure_dir, port)
            server_props.write_text(text)
            messages.append("Starting Kafka (KRaft mode, 1 broker)")
            started.append(
                launch("kafka", "kcli.server.start", server_props, port, logs / "server.log", node_id=1)
            )
            save_state(started)
            messages.append(f"Kafka is [UP] on localhost:{port}")
        else:
            if secure:  # the controller keeps the SCRAM users: seed them in its data directory
                from kcli.local import secure as local_secure

                names = (
                    ["controller"]
                    if controllers == 1
                    else [f"controller-{CONTROLLER_ID + i}" for i in range(controllers)]
                )
                secure_dir = local_secure.prepare(base, [base / "data" / n for n in names])
            _start_cluster(
                brokers, broker_ports, controller_port, base, config_dir, logs, started, messages, secure_dir,
                controller_ports, rack_list,
            )  # fmt: skip
        if schema_registry:
            sr_props = config_dir / "schema-registry.properties"
            sr_text, sr_env = registry_properties(registry_port, bootstrap), {}
            if secure_dir is not None:
                from kcli.local import secure as local_secure

                sr_text, sr_env = local_secure.registry_settings(secure_dir, registry_port, bootstrap)
            sr_props.write_text(sr_text)
            messages.append("Starting Schema Registry")
            started.append(
                launch(
                    "schema-registry",
                    "kcli.schema_registry.start",
                    sr_props,
                    registry_port,
                    logs / "schema-registry.log",
                    env=sr_env,
                )
            )
            save_state(started)
            scheme = "https" if secure_dir is not None else "http"
            messages.append(f"Schema Registry is [UP] on {scheme}://localhost:{registry_port}")
    except LocalError:
        stop_services(started)
        save_state([])
        raise
    messages.append(f"Bootstrap servers: {bootstrap}")
    if secure_dir is not None:
        from kcli.local import secure as local_secure

        messages += local_secure.summary(secure_dir)
    messages.append(f"Logs: {logs}")
    return messages


def _start_cluster(
    brokers: int,
    broker_ports: list[int],
    controller_port: int,
    base: Path,
    config_dir: Path,
    logs: Path,
    started: list[Service],
    messages: list[str],
    secure_dir: Path | None = None,
    controller_ports: list[int] | None = None,
    racks: list[str] | None = None,
) -> None:
    """The controller node(s), then the brokers 0..N-1; each recorded as soon as it is up. With a
    quorum the voters are controller-100, controller-101, ... (node ids 100, 101, ...)."""
    ports = controller_ports or [controller_port]
    quorum = len(ports) > 1
    messages.append(
        f"Starting Kafka (KRaft mode, {len(ports)} controller{'s' if quorum else ''}, {brokers} brokers)"
    )
    for i, cport in enumerate(ports):
        node = CONTROLLER_ID + i
        name = f"controller-{node}" if quorum else "controller"
        props = config_dir / f"{name}.properties"
        props.write_text(
            cluster_properties(node, "controller", 0, cport, base / "data" / name, brokers, ports)
        )
        log_name = f"{name}.log"
        started.append(
            launch(name, "kcli.server.start", props, cport, logs / log_name, node if quorum else None)
        )
        save_state(started)
        messages.append(f"Controller {node if quorum else ''}".rstrip() + f" is [UP] on localhost:{cport}")
    for node_id, broker_port in enumerate(broker_ports):
        props = config_dir / f"server-{node_id}.properties"
        data = base / "data" / f"kafka-{node_id}"
        text = cluster_properties(node_id, "broker", broker_port, controller_port, data, brokers, ports)
        text = local_racks.with_rack(text, racks, node_id)
        if secure_dir is not None:
            from kcli.local import secure as local_secure

            text = local_secure.secure_broker_properties(text, secure_dir, broker_port)
        props.write_text(text)
        log = logs / f"server-{node_id}.log"
        started.append(launch(f"kafka-{node_id}", "kcli.server.start", props, broker_port, log, node_id))
        save_state(started)
        messages.append(f"Kafka broker {node_id} is [UP] on localhost:{broker_port}")


def status() -> list[str]:
    services = adopt(load_state())
    if not services:
        return ["Nothing runs: start the stack with kcli local start"]
    racks = {s.name: local_racks.rack_in(s.config_path()) for s in services if s.node_id is not None}
    shown = any(racks.values())  # a RACK column only for a lab started with --racks
    lines = [f"{'SERVICE':<16}{'STATE':<10}{'PORT':<8}{'PID':<10}" + ("RACK    " if shown else "") + "LOG"]
    for s in services:
        state = "UP" if s.alive() else "DOWN"
        rack = f"{racks.get(s.name) or '-':<8}" if shown else ""
        lines.append(f"{s.name:<16}{state:<10}{s.port:<8}{s.pid:<10}{rack}{s.log}")
    return lines


def _broker(services: list[Service], node_id: int) -> Service:
    for s in services:
        if s.node_id == node_id or (s.node_id is None and s.name == f"kafka-{node_id}"):
            return s
    if not services:
        raise LocalError("kcli local is not running: start the stack first with kcli local start")
    known = ", ".join(str(s.node_id) for s in services if s.node_id is not None)
    raise LocalError(f"--broker {node_id}: kcli local has no broker {node_id} (its brokers: {known})")


def start_broker(node_id: int) -> list[str]:
    """Start broker ``node_id`` of the recorded stack again, with its configuration and data."""
    services = adopt(load_state())
    svc = _broker(services, node_id)
    if svc.alive():
        raise LocalError(f"{svc.name} is already running (pid {svc.pid}, port {svc.port})")
    if port_in_use(svc.port):
        raise LocalError(f"Port {svc.port} of {svc.name} is already in use by another process: stop it first")
    config = svc.config_path()
    if not config.exists():
        raise LocalError(f"{config} is missing: start the whole stack again with kcli local start")
    fresh = launch(svc.name, svc.module, config, svc.port, Path(svc.log), node_id)
    save_state([fresh if s is svc else s for s in services])
    if svc.name.startswith("controller"):
        return [f"Controller {node_id} is [UP] on localhost:{svc.port}"]
    return [f"Kafka broker {node_id} is [UP] on localhost:{svc.port}"]


def stop_broker(node_id: int) -> list[str]:
    """Stop broker ``node_id`` alone; it stays recorded (DOWN) for ``start --broker``."""
    services = adopt(load_state())
    svc = _broker(services, node_id)
    if not svc.alive():
        raise LocalError(f"{svc.name} is not running: kcli local start --broker {node_id} starts it")
    return stop_services([svc])


def restart(node_id: int | None = None) -> list[str]:
    """Stop and start broker ``node_id``, or every recorded service (same configs, ports, data)."""
    if node_id is not None:
        svc = _broker(adopt(load_state()), node_id)
        lines = stop_services([svc]) if svc.alive() else []
        return lines + start_broker(node_id)
    services = adopt(load_state())
    if not services:
        raise LocalError("Nothing to restart: kcli local is not running")
    lines = stop_services(services)
    fresh: list[Service] = []
    try:
        for s in services:
            fresh.append(launch(s.name, s.module, s.config_path(), s.port, Path(s.log), s.node_id))
            save_state(fresh + services[len(fresh) :])
            lines.append(f"{s.name} is [UP] on localhost:{s.port}")
    except LocalError:
        stop_services(fresh)
        save_state([])
        raise
    return lines


def stop() -> list[str]:
    services = load_state()
    if not services:
        raise LocalError("Nothing to stop: kcli local is not running")
    lines = stop_services(services)
    save_state([])
    return lines


def destroy() -> list[str]:
    lines = stop_services(load_state())
    save_state([])
    base = local_dir()
    if base.exists():
        shutil.rmtree(base)
        lines.append(f"Deleted {base}")
    else:
        lines.append(f"Nothing to delete at {base}")
    return lines


def kill_broker(node_id: int) -> list[str]:
    """``kill -9`` broker ``node_id``, as the replication lab does: no clean shutdown, no flush, no
    leadership handed over; the controller notices the lost session and elects new leaders. The
    broker stays recorded (DOWN), so ``kcli local start --broker N`` brings it back."""
    services = adopt(load_state())
    svc = _broker(services, node_id)
    pid = svc.live_pid()
    if pid is None:
        raise LocalError(f"{svc.name} is not running: kcli local start --broker {node_id} starts it")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while is_ours(pid, svc.module) and time.monotonic() < deadline:
        reap(pid)
        time.sleep(0.02)  # polling the process table for the exit
    reap(pid)
    return [
        f"Killed {svc.name} (pid {pid}, port {svc.port}) with SIGKILL; "
        f"kcli local start --broker {node_id} starts it again"
    ]
