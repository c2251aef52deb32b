"""Unit tests of the log dirs' start-up checks (meta.properties as Kafka's MetaPropertiesEnsemble
checks them) and of ``kafka-storage verify``'s checks, on files written here."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kcli.server.storage.errors import StorageStartupError
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_dirs import ensure_formatted, read_meta_properties, write_meta
from kcli.server.storage.log_manager import LogManager
from kcli.server.storage.verify import verify_log_dirs

from .helpers import batch, open_log


def test_blank_dirs_are_formatted_with_one_cluster_id_and_their_own_directory_ids(tmp_path: Path) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    identity = ensure_formatted(dirs, 1, kraft=True)
    metas = [read_meta_properties(d) for d in dirs]
    assert {m.cluster_id for m in metas} == {identity.cluster_id}
    assert {m.node_id for m in metas} == {1}
    assert len({m.directory_id for m in metas}) == 2 and set(identity.directory_ids) == set(dirs)
    # a new, empty dir joins with the cluster's id
    identity2 = ensure_formatted([*dirs, tmp_path / "c"], 1, kraft=True)
    assert identity2.cluster_id == identity.cluster_id
    assert read_meta_properties(tmp_path / "c").cluster_id == identity.cluster_id


def test_kraft_dirs_without_a_directory_id_get_one(tmp_path: Path) -> None:
    (tmp_path / "meta.properties").write_text("version=1\ncluster.id=abcdefghijklmnopqrstuv\nnode.id=0\n")
    identity = ensure_formatted([tmp_path], 0, kraft=True)
    assert read_meta_properties(tmp_path).directory_id == identity.directory_ids[tmp_path]


@pytest.mark.parametrize(
    ("b_meta", "message"),
    [
        ("version=1\ncluster.id=OTHERotherOTHERother12\nnode.id=0\n", "Invalid cluster.id in: "),
        ("version=1\ncluster.id=abcdefghijklmnopqrstuv\nnode.id=7\n", "Stored node id 7 doesn't match"),
        (
            "version=1\ncluster.id=abcdefghijklmnopqrstuv\nnode.id=0\ndirectory.id=SAME\n",
            "Duplicate directory ID",
        ),
        ("version=1\nnode.id=0\n", "cluster.id was not specified"),
        ("version=9\n", "unknown version"),
    ],
)
def test_inconsistent_meta_properties_refuse_with_kafkas_message(
    tmp_path: Path, b_meta: str, message: str
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "meta.properties").write_text(
        "version=1\ncluster.id=abcdefghijklmnopqrstuv\nnode.id=0\ndirectory.id=SAME\n"
    )
    (b / "meta.properties").write_text(b_meta)
    with pytest.raises(StorageStartupError) as exc:
        ensure_formatted([a, b], 0, kraft=True)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_dir_with_data_and_no_meta_properties_refuses(tmp_path: Path) -> None:
    write_meta(tmp_path / "a", "abcdefghijklmnopqrstuv", 0, kraft=True)
    (tmp_path / "b" / "orders-0").mkdir(parents=True)
    with pytest.raises(StorageStartupError) as exc:
        ensure_formatted([tmp_path / "a", tmp_path / "b"], 0, kraft=True)
    assert "No meta.properties in" in str(exc.value) and "-t abcdefghijklmnopqrstuv" in str(exc.value)


def test_duplicate_partition_directories_refuse_as_kafka_does(tmp_path: Path) -> None:
    for d in ("a", "b"):
        open_log(tmp_path / d, name="orders-0").close()
    with pytest.raises(StorageStartupError) as exc:
        LogManager([tmp_path / "a", tmp_path / "b"], LogConfig()).load()
    assert "Duplicate log directories for orders-0" in str(exc.value)


def _log_dir_with_data(tmp_path: Path) -> Path:
    log = open_log(tmp_path, name="orders-0", segment_bytes=600, index_interval_bytes=100)
    for i in range(12):
        log.append(batch(2, size=60, tag=f"{i}-"))
    log.close()
    write_meta(tmp_path, "abcdefghijklmnopqrstuv", 0, kraft=True)
    (tmp_path / "__kcli_catalog.json").write_text('{"topics": []}')
    return tmp_path / "orders-0"


def test_verify_passes_a_sound_log_dir(tmp_path: Path) -> None:
    _log_dir_with_data(tmp_path)
    report = verify_log_dirs([tmp_path])
    assert report.problems == [] and report.partitions == 1 and report.batches == 12
    assert report.summary().endswith("no problems found.")


def test_verify_reports_a_bad_index_entry_a_hole_and_a_damaged_checkpoint(tmp_path: Path) -> None:
    directory = _log_dir_with_data(tmp_path)
    segments = sorted(directory.glob("*.log"))
    index = segments[0].with_suffix(".index")
    raw = bytearray(index.read_bytes())
    struct.pack_into(">ii", raw, 0, *struct.unpack_from(">ii", raw, 0)[:1], 1)  # points mid-batch
    index.write_bytes(bytes(raw))
    segments[1].unlink()  # a whole segment gone: its offsets are missing
    (tmp_path / "replication-offset-checkpoint").write_text("0\n2\norders 0 5\n")
    problems = [str(p) for p in verify_log_dirs([tmp_path]).problems]
    assert len(problems) == 3, problems
    assert any(p.startswith(str(index)) and "maps offset" in p for p in problems)
    assert any("are missing before position 0" in p for p in problems)
    assert any("replication-offset-checkpoint" in p and "expected 2 entries" in p for p in problems)


def test_verify_allows_gaps_in_compacted_topics(tmp_path: Path) -> None:
    directory = _log_dir_with_data(tmp_path)
    sorted(directory.glob("*.log"))[1].unlink()
    (tmp_path / "__kcli_catalog.json").write_text(
        '{"topics": [{"name": "orders", "topic_id": "00000000-0000-0000-0000-000000000001", '
        '"replicas": [[0]], "configs": {"cleanup.policy": "compact"}}]}'
    )
    assert verify_log_dirs([tmp_path]).problems == []


def _storage_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.server.storage_tool", *args], capture_output=True, text=True, timeout=60
    )


def test_kafka_storage_info_reports_a_damaged_meta_properties_as_kafka_does(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text(
        f"process.roles=broker,controller\nnode.id=0\nlog.dirs={tmp_path / 'a'},{tmp_path / 'b'}\n"
    )
    write_meta(tmp_path / "a", "abcdefghijklmnopqrstuv", 0, kraft=True, directory_id="DIRECTORYDIRECTORYDIRE")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "meta.properties").write_bytes(b"\xff\x00\xfe")
    result = _storage_tool("info", "-c", str(config))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        "Found log directories:",
        f"  {tmp_path / 'a'}",
        f"  {tmp_path / 'b'}",
        "",
        "Found metadata: {cluster.id=abcdefghijklmnopqrstuv, directory.id=DIRECTORYDIRECTORYDIRE, node.id=0, "
        "version=1}",
        "",
        "Found problem:",
        f"  Error loading {tmp_path / 'b' / 'meta.properties'}: it is not a text file",
        "",
    ]
    verify = _storage_tool("verify", "-c", str(config))
    assert verify.returncode == 1
    assert (
        verify.stdout.splitlines()[0]
        == f"{tmp_path / 'b' / 'meta.properties'}: cannot be used: it is not a text file"
    )
