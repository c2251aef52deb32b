"""KIP-853's voter set in the metadata log: ``--initial-controllers``/``--standalone`` at format
time, and what a controller configured with ``controller.quorum.bootstrap.servers`` (rather than a
static ``controller.quorum.voters``) reads back at start.

Kafka's layout: ``kafka-storage format`` writes the bootstrap snapshot
``__cluster_metadata-0/00000000000000000000-0000000000.checkpoint`` into the metadata directory of
every initial controller - a SnapshotHeader, a KRaftVersion control record (``kraft.version=1``)
and a VotersRecord (each voter's id, directory id and controller endpoint), then a SnapshotFooter,
in the record batch format of any snapshot. kcli writes the same file, byte for byte in layout, so
``kafka-dump-log --cluster-metadata-decoder`` and Kafka's own tools read it.

The set changes afterwards by AddRaftVoter/RemoveRaftVoter (``raft``, ``raft_node``): each change
is a VotersRecord control record in the metadata log (:func:`voters_record`), and a controller's
set is the latest one in its log (``raft_log`` keeps their history), else the bootstrap
snapshot's. kcli keeps the bootstrap snapshot when later snapshots replace the older ones (Kafka
carries the VotersRecord into every snapshot instead), so a restarted controller finds its first
voter set there.
"""

from __future__ import annotations

import base64
import io
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kio.schema.k_raft_version_record.v0.data import KRaftVersionRecord
from kio.schema.snapshot_footer_record.v0.data import SnapshotFooterRecord
from kio.schema.snapshot_header_record.v0.data import SnapshotHeaderRecord
from kio.schema.voters_record.v0.data import Endpoint, KRaftVersionFeature, Voter, VotersRecord
from kio.serial import entity_reader, entity_writer

from kcli.protocol.records import build_batch, decode_batch, iter_batches
from kcli.server.storage.log_dirs import METADATA_TOPIC

# ControlRecordType ids (Kafka's ControlRecordType): the key of a control record is (0, type).
SNAPSHOT_HEADER, SNAPSHOT_FOOTER, KRAFT_VERSION, KRAFT_VOTERS = 3, 4, 5, 6
BOOTSTRAP_SNAPSHOT = f"{0:020d}-{0:010d}.checkpoint"


def parse_voters(value: str) -> dict[int, tuple[str, int]]:
    """``controller.quorum.voters``: ``id@host:port,...``; raises ValueError with the bad entry."""
    voters: dict[int, tuple[str, int]] = {}
    for entry in (v.strip() for v in value.split(",")):
        if not entry:
            continue
        node, at, address = entry.partition("@")
        host, _, port = address.rpartition(":")
        if not at or not node.strip().isdigit() or not port.isdigit():
            raise ValueError(f"controller.quorum.voters: {entry!r} is not id@host:port")
        voters[int(node)] = (host.strip("[]") or "localhost", int(port))
    return voters


class VoterParseError(ValueError):
    """A ``--initial-controllers`` entry Kafka would refuse; the message is Kafka's."""


@dataclass(frozen=True)
class DynamicVoter:
    """One ``id@host:port:directory-id`` of ``--initial-controllers`` (Kafka's DynamicVoter)."""

    node_id: int
    host: str
    port: int
    directory_id: str  # Kafka's Uuid text: 22 characters of URL-safe base64

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.node_id}@{host}:{self.port}:{self.directory_id}"


def _uuid_from_text(text: str) -> uuid.UUID:
    if len(text) != 22:
        raise ValueError(text)
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=="))


