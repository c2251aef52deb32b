"""A full disk: produce answers KAFKA_STORAGE_ERROR, reads go on, one log line per state change,
CreateTopics answers an error, shutdown says it is the shutdown, and nothing acknowledged is lost.

The log dir lives on a small tmpfs. Mounting one needs CAP_SYS_ADMIN: as root the test mounts it
directly; otherwise it runs the broker in a user and mount namespace of its own (``unshare -Urm``)
where it may mount one; where neither is allowed (a container without either right), it skips.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess, start_and_wait
from tests.faults.helpers import lines, read_partition

SIZE = "8m"


class SmallDisk:
    """A tmpfs for the broker's log dir, seen from this process at :attr:`view`."""

    def __init__(self, mountpoint: Path, namespaced: bool):
        self.mountpoint = mountpoint
        self.namespaced = namespaced
        self.pid: int | None = None  # the broker whose mount namespace holds the tmpfs

    @property
    def view(self) -> Path:
        if not self.namespaced:
            return self.mountpoint
        assert self.pid is not None
        return Path(f"/proc/{self.pid}/root{self.mountpoint}")

    def fill(self) -> Path:
        """Take every free byte with a filler file; returns it (delete it to give the space back)."""
        filler = self.view / f"filler-{len(list(self.view.glob('filler-*')))}"
        chunk = b"\0" * 65536
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    if len(chunk) == 1:
                        break
                    chunk = chunk[: len(chunk) // 2]
        finally:
            os.close(fd)
        return filler


@contextmanager
def small_disk(path: Path) -> Iterator[SmallDisk]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode == 0:
        try:
            yield SmallDisk(path, namespaced=False)
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    probe = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", f"mount -t tmpfs -o size={SIZE} tmpfs {path}"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(
            "a small tmpfs cannot be mounted here: mount needs CAP_SYS_ADMIN "
            f"({mounted.stderr.strip()}) and user namespaces are not allowed ({probe.stderr.strip()})"
        )
    yield SmallDisk(path, namespaced=True)


class FullDiskBroker(BrokerProcess):
    """A broker whose log dir is the small disk (mounted in its own namespace when needed);
    ``other_dirs``: log dirs it has besides, listed first (``tests/faults/test_failed_log_dir.py``)."""

    def __init__(self, workdir: Path, disk: SmallDisk, other_dirs: tuple[Path, ...] = ()):
        settings = {
            "log.dirs": ",".join(str(d) for d in (*other_dirs, disk.mountpoint / "logs")),
            "log.retention.check.interval.ms": "200",  # checkpoint writes fail too, said once
            "offsets.topic.num.partitions": "1",
        }
        if not other_dirs:
            settings["log.segment.bytes"] = "1048576"
        super().__init__(workdir, settings)
        self.disk = disk

    def start(self, timeout: float = 30.0, extra_args=()) -> FullDiskBroker:  # type: ignore[no-untyped-def]
        args = [sys.executable, "-m", "kcli.server.start", str(self.properties)]
        if self.disk.namespaced:
            mount = f'mount -t tmpfs -o size={SIZE} tmpfs "$0" && exec "$@"'
            args = ["unshare", "-Urm", "sh", "-c", mount, str(self.disk.mountpoint), *args]
        self.output = []
        self.proc = start_and_wait(args, self.workdir, self.marker, self.output, timeout)
        self.disk.pid = self.proc.pid
        return self


def _produce(bootstrap: str, count: int, start: int) -> tuple[dict[int, bytes], list[KafkaError]]:
    """``count`` records with acks=all and no retries: (acked by offset, delivery errors)."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "retries": 0,
            "linger.ms": 5,
            "message.timeout.ms": 10000,
            "log_level": 0,
        }
    )
    acked: dict[int, bytes] = {}
    errors: list[KafkaError] = []

    def on_delivery(err, msg):  # type: ignore[no-untyped-def]
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            errors.append(err)

    for i in range(start, start + count):
        producer.produce("full", value=f"record-{i:06d}-".encode().ljust(1000, b"."), on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    return acked, errors


def test_full_disk_answers_storage_errors_keeps_serving_reads_and_loses_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "small") as disk:
        broker = FullDiskBroker(tmp_path / "run", disk).start()
        try:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            admin.create_topics([NewTopic("full", 1, 1)])["full"].result(30)
            acked, errors = _produce(broker.bootstrap, 300, 0)
            assert len(acked) == 300 and not errors
            records, _ = read_partition(broker.bootstrap, "full", 0)  # the group coordinator's topic too
            assert dict(records) == acked

            filler = disk.fill()
            more, errors = _produce(broker.bootstrap, 200, 300)
            acked.update(more)
            assert errors and {e.code() for e in errors} == {KafkaError.KAFKA_STORAGE_ERROR}
            records, fetch_errors = read_partition(broker.bootstrap, "full", 0)
            assert not fetch_errors and dict(records) == acked  # reads are served while full

            with pytest.raises(KafkaException) as created:
                admin.create_topics([NewTopic("while-full", 3, 1)])["while-full"].result(30)
            assert created.value.args[0].code() == KafkaError.KAFKA_STORAGE_ERROR
            assert "No space left on device" in created.value.args[0].str()
            assert "while-full" not in admin.list_topics(timeout=10).topics  # taken back
            assert not list((disk.view / "logs").glob("while-full-*"))

            filler.unlink()
            more, errors = _produce(broker.bootstrap, 50, 500)
            assert len(more) == 50 and not errors
            acked.update(more)
            output = "".join(broker.output)
            failing = [line for line in lines(output, "ERROR") if "No space left on device" in line]
            assert len(failing) == 1 and "KAFKA_STORAGE_ERROR" in failing[0], output
            assert len(lines(output, "ERROR")) == 1, output
            assert len([line for line in lines(output, "INFO") if "accepts writes again" in line]) == 1
            assert "Traceback" not in output

            disk.fill()  # and shut down on a full disk
            assert broker.stop() == 0
            output = "".join(broker.output)
            assert "Fatal error during KafkaServer startup" not in output and "Traceback" not in output, (
                output
            )
            for filler in disk.view.glob("filler-*") if not disk.namespaced else ():
                filler.unlink()
        finally:
            broker.kill()
        if disk.namespaced:
            return  # the tmpfs went with the broker's namespace: nothing left to restart on
        broker.start()
        try:
            records, errors = read_partition(broker.bootstrap, "full", 0)
            assert not errors
            assert {o: v for o, v in records if o in acked} == acked  # every acknowledged record
        finally:
            assert broker.stop() == 0
        shutil.rmtree(tmp_path / "run", ignore_errors=True)
