"""A Jepsen-style test of the KRaft cluster (issue 22): 3 controllers, 3 brokers, and a nemesis.

Two idempotent ``acks=all`` producers write to a topic of replication factor 3 with
``min.insync.replicas=2``, and a consumer group commits its offsets, while a nemesis kills -9 one
node at a time - a controller or a broker, chosen by a seeded random generator - and starts it
again, ``KILLS`` times. Each restart is waited for by a condition (the node is serving again: a
controller caught up with the quorum's leader, a broker back in every ISR), never by a sleep, and
the gap between two faults is a number of newly acknowledged records, so a seed gives the same
schedule on every machine. The seed is printed; ``KCLI_NEMESIS_SEED=N`` replays another one.

What is judged is only what Kafka guarantees with one node down at a time, RF 3 and
``min.insync.replicas=2``:

- every acknowledged record is in the log, exactly once, at the offset its acknowledgement gave,
  and each producer's records are in the order it sent them, per partition;
- a fetch of the group's committed offsets never returns less than an offset whose commit was
  acknowledged before the fetch (committed offsets never move backwards);
- at the end every broker answers Metadata with the same brokers, leaders, replicas and ISRs, and
  every voter of the quorum has the leader's log end.

Availability is not judged beyond generous deadlines (a restart that never serves again fails).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.tools.admin_wire import Connection
from kcli.tools.cli import ToolError
from tests.broker_process import BrokerProcess
from tests.cluster_process import Cluster

TOPIC = "nemesis"
PARTITIONS = 3
PRODUCERS = 2
KILLS = 6
GROUP = "nemesis-group"
SEED = int(os.environ.get("KCLI_NEMESIS_SEED", "2200"))
WAIT_S = 60.0  # a generous deadline for any one condition (a loaded 2-core machine)
METADATA, DESCRIBE_QUORUM = 3, 55

BROKER_SETTINGS = {
    # The group's offsets replicated as the data is (RF 3), so a broker's death loses no commit.
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "3",
    "replica.lag.time.max.ms": "4000",
    "transaction.state.log.replication.factor": "3",
}
CONTROLLER_SETTINGS = {
    "controller.quorum.election.timeout.ms": "500",
    "controller.quorum.fetch.timeout.ms": "1500",
}


def wait_for(what: str, predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Poll an observable condition until it holds; fail naming it after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)  # the poll interval of a condition, not a synchronisation
    assert predicate(), f"seed {SEED}: {what} not reached within {timeout_s:.0f} s"


# --- what each node says, asked of that node itself ------------------------------------------
PartitionView = tuple[int, int, tuple[int, ...], tuple[int, ...]]


def metadata_of(broker: BrokerProcess) -> tuple[tuple[int, ...], dict[str, list[PartitionView]]] | None:
    """This broker's own Metadata answer (not a client's cached view): its brokers, and per
    topic (partition, leader, replicas, sorted ISR); None while it does not answer."""
    try:
        with Connection("127.0.0.1", broker.port, 5.0) as conn:
            md = conn.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                             "include_topic_authorized_operations": False})  # fmt: skip
    except (ToolError, OSError):
        return None
    topics = {
        str(t.name): sorted(
            (int(p.partition_index), int(p.leader_id), tuple(p.replica_nodes), tuple(sorted(p.isr_nodes)))
            for p in t.partitions
        )
        for t in md.topics
        if not int(t.error_code)
    }
    return tuple(sorted(int(b.node_id) for b in md.brokers)), topics


def quorum_of(broker: BrokerProcess) -> Any | None:
    """DescribeQuorum's partition (leader, epoch, voters' log ends) through one broker."""
    body = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]}
    try:
        with Connection("127.0.0.1", broker.port, 5.0) as conn:
            response = conn.request(DESCRIBE_QUORUM, 1, body)
    except (ToolError, OSError):
        return None
    if int(response.error_code) or not response.topics:
        return None
    partition = response.topics[0].partitions[0]
    return None if int(partition.error_code) or int(partition.leader_id) < 0 else partition


def voters_caught_up(cluster: Cluster, restarted: int = -1, since_ms: int = 0) -> bool:
    """A leader, and every voter with the leader's log end (as ``--replication`` shows it); a
    ``restarted`` voter other than the leader must have caught up since ``since_ms`` (so a
    voter's end offset from before its restart does not count)."""
    for broker in cluster.brokers:
        if broker.proc is None or broker.proc.poll() is not None:
            continue
        found = quorum_of(broker)
        if found is None:
            return False
        ends = {int(v.replica_id): int(v.log_end_offset) for v in found.current_voters}
        if len(ends) != len(cluster.controllers) or len(set(ends.values())) != 1:
            return False
        if restarted >= 0 and restarted != int(found.leader_id):
            voter = next(v for v in found.current_voters if int(v.replica_id) == restarted)
            return int(voter.last_caught_up_timestamp) >= since_ms
        return True
    return False


def all_in_sync(cluster: Cluster, topics: tuple[str, ...]) -> bool:
    """Every broker registered and in every ISR of ``topics``, as each broker says it."""
    everyone = tuple(range(len(cluster.brokers)))
    for broker in cluster.brokers:
        view = metadata_of(broker)
        if view is None or view[0] != everyone:
            return False
        for topic in topics:
            parts = view[1].get(topic)
            if not parts or any(isr != everyone or leader < 0 for _, leader, _, isr in parts):
                return False
    return True


# --- the workload ----------------------------------------------------------------------------
@dataclass
class History:
    """What the clients were told, to be judged at the end."""

    acked: list[tuple[int, int, bytes]] = field(default_factory=list)  # (partition, offset, value)
    produce_errors: list[str] = field(default_factory=list)
    commits: list[tuple[int, int]] = field(default_factory=list)  # acknowledged (partition, offset)
    fetches: int = 0
    backwards: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def produce(bootstrap: str, n: int, history: History, stop: threading.Event) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "delivery.timeout.ms": 300000})  # fmt: skip

    def done(err: KafkaError | None, msg: Any) -> None:
        if err is None:
            with history.lock:
                history.acked.append((msg.partition(), msg.offset(), msg.value()))
        else:
            history.produce_errors.append(f"{msg.value()!r}: {err}")

    i = 0
    while not stop.is_set():
        producer.produce(TOPIC, f"p{n}-{i}".encode(), partition=i % PARTITIONS, on_delivery=done)
        producer.poll(0.01)
        i += 1
    producer.flush(120)


