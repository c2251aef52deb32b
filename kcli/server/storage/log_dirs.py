"""Log directories that describe themselves: ``meta.properties`` in each, checked at start-up.

As in Kafka (``MetaPropertiesEnsemble``), every log directory carries its own ``meta.properties``
with ``cluster.id``, ``node.id`` and (KRaft) a ``directory.id``, so the broker recognises its
directories whatever their order in ``log.dirs``. Start-up checks them the way Kafka does and
refuses, with one line naming the file and what to do, when they are unreadable, disagree with
each other or with ``node.id``, or when a directory holds partition data but its
``meta.properties`` is gone (Kafka refuses a missing ``meta.properties`` in its metadata
directory; kcli refuses it wherever data would otherwise be adopted without a word). A directory
that holds nothing is formatted, so a student who skipped ``kafka-storage format`` still starts.

The topic catalog (kcli's stand-in for the KRaft metadata log) lives in one of the directories;
:func:`find_catalog_dir` finds it wherever it is instead of assuming the first one.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kcli.properties import parse_properties
from kcli.protocol.uuids import encode_cluster_id, random_uuid
from kcli.server.storage.catalog import CATALOG_FILE
from kcli.server.storage.checkpoints import parse_partition_dir
from kcli.server.storage.errors import StorageStartupError

log = logging.getLogger("kafka.server.KafkaServer")

META_PROPERTIES = "meta.properties"
STRAY_SUFFIX = "-stray"
DELETE_SUFFIX = "-delete"
# Kafka's Topic.CLUSTER_METADATA_TOPIC_NAME: its log (the metadata log, kcli.server.cluster) lives
# among the partitions but is not one: LogManager neither loads it nor takes it for a stray.
METADATA_TOPIC = "__cluster_metadata"
_MAX_DIR_NAME = 255


@dataclass(frozen=True)
class MetaProperties:
    """One directory's ``meta.properties``: version 0 (ZooKeeper mode) or 1 (KRaft)."""

    version: int
    cluster_id: str | None
    node_id: int | None
    directory_id: str | None
    props: dict[str, str]


