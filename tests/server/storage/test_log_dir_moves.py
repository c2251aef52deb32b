"""Moving a replica between the log dirs of a real broker (AlterReplicaLogDirs), driven by the
drop-in ``kafka-reassign-partitions`` with Kafka's ``log_dirs`` JSON and checked with
``kafka-log-dirs``: under an idempotent acks=all producer every acknowledged record is read back
once, in order; the data ends in the new dir and the old one is gone; a ``kill -9`` during the
copy, or between the two renames of the swap, loses nothing and leaves one replica; a dir that is
not in ``log.dirs`` or cannot be used answers Kafka's errors.

The copy is throttled with ``replica.alter.log.dirs.io.max.bytes.per.second`` so that a move
lasts long enough to be seen in progress (size / rate seconds at least, however loaded the
machine is)."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.errors import ErrorCode

from kcli.server.storage.log_dir_mover import FINAL_STEP_BYTES
from kcli.tools import log_dirs as log_dirs_tool
from kcli.tools import reassign_partitions
from kcli.tools.cluster_wire import ClusterView
from tests.broker_process import BrokerProcess
from tests.e2e.helpers import wait_until
from tests.server.cluster.test_reassignment import LoadProducer, read_partition

RATE = 300_000  # bytes per second the copy may read
PRELOAD = 6000  # records of 200 bytes: about 1.3 MB, four seconds of copying at RATE


def settings(root: Path, dirs: str = "a,b,c", rate: int = RATE) -> dict[str, str | None]:
    return {
        "log.dirs": ",".join(str(root / d) for d in dirs.split(",")),
        "log.segment.bytes": "262144",  # several closed segments and an active one
        "offsets.topic.num.partitions": "1",
        "replica.alter.log.dirs.io.max.bytes.per.second": str(rate),
    }


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    root = tmp_path_factory.mktemp("logdirs")
    b = BrokerProcess(root / "run", settings(root)).start()
    b.root = root  # type: ignore[attr-defined]
    yield b
    assert b.stop() == 0


def dirs_of(broker: BrokerProcess) -> list[Path]:
    return [broker.root / d for d in ("a", "b", "c")]  # type: ignore[attr-defined]


def create(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)


def preload(bootstrap: str, topic: str, count: int = PRELOAD) -> list[str]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    values = [f"pre-{i:06d}-".ljust(200, "x") for i in range(count)]
    for value in values:
        producer.produce(topic, value.encode(), partition=0)
        producer.poll(0)
    assert producer.flush(60) == 0
    return values


def where(dirs: list[Path], topic: str) -> list[Path]:
    """The log dirs holding ``topic``-0 (current replicas only)."""
    return [d for d in dirs if (d / f"{topic}-0").is_dir()]


def leftovers(dirs: list[Path]) -> list[str]:
    return [
        p.name for d in dirs if d.is_dir() for p in d.iterdir() if p.name.endswith(("-future", "-delete"))
    ]


def reassign(capsys: pytest.CaptureFixture[str], bootstrap: str, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = reassign_partitions.main(["--bootstrap-server", bootstrap, *args])
    return code, capsys.readouterr().out


def plan(path: Path, topic: str, log_dir: str) -> str:
    partitions = [{"topic": topic, "partition": 0, "replicas": [0], "log_dirs": [log_dir]}]
    path.write_text(json.dumps({"version": 1, "partitions": partitions}))
    return str(path)


def replicas_by_dir(bootstrap: str, topic: str) -> dict[str, list[tuple[bool, int]]]:
    """DescribeLogDirs: log dir -> (is future, size) of ``topic``-0's replicas in it."""
    view = ClusterView(bootstrap)
    try:
        view.load([])
        body = {"topics": [{"topic": topic, "partitions": [0]}]}
        response = view.request(35, 2, body, node_id=0)
    finally:
        view.close()
    return {
        str(r.log_dir): [
            (bool(p.is_future_key), int(p.partition_size)) for t in r.topics for p in t.partitions
        ]
        for r in response.results
    }


def alter(bootstrap: str, topic: str, path: str) -> int:
    view = ClusterView(bootstrap)
    try:
        view.load([])
        body = {"dirs": [{"path": path, "topics": [{"name": topic, "partitions": [0]}]}]}
        response = view.request(34, 2, body, node_id=0)
    finally:
        view.close()
    return int(response.results[0].partitions[0].error_code)


