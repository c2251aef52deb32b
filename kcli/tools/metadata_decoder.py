"""``kafka-dump-log --cluster-metadata-decoder``: KRaft metadata records as Kafka prints them.

A record of ``__cluster_metadata`` (kcli's metadata log, or Kafka's) prints as Kafka's
ClusterMetadataLogMessageParser prints it: ``{"type":"TOPIC_RECORD","version":0,"data":{...}}``,
or ``Error at OFFSET, skipping. MESSAGE`` for bytes that are not a record it knows. Control
records (snapshot header and footer, KRaft version, leader change) print after the record's
metadata as Kafka's DumpLogSegments prints them, decoder or not.
"""

from __future__ import annotations

import json
from typing import Any

from kcli.protocol.metadata_records import MetadataParseError, decode, dumps

# ControlRecordType ids and names (org.apache.kafka.common.record.ControlRecordType).
CONTROL_TYPES = {
    0: "ABORT",
    1: "COMMIT",
    2: "LEADER_CHANGE",
    3: "SNAPSHOT_HEADER",
    4: "SNAPSHOT_FOOTER",
    5: "KRAFT_VERSION",
    6: "KRAFT_VOTERS",
}


def payload(value: bytes | None, offset: int) -> str:
    """A metadata record's payload text, as Kafka's decoder prints it."""
    try:
        if value is None:
            raise MetadataParseError("the record has no value")
        return dumps(decode(value))
    except (MetadataParseError, UnicodeDecodeError) as exc:
        return f"Error at {offset}, skipping. {exc}"


def control_type(key: bytes | None) -> int:
    """ControlRecordType.parseTypeId: int16 version, int16 type; -1 when unreadable."""
    if key is None or len(key) < 4:
        return -1
    return int.from_bytes(key[2:4], "big", signed=True)


def control_text(key: bytes | None, value: bytes | None) -> str | None:
    """What DumpLogSegments prints for a KRaft control record (None for transaction markers,
    which the caller prints as it always does)."""
    kind = control_type(key)
    if kind in (0, 1):
        return None
    try:
        if kind == 3:
            return " SnapshotHeader " + _json("snapshot_header_record", value)
        if kind == 4:
            return " SnapshotFooter " + _json("snapshot_footer_record", value)
        if kind == 5:
            return " KRaftVersion " + _json("k_raft_version_record", value)
    except Exception as exc:  # a damaged control record: say so, as for any record
        return f" controlType: {CONTROL_TYPES.get(kind, 'UNKNOWN')}({kind}) ({exc})"
    return f" controlType: {CONTROL_TYPES.get(kind, 'UNKNOWN')}({kind})"


def _json(schema: str, value: bytes | None) -> str:
    """A control record's value as Kafka's generated JSON converter writes it."""
    import dataclasses
    import importlib

    from kio.serial import entity_reader

    module = importlib.import_module(f"kio.schema.{schema}.v0.data")
    cls = next(
        v
        for v in vars(module).values()
        if dataclasses.is_dataclass(v) and getattr(v, "__module__", "") == module.__name__
    )
    entity, _ = entity_reader(cls)(value or b"", 0)
    return json.dumps(_camel(dataclasses.asdict(entity)), separators=(",", ":"))


def _camel(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        head, *rest = key.split("_")
        name = head + "".join(part[:1].upper() + part[1:] for part in rest)
        out[name.replace("KRaft", "kRaft") if name.startswith("kRaft") else name] = (
            int(value) if isinstance(value, int) else value
        )
    return out