def consume_and_commit(bootstrap: str, history: History, stop: threading.Event) -> None:
    """One member of the group: commits what it read every few records, then fetches the
    committed offsets and compares them with the commits acknowledged before the fetch."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 10000,
                         "heartbeat.interval.ms": 1000})  # fmt: skip
    positions: dict[int, int] = {}
    floor: dict[int, int] = {}  # the highest acknowledged commit per partition

    def assigned(c: Consumer, parts: list[TopicPartition]) -> None:
        positions.clear()  # commit only what was read since this assignment

    consumer.subscribe([TOPIC], on_assign=assigned)
    read = 0
    try:
        while not stop.is_set():
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                positions[msg.partition()] = msg.offset() + 1
                read += 1
            if read < 40 or not positions:
                continue
            read = 0
            offsets = [TopicPartition(TOPIC, p, o) for p, o in sorted(positions.items())]
            try:
                answered = consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException:
                continue  # not acknowledged: its outcome is unknown, and nothing is judged
            for tp in answered or []:
                if tp.error is None:
                    floor[tp.partition] = max(floor.get(tp.partition, -1), tp.offset)
                    history.commits.append((tp.partition, tp.offset))
            before = dict(floor)
            try:
                fetched = consumer.committed(
                    [TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10
                )
            except KafkaException:
                continue
            history.fetches += 1
            for tp in fetched:
                if tp.error is None and tp.partition in before and tp.offset < before[tp.partition]:
                    history.backwards.append(
                        f"partition {tp.partition}: fetched {tp.offset} after commit {before[tp.partition]} was acknowledged"
                    )
    finally:
        consumer.close()


# --- the nemesis -----------------------------------------------------------------------------
def schedule(seed: int) -> list[tuple[str, int]]:
    """(node name, acknowledged records to wait for before killing it), ``KILLS`` times."""
    rng = random.Random(seed)
    nodes = [f"controller-{100 + i}" for i in range(3)] + [f"broker-{i}" for i in range(3)]
    return [(rng.choice(nodes), rng.randint(100, 300)) for _ in range(KILLS)]


def node(cluster: Cluster, name: str) -> BrokerProcess:
    kind, _, number = name.partition("-")
    if kind == "controller":
        return cluster.controllers[int(number) - 100]
    return cluster.brokers[int(number)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("nemesis"), 3, mode="kraft", controllers=3,
                overrides=BROKER_SETTINGS, controller_overrides=CONTROLLER_SETTINGS)  # fmt: skip
    c.start()
    try:
        yield c
    finally:
        c.stop()
        for process in [*c.controllers, *c.brokers]:  # every node's log, to read after a failure
            (process.workdir / "output.log").write_text("".join(process.output))


def test_kill_and_restart_random_nodes_under_load(cluster: Cluster) -> None:
    plan = schedule(SEED)
    print(f"nemesis seed {SEED} (KCLI_NEMESIS_SEED={SEED} replays it): {plan}")
    wait_for("a quorum leader with every voter caught up", lambda: voters_caught_up(cluster))
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})])[TOPIC].result(
        30
    )
    wait_for("the topic in sync on every broker", lambda: all_in_sync(cluster, (TOPIC,)))

    history = History()
    stop = threading.Event()
    threads = [
        threading.Thread(target=produce, args=(cluster.bootstrap, n, history, stop)) for n in range(PRODUCERS)
    ]
    threads.append(threading.Thread(target=consume_and_commit, args=(cluster.bootstrap, history, stop)))
    for t in threads:
        t.start()
    try:
        wait_for("the group's first commit", lambda: bool(history.commits))
        wait_for("__consumer_offsets in sync", lambda: all_in_sync(cluster, (TOPIC, "__consumer_offsets")))
        for step, (name, gap) in enumerate(plan, 1):
            target = len(history.acked) + gap
            wait_for(
                f"{gap} more acknowledged records before kill {step}",
                lambda target=target: len(history.acked) >= target,
            )
            victim = node(cluster, name)
            print(f"kill {step}: {name} (after {len(history.acked)} acks)")
            victim.kill()
            restarted_ms = int(time.time() * 1000)
            victim.start(timeout=WAIT_S)
            if name.startswith("controller"):
                voter = int(name.partition("-")[2])
                wait_for(
                    f"{name} caught up with the quorum after kill {step}",
                    lambda voter=voter, since=restarted_ms: voters_caught_up(cluster, voter, since),
                )
            else:
                wait_for(
                    f"{name} back in every ISR after kill {step}",
                    lambda: all_in_sync(cluster, (TOPIC, "__consumer_offsets")),
                )
            print(f"kill {step}: {name} serving again")
        commits_before = len(history.commits)
        wait_for("a commit after the last fault", lambda: len(history.commits) > commits_before)
    finally:
        stop.set()
        for t in threads:
            t.join(150)
    assert not any(t.is_alive() for t in threads), "a client thread did not stop"
    print(
        f"{len(history.acked)} records acknowledged, {len(history.commits)} commits, {history.fetches} fetches"
    )

    # Committed offsets never moved backwards.
    assert not history.backwards, f"seed {SEED}: {history.backwards[:5]}"
    # With a 300 s delivery timeout no send may fail while two of three replicas stay up.
    assert not history.produce_errors, f"seed {SEED}: {history.produce_errors[:5]}"

    # Every acknowledged record exactly once, at its acknowledged offset, in each producer's order.
    log = read_topic(cluster)
    values = [value for records in log.values() for _, value in records]
    duplicated = {v for v in values if values.count(v) > 1} if len(values) != len(set(values)) else set()
    assert not duplicated, f"seed {SEED}: written more than once: {sorted(duplicated)[:5]}"
    at = {(p, offset): value for p, records in log.items() for offset, value in records}
    lost = [(p, o, v) for p, o, v in history.acked if at.get((p, o)) != v]
    assert not lost, f"seed {SEED}: {len(lost)} acknowledged record(s) not at their offset: {lost[:5]}"
    for p, records in log.items():
        last: dict[str, int] = {}
        for _, value in records:
            who, _, seq = value.decode().partition("-")
            assert int(seq) > last.get(who, -1), f"seed {SEED}: {value!r} out of order in partition {p}"
            last[who] = int(seq)

    # The same metadata on every broker, and every voter with the leader's log end.
    wait_for("every voter caught up at the end", lambda: voters_caught_up(cluster))
    wait_for(
        "the same metadata on every broker",
        lambda: (
            len({repr(metadata_of(b)) for b in cluster.brokers}) == 1
            and metadata_of(cluster.brokers[0]) is not None
        ),
    )
    views = [metadata_of(b) for b in cluster.brokers]
    assert views[0] is not None and all(v == views[0] for v in views)
    assert set(views[0][1]) >= {TOPIC, "__consumer_offsets"}


def read_topic(cluster: Cluster) -> dict[int, list[tuple[int, bytes]]]:
    """The whole topic, partition by partition, up to its high watermark, by a fresh consumer."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "nemesis-check",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        log: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
        positions = dict.fromkeys(range(PARTITIONS), 0)
        deadline = time.monotonic() + WAIT_S
        while any(positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            log[msg.partition()].append((msg.offset(), msg.value()))
            positions[msg.partition()] = msg.offset() + 1
        assert all(positions[p] >= ends[p] for p in ends), (
            f"seed {SEED}: could not read to {ends}: {positions}"
        )
        return dict(log)
    finally:
        consumer.close()
