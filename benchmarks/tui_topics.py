"""How fast ``kcli tui`` shows a big cluster: 1,000 topics x 10 partitions, side by side with kaskade.

Starts a broker (``tests/broker_process.py``) in a temporary directory, creates the topics,
writes a few records into a sample of them, then runs the app headless and prints:

* time to first paint of the topic table (app start -> all 1,000 rows rendered), which includes
  one Metadata request, one pipelined pair of ListOffsets requests (earliest, latest) per leader
  for the 10,000 partitions, and DescribeLogDirs;
* time of a refresh (``r``) of the same table;
* how long the topics took to create and how many descriptors the broker holds (bounded by its
  handle cache, whatever the partition count).

When kaskade (``pip install kaskade``, a Textual Kafka TUI too) is importable it is run the same
way - headless, ``App.run_test``, same terminal size, same broker, alternating which app goes
first over ``--rounds`` - and timed to the same point: every topic row painted with its record
count. kaskade paints in stages (names after its Metadata request, then record counts, then
consumer groups), so its names-only paint is printed too.

With ``--screenshots DIR`` it also saves an SVG of each main screen, fed by a small demo data
set on a second broker (orders with JSON records, a consumer group with lag).

    python benchmarks/tui_topics.py [--topics 1000] [--partitions 10] [--rounds 3] [--screenshots docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.cluster_view.kafka import KafkaSource
from kcli.tui.app import KcliApp
from kcli.tui.screens.base import DataScreen
from tests.broker_process import BrokerProcess

SIZE = (140, 42)


def create_topics(bootstrap: str, count: int, partitions: int, prefix: str = "bench") -> list[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"{prefix}-{i:04d}" for i in range(count)]
    for start in range(0, count, 20):
        batch = [NewTopic(n, partitions, 1) for n in names[start : start + 20]]
        for fut in admin.create_topics(batch, operation_timeout=60, request_timeout=60).values():
            fut.result(120)
    return names


def produce(bootstrap: str, items: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for topic, key, value in items:
        producer.produce(topic, key=key, value=value)
    producer.flush(60)


async def wait_loaded(pilot, screen: DataScreen, loads: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while screen.loads < loads:
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not load")
        await pilot.pause(0.005)
    await pilot.pause()  # one more turn of the loop: the rows are painted


async def measure(bootstrap: str, expected: int, refreshes: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    app = KcliApp(KafkaSource(bootstrap, timeout_s=30.0), live_refresh=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, DataScreen)
        await wait_loaded(pilot, screen, 1)
        first = time.perf_counter() - t0
        rows = screen.query_one("#topics").row_count
        assert rows >= expected, f"{rows} rows, expected {expected}"
        times: list[float] = []
        for i in range(refreshes):
            t1 = time.perf_counter()
            await pilot.press("r")
            await wait_loaded(pilot, screen, 2 + i)
            times.append(time.perf_counter() - t1)
    return first, times


async def measure_kaskade(bootstrap: str, expected: int) -> tuple[float, float, float]:
    """kaskade's admin app, headless: (names painted, records painted, refresh complete) in seconds.

    "Records painted" is when its own refresh says the record counts are in (the offsets stage
    done), the point kcli's first paint corresponds to; "complete" adds its consumer-group stage.
    """
    from kaskade.admin import KaskadeAdmin, ListTopics

    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    app = KaskadeAdmin({"bootstrap.servers": bootstrap}, refresh_interval=0)
    app.admin_refresh_completed = lambda: marks.setdefault("complete", time.perf_counter() - t0)  # type: ignore[attr-defined]
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 300
        listing = app.query_one(ListTopics)
        while "complete" not in marks:
            if time.monotonic() > deadline:
                raise TimeoutError("kaskade did not finish its refresh")
            table = app.query_one("#topics-table")
            if "names" not in marks and table.row_count >= expected:
                marks["names"] = time.perf_counter() - t0
            if (
                "records" not in marks
                and listing.topics
                and all(
                    getattr(t, "records_state", None) is not None and t.records_state.name == "READY"
                    for t in listing.topics.values()
                )
            ):
                marks["records"] = time.perf_counter() - t0
            await pilot.pause(0.005)
        await pilot.pause()
    names = marks.get("names", marks["complete"])
    return names, marks.get("records", marks["complete"]), marks["complete"]


def kaskade_available() -> str | None:
    """kaskade's version, or None when it is not installed (the comparison is then skipped)."""
    try:
        from importlib.metadata import version

        import kaskade.admin  # noqa: F401

        return version("kaskade")
    except Exception:
        return None


async def screenshots(bootstrap: str, out: Path) -> None:
    """SVGs of the main screens over a small, readable demo cluster."""
    app = KcliApp(KafkaSource(bootstrap), live_refresh=False)
    async with app.run_test(size=SIZE) as pilot:

        async def settle() -> None:
            screen = app.screen
            if isinstance(screen, DataScreen):
                await wait_loaded(pilot, screen, 1, 30)
            await pilot.pause(0.2)

        async def shot(name: str, *keys: str) -> None:
            for key in keys:
                await pilot.press(key)
                await settle()
            app.save_screenshot(f"tui-{name}.svg", str(out))

        await settle()
        await shot("topics")
        await shot("cluster", "1")
        await shot("topic-detail", "2", "down", "enter")
        await shot("messages", "m")
        await shot("produce", "p")
        await shot("groups", "escape", "escape", "escape", "3")
        await shot("group-detail", "enter")
        await shot("help", "escape", "question_mark")


