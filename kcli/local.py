"""``kcli local start|status|stop|restart|destroy``: the whole stack in the background with one command.

Like ``confluent local services start``: a single-node KRaft broker (and optionally the schema
registry) with data and logs under ``$KCLI_HOME/local``; ``--brokers N`` starts a KRaft cluster
instead, one controller node and N broker nodes on consecutive ports, replicating by default. What runs is recorded in
``$KCLI_HOME/run/local.json`` (service -> pid, port, config, log), so ``status``/``stop`` need no
guessing and a pid file left behind by a crash is recognised as stale rather than trusted.

``start|stop|restart --broker N`` acts on broker N alone (its ``node.id``), for the replication lab
(``--controllers 3`` lays out a Raft quorum of controllers 100, 101, 102, and ``--broker 101``
stops or starts one of them - kill the active controller and watch another take over):
``kill -9`` the leader, watch the ISR shrink, then ``kcli local start --broker 2`` brings it back
with the same configuration and data. Status stays true to the processes: a broker restarted by
hand (``kafka-server-start $KCLI_HOME/local/etc/server-2.properties``) is found through the pid
file every broker writes for its port, shown UP with its new pid, and stopped by ``kcli local
stop`` like the others, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from kcli import local_racks
from kcli.paths import kcli_home, pid_alive, process_cmdline, run_dir

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class LocalError(Exception):
    """A one-line reason why a ``kcli local`` command cannot go on (exit status 1)."""


#: What a kcli service's command line holds, however it was started (``python -m``, a console
#: script, a ``$CONFLUENT_HOME/bin`` script): a reused pid of another program holds none of these.
_MARKERS = {
    "kcli.server.start": ("kcli.server", "kafka-server-start"),
    "kcli.schema_registry.start": ("kcli.schema_registry", "schema-registry-start"),
}


@dataclass
class Service:
    name: str
    module: str
    pid: int
    port: int
    log: str
    #: The properties file it runs with (older state files lack it: see :meth:`config_path`).
    config: str = ""
    #: The broker's node.id (None for the controller node and the schema registry).
    node_id: int | None = None

    def alive(self) -> bool:
        """Running, and really ours (a reused pid of another program is not)."""
        return _is_ours(self.pid, self.module)

    def live_pid(self) -> int | None:
        """The pid serving this service now: the recorded one, or the one in the pid file the broker
        writes for its port when it was started again by hand."""
        if self.alive():
            return self.pid
        if self.module != "kcli.server.start":
            return None
        try:
            pid = int((run_dir() / f"kafka-server-{self.port}.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_ours(pid, self.module) else None

    def config_path(self) -> Path:
        if self.config:
            return Path(self.config)
        etc = local_dir() / "etc"
        if self.name == "kafka":
            return etc / "server.properties"
        if self.name == "schema-registry":
            return etc / "schema-registry.properties"
        if self.name == "controller":
            return etc / "controller.properties"
        return etc / f"server-{self.name.removeprefix('kafka-')}.properties"


def _is_ours(pid: int, module: str) -> bool:
    if not pid_alive(pid):
        return False
    cmdline = process_cmdline(pid).replace("-", "_")
    return any(m.replace("-", "_") in cmdline for m in _MARKERS.get(module, (module,)))


def local_dir() -> Path:
    return kcli_home() / "local"


def state_file() -> Path:
    return run_dir() / "local.json"


def load_state() -> list[Service]:
    try:
        data = json.loads(state_file().read_text())
        return [Service(**item) for item in data["services"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def save_state(services: list[Service]) -> None:
    path = state_file()
    if not services:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"services": [asdict(s) for s in services]}, indent=2))
    os.replace(tmp, path)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``port`` (or it cannot be bound)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def wait_for_port(proc: subprocess.Popen[bytes], port: int, timeout_s: float) -> bool:
    """Wait until ``port`` accepts connections; False if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)  # polling an observable state (the port), not synchronising by sleep
    return False


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


