"""``kcli local start/status/stop/destroy``: the stack in the background, and its error messages.

Every test runs in its own ``KCLI_HOME``; the fixture destroys whatever a test started and checks
that no recorded process and no pid file survives.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import free_port, live_pid_files, wait_until


def kcli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def pair_port() -> int:
    """A free port whose successor (the controller's) is free too."""
    while True:
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
        return port


def recorded_pids(env: dict[str, str]) -> list[int]:
    path = Path(env["KCLI_HOME"]) / "run" / "local.json"
    if not path.exists():
        return []
    return [s["pid"] for s in json.loads(path.read_text())["services"]]


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}/cmdline").exists() and b"kcli" in Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.fixture
def local(env: dict[str, str]) -> Iterator[dict[str, str]]:
    seen: list[int] = []
    yield env
    seen += recorded_pids(env)
    kcli(env, "local", "destroy")
    assert [pid for pid in seen if running(pid)] == []
    assert live_pid_files(Path(env["KCLI_HOME"])) == []


def test_start_status_stop(local: dict[str, str]) -> None:
    port = pair_port()
    started = kcli(local, "local", "start", "--port", str(port))
    assert started.returncode == 0, started.stderr
    home = Path(local["KCLI_HOME"])
    assert f"Bootstrap servers: localhost:{port}" in started.stdout
    assert f"Logs: {home / 'local' / 'logs'}" in started.stdout
    assert (home / "local" / "data" / "kafka" / "meta.properties").exists()
    [pid] = recorded_pids(local)

    status = kcli(local, "local", "status")
    assert status.returncode == 0
    row = status.stdout.splitlines()[1].split()
    assert row[:4] == ["kafka", "UP", str(port), str(pid)]

    topics = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.tools.topics",
            "--create",
            "--topic",
            "t1",
            "--bootstrap-server",
            f"localhost:{port}",
        ],
        capture_output=True,
        text=True,
        env=local,
    )
    assert topics.stdout.strip() == "Created topic t1."

    again = kcli(local, "local", "start", "--port", str(port))
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"kcli local is already running: kafka (pid {pid}, port {port}); "
        "see kcli local status, or kcli local stop"
    )

    stopped = kcli(local, "local", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "kafka is [DOWN]"
    assert not running(pid)
    assert (
        kcli(local, "local", "status").stdout.strip() == "Nothing runs: start the stack with kcli local start"
    )

    twice = kcli(local, "local", "stop")
    assert (twice.returncode, twice.stderr.strip()) == (1, "Nothing to stop: kcli local is not running")

    # Data survives stop/start; destroy deletes it.
    restarted = kcli(local, "local", "start", "--port", str(port))
    assert restarted.returncode == 0, restarted.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "kcli.tools.topics", "--list", "--bootstrap-server", f"localhost:{port}"],
        capture_output=True,
        text=True,
        env=local,
    )
    assert "t1" in listed.stdout.splitlines()
    destroyed = kcli(local, "local", "destroy")
    assert destroyed.returncode == 0
    assert f"Deleted {home / 'local'}" in destroyed.stdout
    assert not (home / "local").exists()


def test_port_already_taken(local: dict[str, str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = kcli(local, "local", "start", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Port {port} is already in use by another process: stop it, or choose "
        "another port with kcli local start --port N"
    )
    assert recorded_pids(local) == []


def test_stale_pid_file(local: dict[str, str]) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    run = Path(local["KCLI_HOME"]) / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "local.json").write_text(
        json.dumps(
            {
                "services": [
                    {"name": "kafka", "module": "kcli.server.start", "pid": dead_pid, "port": 1, "log": "x"}
                ]
            }
        )
    )
    status = kcli(local, "local", "status")
    assert "DOWN" in status.stdout.splitlines()[1]
    port = pair_port()
    started = kcli(local, "local", "start", "--port", str(port))
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0] == (
        f"Removed a stale pid file ({run / 'local.json'}): kafka pid {dead_pid} no longer running"
    )
    assert kcli(local, "local", "stop").returncode == 0


