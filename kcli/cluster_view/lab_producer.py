"""The failure lab's acks=all producer: one record every half second to a topic whose two replicas
must both acknowledge (``min.insync.replicas=2``), so stopping either replica's broker shows what
the lecture says - the leader refuses the write (NOT_ENOUGH_REPLICAS), the producer keeps retrying,
records wait, and after ``delivery.timeout.ms`` they fail; when the follower has caught up and is
back in the ISR, writes flow again.

The topic (``kcli-lab-acks``) is created on the first two live brokers with an explicit replica
assignment, so the lab can name the two brokers that matter. Runs in its own thread; ``stop()``
flushes and closes the producer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

LAB_TOPIC = "kcli-lab-acks"
PERIOD_S = 0.5
#: How long a record may wait for its acknowledgement before it fails (the lab's delivery.timeout.ms).
DELIVERY_TIMEOUT_MS = 15000


@dataclass
class LabStatus:
    running: bool = False
    topic: str = LAB_TOPIC
    replicas: tuple[int, ...] = ()
    sent: int = 0
    acked: int = 0
    failed: int = 0
    last_offset: int | None = None
    last_error: str | None = None
    waiting_since: float | None = None  # monotonic time the oldest unacknowledged record was sent
    problem: str | None = None  # why the producer could not start

    @property
    def waiting(self) -> int:
        return self.sent - self.acked - self.failed


class LabProducer:
    def __init__(self, conf: dict[str, Any], topic: str = LAB_TOPIC) -> None:
        self.conf = dict(conf)
        self.status = LabStatus(topic=topic)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sent_at: dict[int, float] = {}

    def prepare(self, admin: Any, live: list[int], timeout_s: float = 10.0) -> None:
        """Create the lab topic on the first two live brokers (min.insync.replicas=2) if missing."""
        from confluent_kafka.admin import NewTopic

        topic = self.status.topic
        md = admin.list_topics(timeout=timeout_s)
        if topic in md.topics and md.topics[topic].partitions:
            self.status.replicas = tuple(md.topics[topic].partitions[0].replicas)
            return
        if len(live) < 2:
            raise ValueError("the acks=all lab needs two live brokers")
        replicas = sorted(live)[:2]
        # librdkafka wants the partition count spelled out next to an explicit assignment
        new = NewTopic(
            topic, num_partitions=1, replica_assignment=[replicas], config={"min.insync.replicas": "2"}
        )
        for fut in admin.create_topics(
            [new], request_timeout=timeout_s, operation_timeout=timeout_s
        ).values():
            fut.result(timeout=timeout_s + 5)
        self.status.replicas = tuple(replicas)

    def start(self) -> None:
        from confluent_kafka import Producer

        conf = dict(self.conf)
        conf.update(
            {
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 0,
                "delivery.timeout.ms": DELIVERY_TIMEOUT_MS,
                "request.timeout.ms": 5000,
                "client.id": "kcli-tui-lab",
            }
        )
        self._producer = Producer(conf)
        self.status.running = True
        self._thread = threading.Thread(target=self._run, name="kcli-lab-producer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            with self._lock:
                self.status.sent += 1
                seq = self.status.sent
                self._sent_at[seq] = time.monotonic()
                if self.status.waiting_since is None:
                    self.status.waiting_since = self._sent_at[seq]
            try:
                self._producer.produce(
                    self.status.topic,
                    key=b"lab",
                    value=f"record {n} at {time.strftime('%H:%M:%S')}".encode(),
                    on_delivery=lambda err, msg, seq=seq: self._delivered(seq, err, msg),
                )
            except BufferError:
                with self._lock:
                    self.status.sent -= 1
            self._producer.poll(0)
            self._stop.wait(PERIOD_S)
            self._producer.poll(0)

    def _delivered(self, seq: int, err: Any, msg: Any) -> None:
        with self._lock:
            self._sent_at.pop(seq, None)
            if err is None:
                self.status.acked += 1
                self.status.last_offset = msg.offset()
                self.status.last_error = None
            else:
                self.status.failed += 1
                self.status.last_error = f"{err.name()}: {err.str()}"
            self.status.waiting_since = min(self._sent_at.values(), default=None)

    def snapshot(self) -> LabStatus:
        with self._lock:
            return LabStatus(**vars(self.status))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        producer = getattr(self, "_producer", None)
        if producer is not None:
            try:
                producer.purge()
                producer.flush(2)
            except Exception:
                pass
        self.status.running = False


def describe(status: LabStatus, now: float | None = None) -> str:
    """One line: what the lab producer is doing, in the lecture's terms."""
    if status.problem:
        return f"acks=all producer: {status.problem}"
    if not status.running:
        return "a starts an acks=all producer (min.insync.replicas=2) to see writes refused while a replica is down"
    now = time.monotonic() if now is None else now
    text = (
        f"acks=all producer → {status.topic} (replicas {','.join(map(str, status.replicas))}, "
        f"min.insync.replicas=2): {status.acked:,} acknowledged"
    )
    if status.last_offset is not None:
        text += f", last offset {status.last_offset:,}"
    waited = now - status.waiting_since if status.waiting_since is not None else 0.0
    if status.waiting > 1 and waited > 2.0:
        text += (
            f"; BLOCKED: {status.waiting} record(s) unacknowledged for {waited:.0f} s (the ISR is below 2)"
        )
    if status.failed:
        text += f"; {status.failed:,} failed"
    if status.last_error:
        text += f" (last: {status.last_error})"
    return text