def _launch(
    name: str,
    module: str,
    config: Path,
    port: int,
    log: Path,
    node_id: int | None = None,
    env: dict[str, str] | None = None,
) -> Service:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})),
        )
    if not wait_for_port(proc, port, START_TIMEOUT_S):
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT_S)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-1:]
        raise LocalError(
            f"{name} did not start on port {port}" + (f": {tail[0]}" if tail else "") + f" (log: {log})"
        )
    return Service(name, module, proc.pid, port, str(log), str(config), node_id)


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
    ``racks``: ``--racks a,b,c``, the brokers' racks round robin (:mod:`kcli.local_racks`)."""
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
            if secure:  # the SASL_SSL lab: certificates, users, ACLs (kcli/local_secure.py)
                from kcli import local_secure

                secure_dir = local_secure.prepare(base, [base / "data" / "kafka"])
                text = local_secure.secure_broker_properties(text, secure_dir, port)
            server_props.write_text(text)
            messages.append("Starting Kafka (KRaft mode, 1 broker)")
            started.append(
                _launch("kafka", "kcli.server.start", server_props, port, logs / "server.log", node_id=1)
            )
            save_state(started)
            messages.append(f"Kafka is [UP] on localhost:{port}")
        else:
            if secure:  # the controller keeps the SCRAM users: seed them in its data directory
                from kcli import local_secure

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
                from kcli import local_secure

                sr_text, sr_env = local_secure.registry_settings(secure_dir, registry_port, bootstrap)
            sr_props.write_text(sr_text)
            messages.append("Starting Schema Registry")
            started.append(
                _launch(
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
        _stop_services(started)
        save_state([])
        raise
    messages.append(f"Bootstrap servers: {bootstrap}")
    if secure_dir is not None:
        from kcli import local_secure

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
            _launch(name, "kcli.server.start", props, cport, logs / log_name, node if quorum else None)
        )
        save_state(started)
        messages.append(f"Controller {node if quorum else ''}".rstrip() + f" is [UP] on localhost:{cport}")
    for node_id, broker_port in enumerate(broker_ports):
        props = config_dir / f"server-{node_id}.properties"
        data = base / "data" / f"kafka-{node_id}"
        text = cluster_properties(node_id, "broker", broker_port, controller_port, data, brokers, ports)
        text = local_racks.with_rack(text, racks, node_id)
        if secure_dir is not None:
            from kcli import local_secure

            text = local_secure.secure_broker_properties(text, secure_dir, broker_port)
        props.write_text(text)
        log = logs / f"server-{node_id}.log"
        started.append(_launch(f"kafka-{node_id}", "kcli.server.start", props, broker_port, log, node_id))
        save_state(started)
        messages.append(f"Kafka broker {node_id} is [UP] on localhost:{broker_port}")


def status() -> list[str]:
    services = _adopt(load_state())
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


def _adopt(services: list[Service], save: bool = True) -> list[Service]:
    """Record the pid of a service started again by hand (found by its port's pid file)."""
    changed = False
    for s in services:
        pid = s.live_pid()
        if pid is not None and pid != s.pid:
            s.pid = pid
            changed = True
    if changed and save:
        save_state(services)
    return services


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
    services = _adopt(load_state())
    svc = _broker(services, node_id)
    if svc.alive():
        raise LocalError(f"{svc.name} is already running (pid {svc.pid}, port {svc.port})")
    if port_in_use(svc.port):
        raise LocalError(f"Port {svc.port} of {svc.name} is already in use by another process: stop it first")
    config = svc.config_path()
    if not config.exists():
        raise LocalError(f"{config} is missing: start the whole stack again with kcli local start")
    fresh = _launch(svc.name, svc.module, config, svc.port, Path(svc.log), node_id)
    save_state([fresh if s is svc else s for s in services])
    if svc.name.startswith("controller"):
        return [f"Controller {node_id} is [UP] on localhost:{svc.port}"]
    return [f"Kafka broker {node_id} is [UP] on localhost:{svc.port}"]


def stop_broker(node_id: int) -> list[str]:
    """Stop broker ``node_id`` alone; it stays recorded (DOWN) for ``start --broker``."""
    services = _adopt(load_state())
    svc = _broker(services, node_id)
    if not svc.alive():
        raise LocalError(f"{svc.name} is not running: kcli local start --broker {node_id} starts it")
    return _stop_services([svc])


def restart(node_id: int | None = None) -> list[str]:
    """Stop and start broker ``node_id``, or every recorded service (same configs, ports, data)."""
    if node_id is not None:
        svc = _broker(_adopt(load_state()), node_id)
        lines = _stop_services([svc]) if svc.alive() else []
        return lines + start_broker(node_id)
    services = _adopt(load_state())
    if not services:
        raise LocalError("Nothing to restart: kcli local is not running")
    lines = _stop_services(services)
    fresh: list[Service] = []
    try:
        for s in services:
            fresh.append(_launch(s.name, s.module, s.config_path(), s.port, Path(s.log), s.node_id))
            save_state(fresh + services[len(fresh) :])
            lines.append(f"{s.name} is [UP] on localhost:{s.port}")
    except LocalError:
        _stop_services(fresh)
        save_state([])
        raise
    return lines


def _stop_services(services: list[Service]) -> list[str]:
    """SIGTERM in reverse start order, wait for each to exit (SIGKILL after STOP_TIMEOUT_S)."""
    lines = []
    for s in reversed(_adopt(services, save=False)):
        if not s.alive():
            lines.append(f"{s.name} was not running (stale pid {s.pid})")
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(s.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while s.alive() and time.monotonic() < deadline:
            _reap(s.pid)
            time.sleep(0.05)  # polling the process table for the exit
        if s.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(s.pid, signal.SIGKILL)
            lines.append(f"{s.name} did not stop within {STOP_TIMEOUT_S:.0f}s and was killed")
        else:
            lines.append(f"{s.name} is [DOWN]")
        _reap(s.pid)
    return lines


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie (alive to kill -0)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop() -> list[str]:
    services = load_state()
    if not services:
        raise LocalError("Nothing to stop: kcli local is not running")
    lines = _stop_services(services)
    save_state([])
    return lines


def destroy() -> list[str]:
    lines = _stop_services(load_state())
    save_state([])
    base = local_dir()
    if base.exists():
        shutil.rmtree(base)
        lines.append(f"Deleted {base}")
    else:
        lines.append(f"Nothing to delete at {base}")
    return lines


# -- the failure lab and exercise states: kill-broker, snapshot, restore, reset ------------------


def kill_broker(node_id: int) -> list[str]:
    """``kill -9`` broker ``node_id``, as the replication lab does: no clean shutdown, no flush, no
    leadership handed over; the controller notices the lost session and elects new leaders. The
    broker stays recorded (DOWN), so ``kcli local start --broker N`` brings it back."""
    services = _adopt(load_state())
    svc = _broker(services, node_id)
    pid = svc.live_pid()
    if pid is None:
        raise LocalError(f"{svc.name} is not running: kcli local start --broker {node_id} starts it")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _is_ours(pid, svc.module) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.02)  # polling the process table for the exit
    _reap(pid)
    return [
        f"Killed {svc.name} (pid {pid}, port {svc.port}) with SIGKILL; "
        f"kcli local start --broker {node_id} starts it again"
    ]


SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def snapshots_dir() -> Path:
    return kcli_home() / "snapshots"


def _snapshot_path(name: str) -> Path:
    if not SNAPSHOT_NAME.fullmatch(name):
        raise LocalError(
            f"'{name}' is not a snapshot name: use letters, digits, '.', '_' and '-' (at most 64)"
        )
    return snapshots_dir() / name


def _port_of(config: Path, scheme: str) -> int | None:
    """The port of the first ``scheme://`` listener in a properties file kcli local wrote."""
    try:
        text = config.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("listeners="):
            match = re.search(re.escape(scheme) + r"://[^:,]*:(\d+)", line)
            if match:
                return int(match.group(1))
    return None


def _topology() -> list[Service]:
    """The services of the local stack: as recorded, else from the configs ``kcli local start``
    wrote (``kcli local stop`` forgets the pids, not the stack's shape)."""
    services = load_state()
    if services:
        return services
    etc, logs = local_dir() / "etc", local_dir() / "logs"
    found: list[Service] = []
    single = etc / "server.properties"
    if single.exists():
        port = _port_of(single, "PLAINTEXT")
        if port is not None:
            found.append(
                Service("kafka", "kcli.server.start", 0, port, str(logs / "server.log"), str(single), 1)
            )
    else:
        controller = etc / "controller.properties"
        port = _port_of(controller, "CONTROLLER")
        if port is not None:
            found.append(
                Service(
                    "controller", "kcli.server.start", 0, port, str(logs / "controller.log"), str(controller)
                )
            )
        brokers = sorted(
            (int(p.stem.removeprefix("server-")), p)
            for p in etc.glob("server-*.properties")
            if p.stem.removeprefix("server-").isdigit()
        )
        for node_id, props in brokers:
            port = _port_of(props, "PLAINTEXT")
            if port is not None:
                log = str(logs / f"server-{node_id}.log")
                found.append(
                    Service(f"kafka-{node_id}", "kcli.server.start", 0, port, log, str(props), node_id)
                )
    registry = etc / "schema-registry.properties"
    port = _port_of(registry, "http")
    if found and port is not None:
        log = str(logs / "schema-registry.log")
        found.append(Service("schema-registry", "kcli.schema_registry.start", 0, port, log, str(registry)))
    return found


def _stop_running() -> list[str]:
    running = [s for s in _adopt(load_state()) if s.live_pid() is not None]
    return _stop_services(running) if running else []


def _launch_all(services: list[Service]) -> list[str]:
    lines: list[str] = []
    fresh: list[Service] = []
    try:
        for s in services:
            fresh.append(_launch(s.name, s.module, s.config_path(), s.port, Path(s.log), s.node_id))
            save_state(fresh)
            lines.append(f"{s.name} is [UP] on localhost:{s.port}")
    except LocalError:
        _stop_services(fresh)
        save_state([])
        raise
    return lines


def snapshot(name: str) -> list[str]:
    """Save the whole local stack - topics, records, committed offsets, groups, schemas (all in the
    brokers' and controller's log dirs) - under ``$KCLI_HOME/snapshots/NAME``.

    The services are stopped for the copy (a clean shutdown flushes every log and writes its
    checkpoints, so the copy is consistent) and started again as they were.
    """
    target = _snapshot_path(name)
    if target.exists():
        raise LocalError(f"Snapshot {name} already exists ({target}): choose another name or delete it")
    data = local_dir() / "data"
    services = _topology()
    if not services or not data.exists():
        raise LocalError("Nothing to snapshot: start the stack first with kcli local start")
    was_running = any(s.live_pid() is not None for s in load_state())
    started = time.monotonic()
    lines = _stop_running()
    tmp = target.with_name(f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(data, tmp / "data", symlinks=True)
        shutil.copytree(local_dir() / "etc", tmp / "etc", symlinks=True)
        (tmp / "services.json").write_text(
            json.dumps({"services": [asdict(replace(s, pid=0)) for s in services]}, indent=2)
        )
        tmp.rename(target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LocalError(f"Cannot write snapshot {name} to {target}: {exc.strerror or exc}") from None
    finally:
        if was_running:
            lines += _launch_all(services)
    size = sum(f.stat().st_size for f in (target / "data").rglob("*") if f.is_file())
    lines.append(
        f"Saved snapshot {name} ({size / 1024:,.0f} KiB) in {time.monotonic() - started:.1f} s: "
        f"kcli local restore {name} returns to it"
    )
    return lines


def restore(name: str) -> list[str]:
    """Return the local stack to snapshot ``name``: stop it, put the snapshot's data and configs
    in place, start the snapshot's services on their ports."""
    source = _snapshot_path(name)
    if not (source / "services.json").exists():
        known = sorted(p.name for p in snapshots_dir().glob("*") if (p / "services.json").exists())
        hint = f" (snapshots: {', '.join(known)})" if known else " (there are none: kcli local snapshot NAME)"
        raise LocalError(f"No snapshot named {name}{hint}")
    try:
        services = [Service(**s) for s in json.loads((source / "services.json").read_text())["services"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalError(f"Snapshot {name} is damaged ({source / 'services.json'}: {exc})") from None
    started = time.monotonic()
    lines = _stop_running()
    save_state([])
    base = local_dir()
    for part in ("data", "etc"):
        shutil.rmtree(base / part, ignore_errors=True)
        shutil.copytree(source / part, base / part, symlinks=True)
    lines += _launch_all(services)
    lines.append(f"Restored snapshot {name} in {time.monotonic() - started:.1f} s")
    return lines


def reset() -> list[str]:
    """An empty stack of the same shape: every topic, record, offset, group and schema deleted,
    the same services started again on the same ports (a new cluster id)."""
    services = _topology()
    if not services:
        raise LocalError("Nothing to reset: start the stack first with kcli local start")
    started = time.monotonic()
    lines = _stop_running()
    save_state([])
    shutil.rmtree(local_dir() / "data", ignore_errors=True)
    lines += _launch_all(services)
    lines.append(f"Reset the local stack to empty in {time.monotonic() - started:.1f} s")
    return lines