def test_a_dir_not_in_log_dirs_or_unusable_answers_kafkas_errors(
    broker: BrokerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = "stays"
    create(broker.bootstrap, topic)
    dirs = dirs_of(broker)
    (source,) = where(dirs, topic)
    missing = str(tmp_path / "not-a-log-dir")
    assert alter(broker.bootstrap, topic, missing) == ErrorCode.log_dir_not_found
    path = plan(tmp_path / "move.json", topic, missing)
    code, out = reassign(capsys, broker.bootstrap, "--execute", "--reassignment-json-file", path)
    assert code == 1
    assert out.splitlines()[-2:] == [
        f"Error: Failed to alter dir for {topic}-0-0",
        "Caused by: org.apache.kafka.common.errors.LogDirNotFoundException: The user-specified log "
        "directory is not found in the broker config.",
    ]
    # A log dir of the broker replaced by a file: unusable, as Kafka's offline log dir.
    broken = dirs[2]
    for held in [p.name for p in broken.iterdir() if p.is_dir()]:  # moved out first
        name = held.rpartition("-")[0]
        assert alter(broker.bootstrap, name, str(dirs[0])) == ErrorCode.none
        assert wait_until(lambda: where(dirs, name) == [dirs[0]], 60)  # noqa: B023
    (source,) = where(dirs, topic)
    saved = tmp_path / "saved"
    shutil.move(broken, saved)
    broken.write_text("not a directory")
    try:
        assert alter(broker.bootstrap, topic, str(broken)) == ErrorCode.kafka_storage_error
        capsys.readouterr()
        assert log_dirs_tool.main(["--bootstrap-server", broker.bootstrap, "--describe"]) == 0
        described = json.loads(capsys.readouterr().out.splitlines()[2])
        errors = {d["logDir"]: d["error"] for d in described["brokers"][0]["logDirs"]}
        assert errors[str(broken)] == "org.apache.kafka.common.errors.KafkaStorageException"
        assert errors[str(source)] is None
    finally:
        broken.unlink()
        shutil.move(saved, broken)
    assert where(dirs, topic) == [source] and leftovers(dirs) == []
    # An unknown partition: REPLICA_NOT_AVAILABLE (the tool retries it until --timeout).
    assert alter(broker.bootstrap, "no-such-topic", str(source)) == ErrorCode.replica_not_available


def test_move_under_an_acks_all_producer_keeps_every_record_once_in_order(
    broker: BrokerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = "moving"
    create(broker.bootstrap, topic)
    dirs = dirs_of(broker)
    (source,) = where(dirs, topic)
    target = next(d for d in dirs[:2] if d != source)
    before = preload(broker.bootstrap, topic)
    load = LoadProducer(broker.bootstrap, topic, 1)
    load.thread.start()
    try:
        assert wait_until(lambda: load.count() >= 100, 60)
        path = plan(tmp_path / "move.json", topic, str(target))
        code, out = reassign(capsys, broker.bootstrap, "--execute", "--reassignment-json-file", path)
        assert code == 0, out
        assert out.splitlines()[-2:] == [
            f"Successfully started partition reassignment for {topic}-0",
            f"Successfully started moving log directory to {target} for replica {topic}-0 with broker 0 ",
        ]
        # In progress: the future replica is in the target dir, the current one still in the source.
        replicas = replicas_by_dir(broker.bootstrap, topic)
        assert replicas[str(source)][0][0] is False
        assert [future for future, _ in replicas[str(target)]] == [True]
        assert len(list(target.glob(f"{topic}-0.*-future"))) == 1
        code, out = reassign(capsys, broker.bootstrap, "--verify", "--reassignment-json-file", path)
        assert code == 0
        assert f"Reassignment of replica {topic}-0-0 is still in progress." in out.splitlines()
        assert "Clearing" not in out  # throttles stay while a move runs

        def completed() -> bool:
            out = reassign(capsys, broker.bootstrap, "--verify", "--reassignment-json-file", path)[1]
            return f"Reassignment of replica {topic}-0-0 completed successfully." in out

        assert wait_until(completed, 120)
        mark = load.count()
        assert wait_until(lambda: load.count() >= mark + 200, 60)  # the moved replica takes writes
    finally:
        load.stop.set()
        load.thread.join(90)
    assert load.errors == []
    assert read_partition(broker.bootstrap, topic, 0) == before + load.acked[0]
    assert where(dirs, topic) == [target]
    assert leftovers(dirs) == []
    assert list(target.glob(f"{topic}-0/*.log"))
    replicas = replicas_by_dir(broker.bootstrap, topic)
    assert replicas[str(source)] == [] and [f for f, _ in replicas[str(target)]] == [False]
    code, out = reassign(capsys, broker.bootstrap, "--verify", "--reassignment-json-file", path)
    assert out == (
        "Status of partition reassignment:\n"
        f"Reassignment of partition {topic}-0 is completed.\n"
        f"Reassignment of replica {topic}-0-0 completed successfully.\n"
        "Clearing broker-level throttles on broker 0\n"
        f"Clearing topic-level throttles on topic {topic}\n"
    )


def test_cancel_puts_a_move_back_and_verify_says_so(
    broker: BrokerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = "cancelled"
    create(broker.bootstrap, topic)
    dirs = dirs_of(broker)
    (source,) = where(dirs, topic)
    target = next(d for d in dirs[:2] if d != source)
    values = preload(broker.bootstrap, topic)
    path = plan(tmp_path / "move.json", topic, str(target))
    assert reassign(capsys, broker.bootstrap, "--execute", "--reassignment-json-file", path)[0] == 0
    assert len(list(target.glob(f"{topic}-0.*-future"))) == 1
    code, out = reassign(capsys, broker.bootstrap, "--cancel", "--reassignment-json-file", path)
    assert code == 0, out
    assert out.splitlines()[:2] == [
        "None of the specified partition reassignments are active.",
        f"Successfully started moving log directory to {source} for replica {topic}-0 with broker 0 ",
    ]
    assert wait_until(lambda: leftovers(dirs) == [], 30)  # the future replica is removed
    code, out = reassign(capsys, broker.bootstrap, "--verify", "--reassignment-json-file", path)
    assert code == 0
    assert out.splitlines()[:3] == [
        "Status of partition reassignment:",
        f"Reassignment of partition {topic}-0 is completed.",
        f"Partition {topic}-0 on broker 0 is not being moved from log dir {source} to {target}.",
    ]
    assert where(dirs, topic) == [source]
    assert read_partition(broker.bootstrap, topic, 0) == values


def test_kill_during_a_move_and_between_the_renames_loses_nothing(tmp_path: Path) -> None:
    topic = "crashing"
    # A slow copy (13 s), killed as soon as it started: however slow the machine, it is mid-copy.
    broker = BrokerProcess(tmp_path / "run", settings(tmp_path, "a,b", rate=100_000)).start()
    dirs = [tmp_path / "a", tmp_path / "b"]
    try:
        create(broker.bootstrap, topic)
        values = preload(broker.bootstrap, topic)
        (source,) = where(dirs, topic)
        target = next(d for d in dirs if d != source)
        assert alter(broker.bootstrap, topic, str(target)) == ErrorCode.none

        def copying() -> bool:
            return any(p.stat().st_size for f in target.glob(f"{topic}-0.*-future") for p in f.iterdir())

        assert wait_until(copying, 30)
        broker.kill()
        assert where(dirs, topic) == [source] and len(list(target.glob(f"{topic}-0.*-future"))) == 1
        broker.start()  # the unfinished future replica is discarded: the current one is complete
        assert where(dirs, topic) == [source] and leftovers(dirs) == []
        assert read_partition(broker.bootstrap, topic, 0) == values
        assert broker.stop() == 0

        # A crash between the swap's two renames: the old replica already renamed -delete, the
        # complete future one not yet renamed. The start completes the move.
        future = target / f"{topic}-0.{uuid.uuid4().hex}-future"
        shutil.copytree(source / f"{topic}-0", future)
        (source / f"{topic}-0").rename(source / f"{topic}-0.{uuid.uuid4().hex}-delete")
        broker.start()
        assert where(dirs, topic) == [target] and leftovers(dirs) == []
        assert read_partition(broker.bootstrap, topic, 0) == values
    finally:
        broker.stop()


def test_the_tools_log_dir_throttle_bounds_a_running_move(
    broker: BrokerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--replica-alter-log-dirs-throttle`` sets the brokers' dynamic
    ``replica.alter.log.dirs.io.max.bytes.per.second``, which the copy obeys over the static one
    (here a third of it): the move lasts at least the bytes it copies at that rate (a lower bound
    from the data; the last FINAL_STEP_BYTES are swapped in at once), and ``--verify`` clears it."""
    topic = "throttled-move"
    create(broker.bootstrap, topic)
    dirs = dirs_of(broker)
    (source,) = where(dirs, topic)
    target = next(d for d in dirs[:2] if d != source)
    preload(broker.bootstrap, topic, 3500)
    size = sum(f.stat().st_size for f in (source / f"{topic}-0").glob("*.log"))
    rate = RATE // 3
    path = plan(tmp_path / "move.json", topic, str(target))
    started = time.monotonic()
    code, out = reassign(
        capsys, broker.bootstrap, "--execute", "--reassignment-json-file", path,
        "--replica-alter-log-dirs-throttle", str(rate),
    )  # fmt: skip
    assert code == 0, out
    assert wait_until(lambda: where(dirs, topic) == [target], 120)
    elapsed = time.monotonic() - started
    assert elapsed >= (size - FINAL_STEP_BYTES - rate / 10) / rate, (size, elapsed)
    code, out = reassign(capsys, broker.bootstrap, "--verify", "--reassignment-json-file", path)
    assert code == 0 and "Clearing broker-level throttles on broker 0" in out, out
