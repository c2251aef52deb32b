"""How responsive the teaching views stay on a big cluster: 1,000 topics and a partition of a
million records, and (``--screenshots DIR``) the SVGs of issue 23's views for the README.

Figures (printed, never asserted): one broker holding 1,000 one-partition topics and a topic
``big`` whose partition 0 holds ``--records`` (default 1,000,000) records, then, headless
(``App.run_test``, 150x45):

* the partition view's first paint of ``big-0`` (the newest window drawn with its markers);
* a page back (``pgup``), a jump to the log start (``home``) and back to the end: key press to
  the window read and drawn again;
* the bytes each window read (the view Fetches the window only, never the partition);
* ``kcli log draw big-0`` as a student runs it, process start included.

With ``--screenshots DIR``: a 3-broker ``kcli local`` stack with the schema registry in a
temporary ``KCLI_HOME`` is set up as the README's walk-through leaves it (keyed orders, a group of
two consumers, a broker killed and started again, Avro customers), and the views are saved as
``tui-partition-log.svg``, ``tui-xray.svg``, ``tui-failure-lab.svg``, ``tui-explain.svg``,
``tui-group-timeline.svg`` and ``tui-topic-trends.svg``.

    python benchmarks/log_view.py [--records 1000000] [--topics 1000] [--screenshots docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from kcli.cluster_view.kafka import KafkaSource  # noqa: E402
from kcli.tui.app import KcliApp  # noqa: E402
from kcli.tui.screens.partition import PartitionScreen  # noqa: E402
from tests.broker_process import BrokerProcess  # noqa: E402

SIZE = (150, 45)


def fill(bootstrap: str, topics: int, records: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"t-{i:04d}" for i in range(topics)]
    for start in range(0, topics, 50):
        batch = [NewTopic(n, 1, 1) for n in names[start : start + 50]]
        for fut in admin.create_topics(batch, operation_timeout=60, request_timeout=60).values():
            fut.result(120)
    admin.create_topics([NewTopic("big", 1, 1)])["big"].result(60)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 256 * 1024})
    for i in range(records):
        while True:
            try:
                p.produce("big", key=b"k%d" % (i % 100), value=b"record %08d" % i)
                break
            except BufferError:
                p.poll(0.05)
    p.flush(120)


async def measure(bootstrap: str) -> dict[str, float]:
    app = KcliApp(KafkaSource(bootstrap), live_refresh=False)
    out: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        started = time.perf_counter()
        app.open_partition_log("big", 0)
        while not (isinstance(app.screen, PartitionScreen) and app.screen.loads > 0):
            await pilot.pause(0.005)
        out["first paint of big-0 (ms)"] = (time.perf_counter() - started) * 1000
        screen = app.screen
        assert isinstance(screen, PartitionScreen)
        out["records in big-0 (high watermark)"] = float(
            screen.plog.high_watermark or 0 if screen.plog else 0
        )
        out["bytes read for the window"] = float(screen.plog.fetched_bytes if screen.plog else 0)
        for key, name in (("home", "jump to the log start"), ("end", "back to the end")):
            loads = screen.loads
            started = time.perf_counter()
            await pilot.press(key)
            while screen.loads == loads or screen.loading:
                await pilot.pause(0.005)
            out[f"{name} (ms)"] = (time.perf_counter() - started) * 1000
            out[f"bytes read after {key}"] = float(screen.plog.fetched_bytes if screen.plog else 0)

        def shown() -> bool:
            log = screen.plog
            return log is not None and screen.cursor is not None and log.first <= screen.cursor < log.stop

        started = time.perf_counter()
        for _ in range(20):  # twenty pages back, each drawn before the next key
            await pilot.press("pageup")
            while screen.loading or not shown():
                await pilot.pause(0.005)
        out["20 pages back, per page (ms)"] = (time.perf_counter() - started) * 1000 / 20
    return out


def draw_cli(bootstrap: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.cli.main",
            "log",
            "draw",
            "big-0",
            "--bootstrap-server",
            bootstrap,
            "--width",
            "150",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return (time.perf_counter() - started) * 1000


# -- screenshots of the walk-through ------------------------------------------------------------


def consecutive_free(count: int) -> int:
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count < 65535 and all(_free(p) for p in range(base, base + count)):
            return base
    raise RuntimeError("no run of free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


async def settle(pilot, screen_type, what=lambda s: True, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        screen = pilot.app.screen
        if isinstance(screen, screen_type) and getattr(screen, "loads", 1) > 0 and what(screen):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {screen_type.__name__}")
        await pilot.pause(0.1)
    await pilot.pause(0.3)


async def shots(env: dict[str, str], bootstrap: str, registry: str, out: Path) -> None:
    from kcli.tui.screens.cluster import ClusterScreen
    from kcli.tui.screens.groups import GroupScreen
    from kcli.tui.screens.topic import TopicScreen

    def tool(module: str, *args: str, stdin: str = "") -> None:
        subprocess.run(
            [sys.executable, "-m", f"kcli.tools.{module}", *args],
            input=stdin,
            text=True,
            capture_output=True,
            env=env,
            timeout=120,
            check=True,
        )

    def kcli(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "kcli.cli.main", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=True,
        )

    tool(
        "topics",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "3",
        "--config",
        "min.insync.replicas=2",
    )
    keys = ["alice", "bob", "carol", "dave", "erin"]
    tool(
        "console_producer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        "orders",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
        stdin="".join(f'{k}:{{"order": {i}}}\n' for i in range(12) for k in keys),
    )
    tool(
        "avro_console_producer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        "customers",
        "--property",
        f"schema.registry.url={registry}",
        "--property",
        f"value.schema.file={ROOT / 'examples/avro/customer.avsc'}",
        stdin=(ROOT / "examples/avro/customers.json").read_text(),
    )
    stop = threading.Event()
    consumers: list[Consumer] = []

    def member(name: str) -> None:
        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "dashboard",
                "client.id": name,
                "auto.offset.reset": "earliest",
                "auto.commit.interval.ms": 1000,
            }
        )
        consumers.append(c)
        c.subscribe(["orders"])
        while not stop.is_set():
            c.poll(0.2)

    def produce() -> None:
        p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 20})
        i = 0
        while not stop.is_set():
            p.produce("orders", key=keys[i % 5].encode(), value=b'{"order": %d}' % i)
            p.poll(0)
            i += 1
            stop.wait(0.05)
        p.flush(5)

    threads = [
        threading.Thread(target=produce, daemon=True),
        threading.Thread(target=member, args=("dash-1",), daemon=True),
    ]
    for t in threads:
        t.start()
    from kcli.cluster_view.local_lab import local_registry_url

    app = KcliApp(KafkaSource(bootstrap), registry_url=local_registry_url(bootstrap), refresh_scale=0.5)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_group("dashboard")
            await settle(pilot, GroupScreen, lambda s: s.detail is not None and len(s.detail.members) == 1)
            t = threading.Thread(target=member, args=("dash-2",), daemon=True)
            threads.append(t)
            t.start()
            await settle(
                pilot,
                GroupScreen,
                lambda s: (
                    any(e.text.startswith("moved ") for e in s.timeline.events)
                    and any(e.kind == "commit" for e in s.events.events)
                    and s.detail is not None
                    and s.detail.state == "Stable"
                    and len({o.member_id for o in s.detail.offsets if o.member_id}) == 2
                ),
            )
            app.save_screenshot("tui-group-timeline.svg", str(out))
            app.pop_screen()
            app.open_topic("orders")
            await settle(pilot, TopicScreen, lambda s: len(s.samples) > 5)
            t = threading.Thread(
                target=member, args=("dash-3",), daemon=True
            )  # a join, marked under the lines
            threads.append(t)
            t.start()
            await settle(pilot, TopicScreen, lambda s: bool(s.events.events), timeout=90)
            seen = len(app.screen.samples)
            await settle(pilot, TopicScreen, lambda s: len(s.samples) > seen + 5)
            app.save_screenshot("tui-topic-trends.svg", str(out))
            await pilot.press("l")
            await settle(pilot, PartitionScreen, lambda s: s.plog is not None and s.plog.groups)
            app.save_screenshot("tui-partition-log.svg", str(out))
            await pilot.press("E")
            await pilot.pause(0.5)
            app.save_screenshot("tui-explain.svg", str(out))
            await pilot.press("E")
            app.pop_screen()
            app.pop_screen()
            app.open_partition_log("customers", 0)
            await settle(pilot, PartitionScreen)
            await pilot.press("home", "x")
            await settle(pilot, PartitionScreen, lambda s: "X-ray of" in s.xray_text)
            framing = app.screen.xray_text.splitlines().index("value: Confluent framing")
            app.screen.query_one("#record-pane").scroll_to(y=max(0, framing - 4), animate=False)
            await pilot.pause(0.3)
            app.save_screenshot("tui-xray.svg", str(out))
            app.pop_screen()
            await pilot.press("1")
            await settle(pilot, ClusterScreen, lambda s: s.state is not None)
            kcli("local", "kill-broker", "1")
            await settle(
                pilot, ClusterScreen, lambda s: any(t.startswith("broker 1 down") for t in s.events.texts())
            )
            kcli("local", "start", "--broker", "1")
            await settle(
                pilot, ClusterScreen, lambda s: any("caught up" in t for t in s.events.texts()), timeout=120
            )
            app.save_screenshot("tui-failure-lab.svg", str(out))
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        for c in consumers:
            c.close()


def screenshots(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, KCLI_HOME=str(Path(tmp) / "kcli-home"), PYTHONUNBUFFERED="1")
        os.environ["KCLI_HOME"] = env["KCLI_HOME"]
        base = consecutive_free(5)
        bootstrap = ",".join(f"localhost:{base + i}" for i in range(3))
        registry = f"http://localhost:{base + 4}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "kcli.cli.main",
                "local",
                "start",
                "--brokers",
                "3",
                "--port",
                str(base),
                "--schema-registry",
                "--registry-port",
                str(base + 4),
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
        try:
            out.mkdir(parents=True, exist_ok=True)
            asyncio.run(shots(env, bootstrap, registry, out))
        finally:
            subprocess.run(
                [sys.executable, "-m", "kcli.cli.main", "local", "destroy"],
                env=env,
                capture_output=True,
                timeout=180,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--screenshots", type=Path, default=None, help="directory for the views' SVGs")
    args = parser.parse_args()
    if args.screenshots is not None:
        screenshots(args.screenshots)
        print(f"screenshots written to {args.screenshots}/tui-*.svg")
        return
    with tempfile.TemporaryDirectory() as tmp:
        broker = BrokerProcess(Path(tmp) / "broker").start()
        try:
            started = time.perf_counter()
            fill(broker.bootstrap, args.topics, args.records)
            print(
                f"{args.topics:,} topics and big-0 with {args.records:,} records written in {time.perf_counter() - started:.1f} s"
            )
            for name, value in asyncio.run(measure(broker.bootstrap)).items():
                print(f"{name:<36}{value:>12,.0f}")
            print(f"{'kcli log draw big-0 (ms, process)':<36}{draw_cli(broker.bootstrap):>12,.0f}")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
