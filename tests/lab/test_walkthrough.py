"""Issue 23's "Done when", as the README tells a student to do it, one step per test, on one
``kcli local start --brokers 3 --schema-registry`` stack (private ``KCLI_HOME``, free ports):

1. start a 3-broker lab;
2. produce keyed records and watch them land in partitions (``--explain``, ``kcli log draw``);
3. start two consumers in a group and watch the rebalance and the committed offsets move;
4. kill the leader and watch the election and the ISR (and an acks=all producer blocked, then
   the follower catching up);
5. X-ray an Avro record;
6. run ``kcli lab check`` on the lecture's exercises;
7. snapshot, restore and reset the stack.

The steps share the stack and run in order; each waits for what the student would see, with a
deadline. The module's fixture destroys the stack and checks that nothing it started survives.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kcli.cluster_view.kafka import KafkaSource
from kcli.explain_texts import key_partition
from kcli.tui.app import KcliApp
from kcli.tui.screens.cluster import ClusterScreen
from kcli.tui.screens.dialogs import ConfirmDialog
from kcli.tui.screens.groups import GroupScreen
from kcli.tui.screens.partition import PartitionScreen
from tests.tui.helpers import rows, sync, wait_for

ROOT = Path(__file__).resolve().parents[2]
SIZE = (160, 50)
KEYS = ["alice", "bob", "carol", "dave", "erin"]


@dataclass
class Lab:
    env: dict[str, str]
    bootstrap: str
    ports: list[int]
    registry: str
    home: Path

    def kcli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kcli.cli.main", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )

    def tool(
        self, module: str, *args: str, stdin: str = "", timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", f"kcli.tools.{module}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )

    def spawn(self, module: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", f"kcli.tools.{module}", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def app(self) -> KcliApp:
        from kcli.cluster_view.local_lab import local_registry_url

        url = local_registry_url(self.bootstrap)
        return KcliApp(KafkaSource(self.bootstrap, timeout_s=5.0), refresh_scale=0.5, registry_url=url)


def consecutive_free(count: int) -> int:
    """A port p such that p .. p+count-1 are all free now."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count >= 65535:
            continue
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no run of free ports")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("walkthrough")
    env = dict(os.environ, KCLI_HOME=str(home / "kcli-home"), PYTHONUNBUFFERED="1")
    base = consecutive_free(5)
    ports = [base, base + 1, base + 2]
    registry_port = base + 4
    lab = Lab(
        env, ",".join(f"localhost:{p}" for p in ports), ports, f"http://localhost:{registry_port}", home
    )
    previous = os.environ.get("KCLI_HOME")
    os.environ["KCLI_HOME"] = env["KCLI_HOME"]  # the in-process TUI finds the stack's state there
    try:
        yield lab
    finally:
        state = Path(env["KCLI_HOME"]) / "run" / "local.json"
        pids = []
        if state.exists():
            pids = [s["pid"] for s in json.loads(state.read_text())["services"]]
        lab.kcli("local", "destroy")
        if previous is None:
            os.environ.pop("KCLI_HOME", None)
        else:
            os.environ["KCLI_HOME"] = previous
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"kcli" in cmd:
                    alive.append(pid)
            except (OSError, FileNotFoundError):
                pass
        assert alive == [], f"left running: {alive}"


def test_step1_start_a_three_broker_lab(lab: Lab) -> None:
    started = lab.kcli(
        "local",
        "start",
        "--brokers",
        "3",
        "--port",
        str(lab.ports[0]),
        "--schema-registry",
        "--registry-port",
        lab.registry.rsplit(":", 1)[1],
    )
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"Bootstrap servers: {lab.bootstrap}" in started.stdout
    status = lab.kcli("local", "status").stdout
    for name in ("controller", "kafka-0", "kafka-1", "kafka-2", "schema-registry"):
        assert re.search(rf"^{name}\s+UP", status, re.M), status


@sync
async def test_step1_the_brokers_view_is_a_lab(lab: Lab) -> None:
    app = lab.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen) and app.screen.state is not None)
        await wait_for(
            pilot,
            lambda: (
                [(r[0], r[4], r[7]) for r in rows(pilot, "#brokers")]
                == [(str(b), "up", "kcli local") for b in range(3)]
            ),
            what="three local brokers",
        )
        assert "k kills the selected broker" in str(app.screen.query_one("#lab-status").render())