def consecutive_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports."""
    while True:
        first = free_port()
        sockets = []
        try:
            for p in range(first, first + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("0.0.0.0", p))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()


def test_three_brokers(local: dict[str, str]) -> None:
    port = consecutive_ports(4)
    started = kcli(local, "local", "start", "--brokers", "3", "--port", str(port))
    assert started.returncode == 0, started.stderr
    assert f"Bootstrap servers: localhost:{port},localhost:{port + 1},localhost:{port + 2}" in started.stdout
    status = kcli(local, "local", "status").stdout.splitlines()[1:]
    assert [line.split()[:3] for line in status] == [
        ["controller", "UP", str(port + 3)],
        ["kafka-0", "UP", str(port)],
        ["kafka-1", "UP", str(port + 1)],
        ["kafka-2", "UP", str(port + 2)],
    ]
    bootstrap = f"localhost:{port + 1}"
    created = subprocess.run(
        [sys.executable, "-m", "kcli.tools.topics", "--create", "--topic", "r", "--bootstrap-server", bootstrap],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    described = subprocess.run(
        [sys.executable, "-m", "kcli.tools.topics", "--describe", "--topic", "r", "--bootstrap-server", bootstrap],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "ReplicationFactor: 3" in described.stdout, described.stdout
    stopped = kcli(local, "local", "stop")
    assert stopped.returncode == 0
    assert stopped.stdout.splitlines() == [
        "kafka-2 is [DOWN]",
        "kafka-1 is [DOWN]",
        "kafka-0 is [DOWN]",
        "controller is [DOWN]",
    ]
    assert recorded_pids(local) == []


def services(env: dict[str, str]) -> dict[str, int]:
    path = Path(env["KCLI_HOME"]) / "run" / "local.json"
    return {s["name"]: s["pid"] for s in json.loads(path.read_text())["services"]}


def states(env: dict[str, str]) -> list[list[str]]:
    return [line.split()[:2] for line in kcli(env, "local", "status").stdout.splitlines()[1:]]


def test_a_killed_broker_of_the_local_cluster(local: dict[str, str]) -> None:
    """Two brokers, each with its own log dir; one killed: status shows it DOWN and kafka-topics
    reports its partitions under-replicated; ``start --broker 1`` brings it back with its data,
    ``stop|restart --broker N`` act on one broker, a broker started again by hand is shown UP and
    stopped with the rest: no process is left behind."""
    port = consecutive_ports(3)
    started = kcli(local, "local", "start", "--brokers", "2", "--port", str(port))
    assert started.returncode == 0, started.stderr
    home = Path(local["KCLI_HOME"])
    data = home / "local" / "data"
    props = home / "local" / "etc" / "server-1.properties"
    assert "default.replication.factor=2" in props.read_text().splitlines()
    assert f"log.dirs={data / 'kafka-1'}" in props.read_text().splitlines()
    bootstrap = f"localhost:{port}"
    topics = [sys.executable, "-m", "kcli.tools.topics", "--bootstrap-server", bootstrap]
    created = subprocess.run(
        [*topics, "--create", "--topic", "r"], capture_output=True, text=True, timeout=60
    )
    assert created.returncode == 0, created.stderr
    assert wait_until(lambda: (data / "kafka-0" / "r-0").is_dir() and (data / "kafka-1" / "r-0").is_dir(), 30)
    pid = services(local)
    os.kill(pid["kafka-1"], 9)
    assert states(local) == [["controller", "UP"], ["kafka-0", "UP"], ["kafka-1", "DOWN"]]

    def under_replicated() -> bool:
        described = subprocess.run(
            [*topics, "--describe", "--under-replicated-partitions"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return "\tTopic: r\tPartition: 0\tLeader: 0\tReplicas: " in described.stdout

    assert wait_until(under_replicated, 30)

    # the replication lab: bring the killed broker back, alone
    again = kcli(local, "local", "start", "--broker", "1")
    assert (again.returncode, again.stdout.strip()) == (0, f"Kafka broker 1 is [UP] on localhost:{port + 1}")
    assert states(local) == [["controller", "UP"], ["kafka-0", "UP"], ["kafka-1", "UP"]]
    assert services(local)["kafka-1"] != pid["kafka-1"]
    assert wait_until(lambda: not under_replicated(), 60)
    twice = kcli(local, "local", "start", "--broker", "1")
    assert twice.returncode == 1
    assert twice.stderr.startswith("kafka-1 is already running (pid ")

    # stop one broker; start it by hand as a student would: status follows the process
    one = kcli(local, "local", "stop", "--broker", "1")
    assert (one.returncode, one.stdout.strip()) == (0, "kafka-1 is [DOWN]")
    assert states(local)[2] == ["kafka-1", "DOWN"]
    by_hand = subprocess.run(
        [sys.executable, "-m", "kcli.server.start", "-daemon", str(props)], env=local, timeout=60
    )
    assert by_hand.returncode == 0
    assert wait_until(lambda: states(local)[2] == ["kafka-1", "UP"], 60)
    hand_pid = services(local)["kafka-1"]

    restarted = kcli(local, "local", "restart", "--broker", "0")
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.splitlines() == [
        "kafka-0 is [DOWN]",
        f"Kafka broker 0 is [UP] on localhost:{port}",
    ]
    assert services(local)["kafka-0"] != pid["kafka-0"]
    unknown = kcli(local, "local", "stop", "--broker", "7")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "--broker 7: kcli local has no broker 7 (its brokers: 0, 1)",
    )

    stopped = kcli(local, "local", "stop")
    assert stopped.returncode == 0
    assert stopped.stdout.splitlines() == ["kafka-1 is [DOWN]", "kafka-0 is [DOWN]", "controller is [DOWN]"]
    assert not running(hand_pid)
    assert recorded_pids(local) == []


def test_zero_brokers_is_refused(local: dict[str, str]) -> None:
    result = kcli(local, "local", "start", "--brokers", "0")
    assert result.returncode == 1
    assert "the number of brokers must be at least 1" in result.stderr
    assert recorded_pids(local) == []


def test_with_schema_registry(local: dict[str, str]) -> None:
    port, registry_port = pair_port(), free_port()
    started = kcli(
        local,
        "local",
        "start",
        "--port",
        str(port),
        "--schema-registry",
        "--registry-port",
        str(registry_port),
    )
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"Schema Registry is [UP] on http://localhost:{registry_port}" in started.stdout
    import urllib.request

    with urllib.request.urlopen(f"http://localhost:{registry_port}/subjects", timeout=10) as response:
        assert json.loads(response.read()) == []
    status = kcli(local, "local", "status").stdout
    assert "schema-registry " in status and str(registry_port) in status
    stopped = kcli(local, "local", "stop")
    assert stopped.stdout.splitlines() == ["schema-registry is [DOWN]", "kafka is [DOWN]"]


def test_a_controller_quorum(local: dict[str, str]) -> None:
    """--controllers 3: a Raft quorum of controllers 100-102; stopping the active one elects
    another, topics can still be created, and --broker 10x starts it again."""
    port = consecutive_ports(5)
    started = kcli(local, "local", "start", "--brokers", "2", "--controllers", "3", "--port", str(port))
    assert started.returncode == 0, started.stderr
    assert [line.split()[:3] for line in kcli(local, "local", "status").stdout.splitlines()[1:]] == [
        ["controller-100", "UP", str(port + 2)],
        ["controller-101", "UP", str(port + 3)],
        ["controller-102", "UP", str(port + 4)],
        ["kafka-0", "UP", str(port)],
        ["kafka-1", "UP", str(port + 1)],
    ]
    bootstrap = f"localhost:{port}"

    def leader() -> int | None:
        out = subprocess.run(
            [sys.executable, "-m", "kcli.tools.metadata_quorum", "--bootstrap-server", bootstrap, "describe", "--status"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        found = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("LeaderId:")]
        return int(found[0]) if found else None

    assert wait_until(lambda: leader() is not None, 30)
    active = leader()
    stopped = kcli(local, "local", "stop", "--broker", str(active))
    assert stopped.stdout.splitlines() == [f"controller-{active} is [DOWN]"], stopped.stderr
    assert wait_until(lambda: leader() not in (None, active), 30)
    created = subprocess.run(
        [sys.executable, "-m", "kcli.tools.topics", "--create", "--topic", "q", "--bootstrap-server", bootstrap],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    again = kcli(local, "local", "start", "--broker", str(active))
    assert again.stdout.splitlines() == [
        f"Controller {active} is [UP] on localhost:{port + 2 + active - 100}"
    ]
    assert kcli(local, "local", "stop").returncode == 0


def test_racks_lay_out_a_follower_fetching_lab(local: dict[str, str]) -> None:
    """``--racks a,b,c``: broker.rack round robin and the rack-aware replica selector, shown by
    status and told by Metadata; a consumer with client.rack of a follower's rack is served by
    that follower (librdkafka's own statistics say which broker it fetches from)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from tests.server.cluster.test_follower_fetching import RackConsumer

    refused = kcli(local, "local", "start", "--brokers", "2", "--racks", "a,,b")
    assert (refused.returncode, refused.stderr.strip().count("\n")) == (1, 0), refused.stderr
    assert "--racks a,,b: an empty rack name" in refused.stderr
    too_many = kcli(local, "local", "start", "--brokers", "2", "--racks", "a,b,c")
    assert too_many.returncode == 1 and "3 racks for 2 brokers" in too_many.stderr, too_many.stderr

    port = consecutive_ports(4)
    started = kcli(local, "local", "start", "--brokers", "3", "--port", str(port), "--racks", "a,b,c")
    assert started.returncode == 0, started.stderr
    status = kcli(local, "local", "status").stdout.splitlines()
    assert status[0].split() == ["SERVICE", "STATE", "PORT", "PID", "RACK", "LOG"]
    assert [(line.split()[0], line.split()[4]) for line in status[1:]] == [
        ("controller", "-"), ("kafka-0", "a"), ("kafka-1", "b"), ("kafka-2", "c"),
    ]  # fmt: skip
    bootstrap = f"localhost:{port}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    assert {n.id: n.rack for n in admin.describe_cluster().result(30).nodes} == {0: "a", 1: "b", 2: "c"}
    admin.create_topics([NewTopic("lab", 1)])["lab"].result(30)  # replication 3 by default
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    values = [f"r{i}" for i in range(50)]
    for value in values:
        producer.produce("lab", value.encode())
    assert producer.flush(60) == 0
    partition = admin.list_topics("lab", timeout=10).topics["lab"].partitions[0]
    follower = next(r for r in partition.replicas if r != partition.leader)
    assert wait_until(
        lambda: follower in admin.list_topics("lab", timeout=10).topics["lab"].partitions[0].isrs, 30
    )
    consumer = RackConsumer(bootstrap, "lab", "abc"[follower])
    try:
        assert consumer.read(len(values)) == values
        assert consumer.wait_served_by(follower)
    finally:
        consumer.close()
