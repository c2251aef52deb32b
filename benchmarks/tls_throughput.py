"""Throughput over TLS against plaintext, printed as figures (never asserted in tests).

Starts one kcli broker with three listeners - PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512) - and
runs the same confluent-kafka workload through each: produce N records (linger 5 ms, 1 MB
batches), then consume them back, in rounds that alternate the order. Prints msgs/s and MB/s per
phase, the broker's CPU time per record (user + system from /proc), the ratio of each secured
listener to plaintext, and the broker's memory per idle TLS connection.

    python benchmarks/tls_throughput.py [--records 300000] [--size 1024] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, Producer, TopicPartition

from benchmarks.idle_connections import API_VERSIONS_V0, _read, settle_rss
from tests.server.security.secure_broker import SecureBroker, start_secure_broker


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_conf(broker: SecureBroker, protocol: str) -> dict:
    if protocol == "PLAINTEXT":
        return {"bootstrap.servers": f"127.0.0.1:{broker.plain_port}"}
    if protocol == "SSL":
        conf = broker.librdkafka("SSL", user="alice")
    else:
        conf = broker.librdkafka("SASL_SSL", "SCRAM-SHA-512", user="alice")
    return conf


def produce(conf: dict, topic: str, records: int, size: int) -> float:
    producer = Producer(
        {**conf, "linger.ms": 5, "batch.size": 1_000_000, "queue.buffering.max.messages": 1_000_000}
    )
    value = os.urandom(size)
    start = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0
    return time.perf_counter() - start


def consume(conf: dict, topic: str, records: int) -> float:
    consumer = Consumer({**conf, "group.id": f"bench-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = time.perf_counter()
    while got < records:
        got += sum(1 for m in consumer.consume(10000, 1.0) if m.error() is None)
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def idle_tls_kib(broker: SecureBroker, count: int = 200) -> float:
    context = ssl.create_default_context(cafile=broker.ca)
    base = settle_rss(broker.process.pid)
    socks = []
    for _ in range(count):
        tls = context.wrap_socket(
            socket.create_connection(("127.0.0.1", broker.sasl_ssl_port)), server_hostname="127.0.0.1"
        )
        tls.sendall(API_VERSIONS_V0)
        (size,) = struct.unpack(">i", _read(tls, 4))
        _read(tls, size)
        socks.append(tls)
    grown = settle_rss(broker.process.pid) - base
    for s in socks:
        s.close()
    return grown / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kcli-tls-bench-") as tmp:
        broker = start_secure_broker(Path(tmp), plaintext=True)
        pid = broker.process.pid
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        try:
            for rnd in range(args.rounds):
                order = ["PLAINTEXT", "SSL", "SASL_SSL"]
                if rnd % 2:
                    order.reverse()
                for protocol in order:
                    conf = client_conf(broker, protocol)
                    topic = f"tls-{protocol.lower()}-{uuid.uuid4().hex[:6]}"
                    cpu = cpu_seconds(pid)
                    elapsed = produce(conf, topic, args.records, args.size)
                    results.setdefault((protocol, "produce"), []).append((elapsed, cpu_seconds(pid) - cpu))
                    cpu = cpu_seconds(pid)
                    elapsed = consume(conf, topic, args.records)
                    results.setdefault((protocol, "consume"), []).append((elapsed, cpu_seconds(pid) - cpu))
            mb = args.records * args.size / 1e6
            print(
                f"machine: {os.cpu_count()} cores; {args.records} records of {args.size} B, {args.rounds} round(s)"
            )
            base: dict[str, float] = {}
            for protocol in ("PLAINTEXT", "SSL", "SASL_SSL"):
                line = [f"[kcli {protocol:<9}]"]
                for phase in ("produce", "consume"):
                    runs = results[(protocol, phase)]
                    elapsed = statistics.median(r[0] for r in runs)
                    cpu_us = statistics.median(r[1] for r in runs) / args.records * 1e6
                    rate = args.records / elapsed
                    if protocol == "PLAINTEXT":
                        base[phase] = rate
                    ratio = f" ({rate / base[phase]:.2f}x plaintext)" if protocol != "PLAINTEXT" else ""
                    line.append(
                        f"{phase} {rate:>10,.0f} msgs/s {mb / elapsed:7.1f} MB/s {cpu_us:5.2f} us CPU/rec{ratio}"
                    )
                print(" | ".join(line), flush=True)
            print(f"[kcli] broker memory per idle TLS connection: {idle_tls_kib(broker):.1f} KiB")
        finally:
            broker.process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