def demo_data(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic("clicks", 6, 1), NewTopic("orders", 3, 1), NewTopic("payments", 1, 1)]
    for fut in admin.create_topics(topics, operation_timeout=30).values():
        fut.result(60)
    items: list[tuple[str, bytes | None, bytes]] = []
    for i in range(30):
        items.append(
            (
                "orders",
                f"order-{i}".encode(),
                f'{{"id": {i}, "amount": {10 + i}.5, "currency": "EUR"}}'.encode(),
            )
        )
    for i in range(200):
        items.append(("clicks", f"user-{i % 7}".encode(), f"/page/{i % 13}".encode()))
    produce(bootstrap, items)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "billing",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["orders"])
    got = 0
    deadline = time.monotonic() + 30
    while got < 18 and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            got += 1
    consumer.commit(asynchronous=False)
    consumer.close()


def broker_fds(pid: int) -> int | None:
    """Descriptors the broker process holds (Linux), to show they do not grow with partitions."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} x {cpu}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each app, alternating which goes first"
    )
    parser.add_argument("--screenshots", type=Path, default=None, help="directory for SVG screenshots")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}")

    with tempfile.TemporaryDirectory(prefix="kcli-tui-bench-") as tmp:
        if args.screenshots is not None:
            (Path(tmp) / "demo").mkdir()
            demo = BrokerProcess(Path(tmp) / "demo").start()
            try:
                demo_data(demo.bootstrap)
                args.screenshots.mkdir(parents=True, exist_ok=True)
                asyncio.run(screenshots(demo.bootstrap, args.screenshots))
                print(f"screenshots written to {args.screenshots}/tui-*.svg")
            finally:
                demo.stop()

        (Path(tmp) / "bench").mkdir()
        broker = BrokerProcess(Path(tmp) / "bench").start()
        try:
            t0 = time.perf_counter()
            names = create_topics(broker.bootstrap, args.topics, args.partitions)
            created = time.perf_counter() - t0
            produce(
                broker.bootstrap,
                [(names[i], None, b"x" * 100) for i in range(0, len(names), 10) for _ in range(10)],
            )
            total = args.topics * args.partitions
            print(
                f"created {args.topics} topics x {args.partitions} partitions in {created:.1f} s "
                f"({total / created:.0f} partitions/s); broker holds {broker_fds(broker.pid)} descriptors"
            )
            kaskade = kaskade_available()
            if kaskade is None:
                print("kaskade is not installed (pip install kaskade): kcli alone")
            firsts: list[float] = []
            refreshes: list[float] = []
            kaskade_runs: list[tuple[float, float, float]] = []
            for round_ in range(args.rounds):
                order = ["kcli", "kaskade"] if round_ % 2 == 0 else ["kaskade", "kcli"]
                for app_name in order:
                    if app_name == "kcli":
                        first, times = asyncio.run(measure(broker.bootstrap, args.topics, args.refreshes))
                        firsts.append(first)
                        refreshes.extend(times)
                        print(f"round {round_ + 1}: kcli tui first paint {first * 1000:.0f} ms")
                    elif kaskade is not None:
                        run = asyncio.run(measure_kaskade(broker.bootstrap, args.topics))
                        kaskade_runs.append(run)
                        print(
                            f"round {round_ + 1}: kaskade {kaskade} names {run[0] * 1000:.0f} ms, "
                            f"record counts {run[1] * 1000:.0f} ms, refresh complete {run[2] * 1000:.0f} ms"
                        )
            source = KafkaSource(broker.bootstrap, timeout_s=30.0)
            fetches = []
            for _ in range(args.refreshes):
                t1 = time.perf_counter()
                source.topics()
                fetches.append(time.perf_counter() - t1)

            def span(values: list[float]) -> str:
                return f"median {statistics.median(values) * 1000:.0f} ms ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"

            print(
                f"kcli tui, topic table first paint (names, records, sizes): {span(firsts)} over {len(firsts)} runs"
            )
            print(f"kcli tui, topic table refresh: {span(refreshes)} over {len(refreshes)} refreshes")
            print(f"of which the cluster requests (Metadata, ListOffsets, DescribeLogDirs): {span(fetches)}")
            if kaskade_runs:
                print(f"kaskade {kaskade}, topic names painted: {span([r[0] for r in kaskade_runs])}")
                print(f"kaskade {kaskade}, record counts painted: {span([r[1] for r in kaskade_runs])}")
                print(
                    f"kaskade {kaskade}, refresh complete (with groups): {span([r[2] for r in kaskade_runs])}"
                )
                ratio = statistics.median([r[1] for r in kaskade_runs]) / statistics.median(firsts)
                print(f"kaskade / kcli, record counts painted: {ratio:.2f}")
        except Exception:
            print("broker log tail:\n" + "".join(broker.output[-30:]), file=sys.stderr)
            raise
        finally:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