def _uuid_to_text(value: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def parse_dynamic_voter(text: str) -> DynamicVoter:
    """Kafka's DynamicVoter.parse, with its messages."""
    text = text.strip()
    at = text.find("@")
    if at < 0:
        raise VoterParseError("No @ found in dynamic voter string.")
    if at == 0:
        raise VoterParseError("Invalid @ at beginning of dynamic voter string.")
    try:
        node_id = int(text[:at])
    except ValueError:
        raise VoterParseError("Failed to parse node id in dynamic voter string.") from None
    if node_id < 0:
        raise VoterParseError(f"Invalid negative node id {node_id} in dynamic voter string.")
    rest = text[at + 1 :]
    if not rest:
        raise VoterParseError("No hostname found after node id.")
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise VoterParseError("Hostname began with left bracket, but no right bracket was found.")
        host, rest = rest[1:end], rest[end + 1 :]
    else:
        colon = rest.find(":")
        if colon < 0:
            raise VoterParseError("No colon following hostname could be found.")
        host, rest = rest[:colon], rest[colon:]
    if not rest.startswith(":"):
        raise VoterParseError("Port section must start with a colon.")
    rest = rest[1:]
    colon = rest.find(":")
    if colon < 0:
        raise VoterParseError("No colon following port could be found.")
    try:
        port = int(rest[:colon])
    except ValueError:
        raise VoterParseError("Failed to parse port in dynamic voter string.") from None
    if not 0 <= port <= 65535:
        raise VoterParseError(f"Invalid port {port} in dynamic voter string.")
    directory_id = rest[colon + 1 :]
    try:
        _uuid_from_text(directory_id)
    except ValueError:
        raise VoterParseError("Failed to parse directory ID in dynamic voter string.") from None
    return DynamicVoter(node_id, host, port, directory_id)


def parse_dynamic_voters(text: str) -> list[DynamicVoter]:
    """Kafka's DynamicVoters.parse: comma-separated voters, each node id and directory id once."""
    voters: list[DynamicVoter] = []
    for entry in text.split(","):
        if not entry.strip():
            continue
        voter = parse_dynamic_voter(entry)
        if any(v.node_id == voter.node_id for v in voters):
            raise VoterParseError(f"Node id {voter.node_id} was specified more than once.")
        if any(v.directory_id == voter.directory_id for v in voters):
            raise VoterParseError(f"Directory id {voter.directory_id} was specified more than once.")
        voters.append(voter)
    if not voters:
        raise VoterParseError("No voters given.")
    return voters


def _serialize(entity: object) -> bytes:
    buf = io.BytesIO()
    entity_writer(type(entity))(buf, entity)  # type: ignore[arg-type]
    return buf.getvalue()


def _key(control_type: int) -> bytes:
    return (0).to_bytes(2, "big") + control_type.to_bytes(2, "big")


def voters_record(voters: list[DynamicVoter], listener_name: str) -> bytes:
    """A VotersRecord (control type 6) value: each voter's id, directory id and endpoint."""
    record = VotersRecord(
        version=0,  # type: ignore[arg-type]
        voters=tuple(
            Voter(
                voter_id=v.node_id,  # type: ignore[arg-type]
                voter_directory_id=_uuid_from_text(v.directory_id),
                endpoints=(Endpoint(name=listener_name, host=v.host, port=v.port),),  # type: ignore[arg-type]
                k_raft_version_feature=KRaftVersionFeature(
                    min_supported_version=0,  # type: ignore[arg-type]
                    max_supported_version=1,  # type: ignore[arg-type]
                ),
            )
            for v in voters
        ),
    )
    return _serialize(record)


def decode_voters_record(value: bytes) -> list[DynamicVoter]:
    found, _ = entity_reader(VotersRecord)(bytes(value), 0)
    return [
        DynamicVoter(
            int(v.voter_id),
            v.endpoints[0].host if v.endpoints else "localhost",
            int(v.endpoints[0].port) if v.endpoints else 0,
            _uuid_to_text(v.voter_directory_id or uuid.UUID(int=0)),
        )
        for v in found.voters
    ]


def write_bootstrap_snapshot(log_dir: Path, voters: list[DynamicVoter], listener_name: str) -> Path:
    """The 0-0 bootstrap snapshot with ``kraft.version=1`` and ``voters``, flushed and renamed."""
    directory = Path(log_dir) / f"{METADATA_TOPIC}-0"
    directory.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    header = SnapshotHeaderRecord(version=0, last_contained_log_timestamp=now)  # type: ignore[arg-type]
    version = KRaftVersionRecord(version=0, k_raft_version=1)  # type: ignore[arg-type]
    footer = SnapshotFooterRecord(version=0)  # type: ignore[arg-type]
    data = build_batch(
        [
            (_key(SNAPSHOT_HEADER), _serialize(header)),
            (_key(KRAFT_VERSION), _serialize(version)),
            (_key(KRAFT_VOTERS), voters_record(voters, listener_name)),
        ],
        base_offset=0,
        timestamp=now,
        is_control=True,
        partition_leader_epoch=0,
    ) + build_batch(
        [(_key(SNAPSHOT_FOOTER), _serialize(footer))],
        base_offset=3,
        timestamp=now,
        is_control=True,
        partition_leader_epoch=0,
    )
    path = directory / BOOTSTRAP_SNAPSHOT
    tmp = path.with_suffix(".checkpoint.part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_bootstrap_voters(log_dir: Path) -> list[DynamicVoter] | None:
    """The voter set of the bootstrap snapshot (the first endpoint of each voter), or None when
    there is none (a node formatted with ``--no-initial-controllers``, or not by 3.9's rules)."""
    path = Path(log_dir) / f"{METADATA_TOPIC}-0" / BOOTSTRAP_SNAPSHOT
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    for pos, header in iter_batches(data):
        if not header.is_control:
            continue
        _, records = decode_batch(data, pos)
        for rec in records:
            if rec.key is None or rec.value is None or int.from_bytes(rec.key[2:4], "big") != KRAFT_VOTERS:
                continue
            return decode_voters_record(bytes(rec.value))
    return None


def configured_voters(static: str, metadata_dir: Path) -> dict[int, tuple[str, int]]:
    """A controller's voter set: ``controller.quorum.voters`` when set (a static quorum), else
    the bootstrap snapshot's (``controller.quorum.bootstrap.servers`` and a node formatted with
    ``--standalone``/``--initial-controllers``), else none (a lone controller, or a broker)."""
    voters = parse_voters(static)
    if voters:
        return voters
    found = read_bootstrap_voters(metadata_dir) or []
    return {v.node_id: (v.host or "localhost", v.port) for v in found}
