"""Log dirs and their metadata, damaged or rearranged: never a silent deletion, never a traceback."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from confluent_kafka.admin import AdminClient

from kcli.server.cluster.metadata_log import METADATA_DIR
from kcli.server.storage.catalog import CATALOG_FILE
from tests.faults.helpers import PARTITIONS, TOPICS, Copy, lines, read_partition, start_expecting_refusal


def _snapshot(copy: Copy) -> dict[str, bytes]:
    """Every segment file's bytes, by path relative to the copy."""
    return {
        str(p.relative_to(copy.root)): p.read_bytes() for d in (copy.a, copy.b) for p in d.glob("*-*/*.log")
    }


def _assert_refused(copy: Copy, code: int, output: str, *names: str) -> None:
    errors = lines(output, "ERROR")
    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(errors) == 1, output
    for name in names:
        assert name in errors[0], errors[0]


def test_reordered_log_dirs_keep_every_topic_and_record(copy: Copy) -> None:
    before = _snapshot(copy)
    broker = copy.broker(log_dirs="b,a").start()
    try:
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).topics
        assert set(TOPICS) <= set(topics)
        for topic in TOPICS:
            for p in range(PARTITIONS):
                records, errors = read_partition(broker.bootstrap, topic, p)
                assert not errors
                assert [v for _, v in records] == copy.records[(topic, p)]
    finally:
        assert broker.stop() == 0
    assert set(before) <= set(_snapshot(copy))


def test_deleted_catalog_starts_from_the_metadata_log_and_deletes_nothing(copy: Copy) -> None:
    """The topics are in the metadata log (``__cluster_metadata-0``); the catalog is the broker's
    cache of them and of its log dirs, so losing it loses nothing."""
    catalog = next(p for p in (copy.a / CATALOG_FILE, copy.b / CATALOG_FILE) if p.exists())
    catalog.unlink()
    before = _snapshot(copy)
    broker = copy.broker().start()
    try:
        assert set(TOPICS) <= set(
            AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).topics
        )
        for p in range(PARTITIONS):
            records, errors = read_partition(broker.bootstrap, "alpha", p)
            assert not errors and [v for _, v in records] == copy.records[("alpha", p)]
    finally:
        assert broker.stop() == 0
    assert set(before) <= set(_snapshot(copy))


def test_deleted_metadata_log_refuses_to_start_and_deletes_nothing(copy: Copy) -> None:
    metadata = next(d / METADATA_DIR for d in (copy.a, copy.b) if (d / METADATA_DIR).is_dir())
    shutil.rmtree(metadata)
    before = _snapshot(copy)
    code, output = start_expecting_refusal(copy.broker())
    _assert_refused(copy, code, output, METADATA_DIR, "topic catalog")
    assert _snapshot(copy) == before


def test_deleted_metadata_log_and_catalog_refuse_to_start_and_delete_nothing(copy: Copy) -> None:
    for d in (copy.a, copy.b):
        shutil.rmtree(d / METADATA_DIR, ignore_errors=True)
        (d / CATALOG_FILE).unlink(missing_ok=True)
    before = _snapshot(copy)
    code, output = start_expecting_refusal(copy.broker())
    _assert_refused(copy, code, output, METADATA_DIR, "partition directories")
    assert _snapshot(copy) == before


def test_truncated_catalog_refuses_to_start(copy: Copy) -> None:
    catalog = next(p for p in (copy.a / CATALOG_FILE, copy.b / CATALOG_FILE) if p.exists())
    catalog.write_bytes(catalog.read_bytes()[: catalog.stat().st_size // 2])
    before = _snapshot(copy)
    code, output = start_expecting_refusal(copy.broker())
    _assert_refused(copy, code, output, str(catalog), "damaged")
    assert _snapshot(copy) == before


def test_deleted_meta_properties_of_a_dir_with_data_refuses_to_start(copy: Copy) -> None:
    (copy.b / "meta.properties").unlink()
    broker = copy.broker()
    code, output = start_expecting_refusal(broker)
    _assert_refused(copy, code, output, f"No meta.properties in {copy.b}", "kafka-storage format")
    assert not (copy.b / "meta.properties").exists()
    # The way out the line gives works: format the directory again with the cluster's id.
    command = re.search(r"kafka-storage format (--ignore-formatted -t \S+) -c", lines(output, "ERROR")[0])
    assert command is not None
    args = [*command.group(1).split(), "-c", str(broker.properties)]
    done = subprocess.run(
        [sys.executable, "-m", "kcli.server.storage_tool", "format", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    broker.start()
    try:
        for p in range(PARTITIONS):
            records, errors = read_partition(broker.bootstrap, "beta", p)
            assert not errors and [v for _, v in records] == copy.records[("beta", p)]
    finally:
        assert broker.stop() == 0


def test_garbage_meta_properties_refuses_to_start(copy: Copy) -> None:
    (copy.a / "meta.properties").write_bytes(bytes(range(256)) * 4)
    code, output = start_expecting_refusal(copy.broker())
    _assert_refused(copy, code, output, str(copy.a / "meta.properties"))


@pytest.mark.parametrize(
    "name",
    ["replication-offset-checkpoint", "recovery-point-offset-checkpoint", "log-start-offset-checkpoint"],
)
def test_garbage_checkpoint_reads_as_absent_with_a_warning(copy: Copy, name: str) -> None:
    for d in (copy.a, copy.b):
        (d / name).write_bytes(bytes(range(256)) * 4)
    broker = copy.broker().start()
    try:
        warnings = [line for line in lines(broker.output, "WARN") if name in line]
        assert len(warnings) == 2, broker.output
        for p in range(PARTITIONS):
            records, errors = read_partition(broker.bootstrap, "alpha", p)
            assert not errors and [v for _, v in records] == copy.records[("alpha", p)]
    finally:
        assert broker.stop() == 0
    assert "Traceback" not in "".join(broker.output)


def test_partition_unknown_to_the_catalog_is_kept_as_stray(copy: Copy) -> None:
    source = copy.partition_dir("alpha", 0)
    ghost = source.parent / "ghost-0"
    shutil.copytree(source, ghost)
    files = {p.name: p.read_bytes() for p in ghost.iterdir() if p.suffix == ".log"}
    broker = copy.broker().start()
    try:
        strays = list(ghost.parent.glob("ghost-0.*-stray"))
        assert not ghost.exists() and len(strays) == 1
        assert {p.name: p.read_bytes() for p in strays[0].iterdir() if p.suffix == ".log"} == files
        assert any("ghost-0" in line and "stray" in line for line in lines(broker.output, "WARN"))
        assert (
            "ghost" not in AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).topics
        )
    finally:
        assert broker.stop() == 0
    broker.start()  # kept across restarts, said once per start
    try:
        assert strays[0].is_dir()
    finally:
        assert broker.stop() == 0


def test_log_dir_missing_from_log_dirs_refuses_to_start(copy: Copy) -> None:
    holding_b = [f"{t}-{p}" for t in TOPICS for p in range(PARTITIONS) if (copy.b / f"{t}-{p}").is_dir()]
    assert holding_b
    code, output = start_expecting_refusal(copy.broker(log_dirs="a"))
    # The catalog names the dir where it last saw it (the template's, which this copy came from).
    _assert_refused(copy, code, output, "/b (directory.id", holding_b[0])
    assert not (copy.a / holding_b[0]).exists()