def test_step2_keyed_records_land_in_partitions(lab: Lab) -> None:
    created = lab.tool(
        "topics",
        "--bootstrap-server",
        lab.bootstrap,
        "--create",
        "--topic",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "3",
        "--explain",
    )
    assert created.returncode == 0 and created.stdout == "Created topic orders.\n", created.stderr
    assert "[explain] --create sent CreateTopics to the controller" in created.stderr
    lines = "".join(f"{k}:{n}\n" for n in range(2) for k in KEYS)
    produced = lab.tool(
        "console_producer",
        "--bootstrap-server",
        lab.bootstrap,
        "--topic",
        "orders",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
        "--explain",
        stdin=lines,
    )
    assert produced.returncode == 0, produced.stderr
    for k in KEYS:
        p = key_partition(k.encode(), 3)
        assert re.search(
            rf"record '{k}':'\d': key '{k}' → murmur2 = -?\d+ → toPositive = \d+ → mod 3 partitions = {p}; "
            rf"written at offset \d of orders-{p}",
            produced.stderr,
        ), produced.stderr
    drawn = lab.kcli("log", "draw", "orders", "--bootstrap-server", lab.bootstrap, "--keys", "--width", "150")
    assert drawn.returncode == 0, drawn.stderr
    for p, block in enumerate(drawn.stdout.split("\n\n")):
        assert block.startswith(f"orders-{p} "), block
        assert {k for k in KEYS if re.search(rf"\b{k}\b", block)} == {
            k for k in KEYS if key_partition(k.encode(), 3) == p
        }
        assert "replicas: b" in block and "LEO" in block


@sync
async def test_step3_two_consumers_rebalance_and_commit(lab: Lab) -> None:
    group = "lab-group"
    args = (
        "--bootstrap-server",
        lab.bootstrap,
        "--topic",
        "orders",
        "--group",
        group,
        "--from-beginning",
        "--consumer-property",
        "auto.commit.interval.ms=500",
        "--explain",
    )
    first = lab.spawn("console_consumer", *args)
    second = None
    app = lab.app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_group(group)
            await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen))
            screen = app.screen
            assert isinstance(screen, GroupScreen)
            await wait_for(
                pilot,
                lambda: screen.detail is not None and len(screen.detail.members) == 1,
                timeout=60,
                what="first member",
            )
            second = lab.spawn("console_consumer", *args)
            await wait_for(
                pilot,
                lambda: (
                    screen.detail is not None
                    and len(screen.detail.members) == 2
                    and any(" joined " in e.text for e in screen.timeline.events)
                    and any(e.text.startswith("moved ") for e in screen.timeline.events)
                ),
                timeout=60,
                what="the second member joins: a rebalance moves partitions to it",
            )
            # the three partitions end up shared by the two members
            await wait_for(
                pilot,
                lambda: (
                    screen.detail is not None
                    and len({o.member_id for o in screen.detail.offsets if o.member_id}) == 2
                ),
                timeout=60,
                what="partitions shared by the two members",
            )
            produced = lab.tool(
                "console_producer",
                "--bootstrap-server",
                lab.bootstrap,
                "--topic",
                "orders",
                stdin="".join(f"more-{i}\n" for i in range(30)),
            )
            assert produced.returncode == 0
            await wait_for(
                pilot,
                lambda: (
                    any(e.kind == "commit" for e in screen.events.events)
                    and screen.detail is not None
                    and screen.detail.lag == 0
                    and sum(o.committed or 0 for o in screen.detail.offsets) == 40
                ),
                timeout=60,
                what="committed offsets moved to the end",
            )
            assert any("committed orders-" in r[1] for r in rows(pilot, "#group-commits"))
    finally:
        for proc in (p for p in (first, second) if p is not None):
            proc.send_signal(signal.SIGTERM)
        outs = [proc.communicate(timeout=30) for proc in (first, second) if proc is not None]
    explained = outs[0][1]
    assert f"[explain] group {group}: FindCoordinator → broker" in explained
    assert "rebalance: giving back" in explained and "rebalance done: assigned" in explained
    assert (
        "starts at the log start offset 0" in explained
        or "starts at the group's committed offset" in explained
    )