def read_meta_properties(log_dir: Path) -> MetaProperties | None:
    """The directory's ``meta.properties``; None when there is none, StorageStartupError when it
    cannot be read or lacks what its version requires (Kafka's MetaProperties rules)."""
    path = log_dir / META_PROPERTIES
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise damaged_meta(path, exc.strerror or str(exc)) from None
    try:
        props = parse_properties(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise damaged_meta(path, "it is not a text file") from None
    version_text = props.get("version", "0").strip()
    if version_text not in ("0", "1"):
        raise damaged_meta(path, f"unknown version '{version_text[:20]}'")
    version = int(version_text)
    cluster_id = props.get("cluster.id", "").strip() or None
    id_text = (props.get("node.id") if version == 1 else props.get("broker.id", props.get("node.id"))) or ""
    node_id: int | None = None
    if id_text.strip():
        try:
            node_id = int(id_text.strip())
        except ValueError:
            raise damaged_meta(path, f"node.id '{id_text[:20]}' is not a number") from None
    if version == 1 and cluster_id is None:
        raise damaged_meta(path, "cluster.id was not specified in the v1 file")
    if version == 1 and node_id is None:
        raise damaged_meta(path, "node.id was not specified")
    if cluster_id is None and node_id is None:
        raise damaged_meta(path, "it holds neither cluster.id nor a node id")
    directory_id = props.get("directory.id", "").strip() or None
    return MetaProperties(version, cluster_id, node_id, directory_id, props)


class MetaPropertiesError(StorageStartupError):
    """A ``meta.properties`` that cannot be used; the message says how to write it again."""

    def __init__(self, path: Path, what: str, cluster_id: str | None = None):
        super().__init__(
            f"Error while reading meta.properties file {path}: {what}. Restore it from a backup, or "
            "delete it and write it again with: kafka-storage format --ignore-formatted "
            f"-t {cluster_id or '<cluster id>'} -c <server.properties>",
            what,
        )
        self.path = path


def damaged_meta(path: Path, what: str, cluster_id: str | None = None) -> MetaPropertiesError:
    return MetaPropertiesError(path, what, cluster_id)


def read_meta(log_dir: Path) -> dict[str, str] | None:
    """The raw keys of ``meta.properties`` (None when absent), for the storage tool and controller."""
    meta = read_meta_properties(log_dir)
    return None if meta is None else dict(meta.props)


def write_meta(
    log_dir: Path, cluster_id: str, node_id: int, kraft: bool, directory_id: str | None = None
) -> None:
    """Write ``meta.properties`` as Kafka does (v1 with a directory id in KRaft mode, v0 with
    broker.id otherwise), atomically: a crash never leaves half a file behind."""
    log_dir.mkdir(parents=True, exist_ok=True)
    id_key = "node.id" if kraft else "broker.id"
    lines = [
        "#",
        f"#{time.strftime('%a %b %d %H:%M:%S %Z %Y')}",
        f"{id_key}={node_id}",
        "version=1" if kraft else "version=0",
        f"cluster.id={cluster_id}",
    ]
    if kraft:
        lines.append(f"directory.id={directory_id or encode_cluster_id(random_uuid())}")
    path = log_dir / META_PROPERTIES
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def partition_dirs(log_dir: Path) -> list[Path]:
    """The ``<topic>-<partition>`` directories of a log directory (not -delete or -stray ones)."""
    try:
        return sorted(p for p in log_dir.iterdir() if p.is_dir() and parse_partition_dir(p.name))
    except FileNotFoundError:
        return []


def holds_data(log_dir: Path) -> list[str]:
    """What in ``log_dir`` the broker wrote (partition, stray and to-be-deleted directories, the
    topic catalog): a directory holding any of it is not a blank one to format."""
    try:
        entries = list(log_dir.iterdir())
    except FileNotFoundError:
        return []
    found = []
    for p in sorted(entries):
        if p.name == CATALOG_FILE or (
            p.is_dir() and (parse_partition_dir(p.name) or p.name.endswith((STRAY_SUFFIX, DELETE_SUFFIX)))
        ):
            found.append(p.name)
    return found


@dataclass
class LogDirsIdentity:
    """What start-up learnt from the log directories' ``meta.properties`` files."""

    cluster_id: str
    directory_ids: dict[Path, str]  # KRaft only: each directory's directory.id


def ensure_formatted(
    log_dirs: Sequence[Path], node_id: int, kraft: bool, cluster_id: str | None = None
) -> LogDirsIdentity:
    """Check every log directory's ``meta.properties`` as Kafka does; format blank directories.

    ``cluster_id`` (from ZooKeeper or the controller) is used only when no directory has one.
    """
    metas: dict[Path, MetaProperties | None] = {}
    damaged: list[MetaPropertiesError] = []
    for d in log_dirs:
        try:
            metas[d] = read_meta_properties(d)
        except MetaPropertiesError as exc:
            damaged.append(exc)
    known = [(d, m) for d, m in metas.items() if m is not None]
    found = next((m.cluster_id for _, m in known if m.cluster_id), None)
    if damaged:  # named with the cluster id the other directories hold, when they hold one
        raise MetaPropertiesError(damaged[0].path, damaged[0].what, found or cluster_id)
    _verify(known, node_id)
    blank = [d for d, m in metas.items() if m is None]
    for d in blank:
        data = holds_data(d)
        if data:
            example = ", ".join(data[:3]) + (f" and {len(data) - 3} more" if len(data) > 3 else "")
            raise StorageStartupError(
                f"No meta.properties in {d}, but it holds data ({example}): the file was deleted or the "
                "directory was never formatted for this broker. Restore it from a backup, or write it "
                f"again with: kafka-storage format --ignore-formatted -t {found or '<cluster id>'} "
                "-c <server.properties>"
            )
    if found is None:
        found = cluster_id or encode_cluster_id(random_uuid())
        log.info(
            "Formatting %s with cluster.id %s (the log directory was not formatted; "
            "kafka-storage format does this explicitly)",
            ",".join(str(d) for d in blank),
            found,
        )
    elif blank:
        log.info("Formatting %s with cluster.id %s", ",".join(str(d) for d in blank), found)
    ids: dict[Path, str] = {}
    for d in blank:
        directory_id = encode_cluster_id(random_uuid())
        write_meta(d, found, node_id, kraft, directory_id)
        ids[d] = directory_id
    for d, m in known:
        if m.directory_id:
            ids[d] = m.directory_id
        elif kraft and m.version == 1:
            # Kafka gives every KRaft log directory a directory.id, rewriting older files.
            log.info("Rewriting %s", d / META_PROPERTIES)
            ids[d] = encode_cluster_id(random_uuid())
            write_meta(
                d, m.cluster_id or found, m.node_id if m.node_id is not None else node_id, True, ids[d]
            )
    return LogDirsIdentity(found, ids)


def _verify(known: list[tuple[Path, MetaProperties]], node_id: int) -> None:
    """Kafka's ``MetaPropertiesEnsemble.verify``: one cluster, this node, distinct directory ids."""
    expected_cluster: str | None = None
    seen: dict[str, Path] = {}
    for d, meta in known:
        path = d / META_PROPERTIES
        if meta.cluster_id is not None:
            if expected_cluster is None:
                expected_cluster = meta.cluster_id
            elif meta.cluster_id != expected_cluster:
                raise StorageStartupError(
                    f"Invalid cluster.id in: {path}. Expected {expected_cluster}, but read {meta.cluster_id}"
                )
        if meta.node_id is not None and meta.node_id != node_id:
            raise StorageStartupError(
                f"Stored node id {meta.node_id} doesn't match previous node id {node_id} in {path}. If you "
                "moved your data, make sure your configured node id matches. If you intend to create a "
                "new node, you should remove all data in your data directories."
            )
        if meta.directory_id:
            previous = seen.get(meta.directory_id)
            if previous is not None:
                raise StorageStartupError(
                    f"Duplicate directory ID {meta.directory_id} found. It was the ID of {previous}, "
                    f"but also of {d}"
                )
            seen[meta.directory_id] = d


def find_catalog_dir(log_dirs: Sequence[Path]) -> Path | None:
    """The log directory holding the topic catalog, whatever its place in ``log.dirs``."""
    found = [d for d in log_dirs if (d / CATALOG_FILE).exists()]
    if len(found) > 1:
        raise StorageStartupError(
            f"Found a topic catalog ({CATALOG_FILE}) in {found[0]} and in {found[1]}: only one of "
            "log.dirs may hold it. Keep the current one and move the other out of the log directory."
        )
    return found[0] if found else None


def stray_dir_name(topic: str, partition: int) -> str:
    """Kafka's name for a log moved aside: ``<topic>-<partition>.<unique id>-stray``, capped at
    255 characters by shortening the topic."""
    suffix = f"-{partition}.{uuid.uuid4().hex}{STRAY_SUFFIX}"
    return topic[: _MAX_DIR_NAME - len(suffix)] + suffix


def partitions_on_disk(log_dirs: Sequence[Path]) -> dict[tuple[str, int], Path]:
    """Every ``<topic>-<partition>`` directory of the log dirs (the first one of duplicates)."""
    found: dict[tuple[str, int], Path] = {}
    for d in log_dirs:
        for path in partition_dirs(d):
            tp = parse_partition_dir(path.name)
            if tp is not None and tp[0] != METADATA_TOPIC:
                found.setdefault(tp, path)
    return found


def check_catalog_against_disk(
    catalog_path: Path | None,
    partitions: Sequence[tuple[str, int]],
    on_disk: dict[tuple[str, int], Path],
    log_dirs: Sequence[Path],
    known_dirs: dict[str, str],
    directory_ids: dict[Path, str],
) -> list[tuple[str, int]]:
    """Start-up check of the topic catalog (one broker, which owns it) against the log dirs.

    Refuses to start when partition data is on disk but no catalog accounts for it (reading a
    missing catalog as empty is what once deleted every topic), and when partitions of the
    catalog have no directory while a log dir that was in use is no longer in ``log.dirs``.
    Returns the catalog's partitions that have no directory (the caller creates them empty).
    """
    if catalog_path is None:
        if on_disk:
            example = ", ".join(str(p) for p in list(on_disk.values())[:3])
            more = f" and {len(on_disk) - 3} more" if len(on_disk) > 3 else ""
            raise StorageStartupError(
                f"No topic catalog ({CATALOG_FILE}) in any of log.dirs ({', '.join(map(str, log_dirs))}), "
                f"but they hold {len(on_disk)} partition directories ({example}{more}): the catalog was "
                "deleted or log.dirs lists other directories than before. Restore the catalog from a "
                "backup, or move the partition directories out of log.dirs to start without topics."
            )
        return []
    missing = [tp for tp in partitions if tp not in on_disk]
    if not missing:
        return []
    present = set(directory_ids.values())
    gone = {i: p for i, p in known_dirs.items() if i not in present}
    if gone:
        names = ", ".join(f"{t}-{p}" for t, p in missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        dirs = ", ".join(f"{p} (directory.id {i})" for i, p in gone.items())
        raise StorageStartupError(
            f"The topic catalog {catalog_path} lists partitions that no log dir holds ({names}), and the "
            f"log dir {dirs} that was in use before is not in log.dirs or not mounted. Add it back to "
            "log.dirs; if its data is gone for good, create an empty directory for each of those "
            "partitions in one of log.dirs to start them empty."
        )
    return missing


def report_missing_partitions(missing: Sequence[tuple[str, int]], log_dirs: Sequence[Path]) -> None:
    """Say so for each partition of the catalog that starts empty for want of a directory: an
    ERROR when a checkpoint shows it held records (they are gone), a WARN otherwise."""
    from kcli.server.storage.checkpoints import LogDirCheckpoints

    for tp in missing:
        held = max((LogDirCheckpoints.for_dir(d).high_watermarks.get(tp, 0) for d in log_dirs), default=0)
        if held > 0:
            log.error(
                "The directory of partition %s-%d is gone although the checkpoint recorded records up to "
                "its high watermark %d: they are lost; the partition starts empty",
                tp[0],
                tp[1],
                held,
            )
        else:
            log.warning("No log directory for partition %s-%d of the topic catalog: starting it empty", *tp)