@sync
async def test_step4_kill_the_leader_watch_the_election_and_the_isr(lab: Lab) -> None:
    made = lab.tool(
        "topics",
        "--bootstrap-server",
        lab.bootstrap,
        "--create",
        "--topic",
        "my-replicated-topic",
        "--partitions",
        "1",
        "--replication-factor",
        "3",
        "--config",
        "min.insync.replicas=2",
    )
    assert made.returncode == 0, made.stderr
    sent = lab.tool(
        "console_producer",
        "--bootstrap-server",
        lab.bootstrap,
        "--topic",
        "my-replicated-topic",
        "--producer-property",
        "acks=all",
        stdin="one\ntwo\nthree\n",
    )
    assert sent.returncode == 0, sent.stderr
    app = lab.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen) and app.screen.state is not None)
        screen = app.screen
        assert isinstance(screen, ClusterScreen)
        leader = screen.state.partitions[("my-replicated-topic", 0)].leader
        # k on the leader's row, confirmed with y: kill -9, as the replication lab does
        table = screen.query_one("#brokers")
        table.move_cursor(row=screen.broker_ids.index(leader))
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        texts = lambda: screen.events.texts()  # noqa: E731
        await wait_for(pilot, lambda: any(t.startswith(f"broker {leader} down") for t in texts()), timeout=60)
        await wait_for(
            pilot,
            lambda: (
                any(
                    re.fullmatch(rf"election: my-replicated-topic-0 leader {leader} → \d", t) for t in texts()
                )
                and any(t.startswith("ISR shrank: my-replicated-topic-0") for t in texts())
            ),
            timeout=60,
            what="the election and the ISR shrinking",
        )
        # the brokers table comes from its own look at the cluster, one refresh behind the events at most
        await wait_for(
            pilot,
            lambda: "DOWN" in [r[4] for r in rows(pilot, "#brokers")],
            timeout=30,
            what="the broker shown DOWN",
        )
        described = lab.tool(
            "topics", "--bootstrap-server", lab.bootstrap, "--describe", "--topic", "my-replicated-topic"
        )
        assert f"Leader: {leader}\t" not in described.stdout
        # start it again: it catches up and rejoins the ISR
        await pilot.press("s")
        await wait_for(pilot, lambda: any(t.startswith(f"broker {leader} up") for t in texts()), timeout=90)
        await wait_for(
            pilot,
            lambda: any(
                t.startswith(f"broker {leader} caught up on") and "my-replicated-topic-0" in t
                for t in texts()
            ),
            timeout=90,
            what="the follower caught up",
        )
        # the acks=all producer of the lab, blocked while one of its two replicas is down
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: (screen.lab is not None and screen.lab.snapshot().acked > 0) or app.last_action_error,
            timeout=60,
            what="the acks=all producer",
        )
        assert app.last_action_error is None, app.last_action_error
        victim = screen.lab.status.replicas[-1]
        killed = lab.kcli("local", "kill-broker", str(victim))
        assert killed.returncode == 0 and "with SIGKILL" in killed.stdout, killed.stderr
        await wait_for(
            pilot, lambda: any(t.startswith("acks=all producer blocked") for t in texts()), timeout=90
        )
        assert lab.kcli("local", "start", "--broker", str(victim)).returncode == 0
        await wait_for(
            pilot,
            lambda: any(t.startswith("acks=all producer delivering again") for t in texts()),
            timeout=120,
        )
        await pilot.press("a")  # stops it
    check = lab.kcli("lab", "check", "replication", "--bootstrap-server", lab.bootstrap)
    assert check.returncode == 0, check.stdout


@sync
async def test_step5_xray_an_avro_record(lab: Lab) -> None:
    produced = lab.tool(
        "avro_console_producer",
        "--bootstrap-server",
        lab.bootstrap,
        "--topic",
        "customers",
        "--property",
        f"schema.registry.url={lab.registry}",
        "--property",
        f"value.schema.file={ROOT / 'examples/avro/customer.avsc'}",
        stdin=(ROOT / "examples/avro/customers.json").read_text(),
    )
    assert produced.returncode == 0, produced.stderr
    shown = lab.kcli("log", "xray", "customers-0", "0", "--bootstrap-server", lab.bootstrap, "--width", "160")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert re.search(r"magic byte\s+0\s+Confluent wire format", out), out
    assert re.search(r"schema id\s+1\s+the registry's id", out), out
    assert "Avro binary" in out and '"name": "Ann"' in out
    assert "subject customers-value v1, AVRO" in out and '"name": "Customer"' in out
    app = lab.app()
    async with app.run_test(size=SIZE) as pilot:
        app.open_partition_log("customers", 0)
        await wait_for(pilot, lambda: isinstance(app.screen, PartitionScreen) and app.screen.loads > 0)
        screen = app.screen
        assert isinstance(screen, PartitionScreen)
        await pilot.press("home", "x")
        await wait_for(pilot, lambda: "X-ray of customers-0 offset 0" in screen.xray_text, timeout=30)
        assert "schema id" in screen.xray_text and '"name": "Ann"' in screen.xray_text
    check = lab.kcli("lab", "check", "avro", "--bootstrap-server", lab.bootstrap)
    assert check.returncode == 0, check.stdout


def test_step6_lab_check_the_lectures_exercise(lab: Lab) -> None:
    failing = lab.kcli("lab", "check", "json_topic", "--bootstrap-server", lab.bootstrap, "--json")
    assert failing.returncode == 1 and json.loads(failing.stdout)["failed"] == 4
    people = (
        '{"id": 1, "firstname": "James", "lastname": "Bond", "age": 35}\n'
        '{"id": 2, "firstname": "Harry", "lastname": "Potter", "age": 16}\n'
        '{"id": 3, "firstname": "Bobin", "lastname": "Hook", "age": 37}\n'
    )
    assert (
        lab.tool(
            "console_producer", "--broker-list", lab.bootstrap, "--topic", "json_topic", stdin=people
        ).returncode
        == 0
    )
    job = subprocess.run(
        [sys.executable, str(ROOT / "examples/avg_age.py"), "--bootstrap-server", lab.bootstrap],
        capture_output=True,
        text=True,
        env=lab.env,
        timeout=120,
    )
    assert job.returncode == 0, job.stderr
    passing = lab.kcli("lab", "check", "json_topic", "--bootstrap-server", lab.bootstrap)
    assert passing.returncode == 0, passing.stdout
    assert "4 check(s): 4 passed, 0 failed" in passing.stdout


def test_step7_snapshot_restore_reset(lab: Lab) -> None:
    name = f"exercise-{uuid.uuid4().hex[:4]}"
    saved = lab.kcli("local", "snapshot", name)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert f"Saved snapshot {name}" in saved.stdout
    again = lab.kcli("local", "snapshot", name)
    assert again.returncode == 1 and "already exists" in again.stderr
    # a student's mistakes: the exercise's topic deleted, junk in avg_age
    assert (
        lab.tool(
            "topics", "--bootstrap-server", lab.bootstrap, "--delete", "--topic", "json_topic"
        ).returncode
        == 0
    )
    assert (
        lab.tool(
            "console_producer", "--bootstrap-server", lab.bootstrap, "--topic", "avg_age", stdin="oops\n"
        ).returncode
        == 0
    )
    assert lab.kcli("lab", "check", "json_topic", "--bootstrap-server", lab.bootstrap).returncode == 1
    started = time.monotonic()
    restored = lab.kcli("local", "restore", name)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert time.monotonic() - started < 120
    # topics, records, offsets, groups and schemas are back
    assert lab.kcli("lab", "check", "json_topic", "--bootstrap-server", lab.bootstrap).returncode == 0
    assert lab.kcli("lab", "check", "avro", "--bootstrap-server", lab.bootstrap).returncode == 0
    described = lab.tool(
        "consumer_groups", "--bootstrap-server", lab.bootstrap, "--describe", "--group", "lab-group"
    )
    assert re.search(r"lab-group\s+orders\s+\d\s+\d+\s+\d+\s+0", described.stdout), described.stdout
    reset = lab.kcli("local", "reset")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    listed = lab.tool("topics", "--bootstrap-server", lab.bootstrap, "--list", "--exclude-internal")
    assert [t for t in listed.stdout.split() if not t.startswith("_")] == []
    missing = lab.kcli("local", "restore", "no-such")
    assert missing.returncode == 1 and f"(snapshots: {name})" in missing.stderr
