"""Where source connectors' offsets live: a file (standalone) or the offsets topic (distributed).

Both use Kafka's key and value format: the key is the JSON array ``["<connector>", <source
partition>]`` and the value the JSON source offset, written compactly as Kafka's internal
JsonConverter (schemas off) writes them, e.g. ``["local-file-source",{"filename":"test.txt"}]`` ->
``{"position":22}``. In the offsets topic that is byte for byte what Kafka's workers write (keys
partitioned with murmur2 like Java's producer), so ``kafka-console-consumer --topic connect-offsets
--property print.key=true`` shows the same lines. Kafka's standalone file is a Java-serialised map;
kcli's is JSON with the same keys and values (readable, not interchangeable with a JVM worker's).
A worker writes offsets only after Kafka acknowledged the records they cover (at-least-once).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

from kcli.connect.json_converter import dumps


def offset_key(connector: str, partition: dict[str, Any] | None) -> bytes:
    return dumps([connector, partition])


def parse_key(key: bytes) -> tuple[str, dict[str, Any] | None] | None:
    try:
        decoded = orjson.loads(key)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(decoded, list) or len(decoded) != 2 or not isinstance(decoded[0], str):
        return None
    return decoded[0], decoded[1]


class OffsetStore:
    """In-memory offsets by key bytes, persisted by subclasses."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.lock = threading.Lock()

    def get(self, connector: str, partition: dict[str, Any] | None) -> dict[str, Any] | None:
        with self.lock:
            raw = self.data.get(offset_key(connector, partition))
        return orjson.loads(raw) if raw is not None else None

    def connector_offsets(self, connector: str) -> list[dict[str, Any]]:
        """``GET /connectors/{name}/offsets``'s entries: ``{"partition": ..., "offset": ...}``."""
        out = []
        with self.lock:
            items = list(self.data.items())
        for key, value in items:
            parsed = parse_key(key)
            if parsed is not None and parsed[0] == connector:
                out.append({"partition": parsed[1], "offset": orjson.loads(value)})
        return out

    def put(self, connector: str, offsets: list[tuple[dict[str, Any] | None, dict[str, Any] | None]]) -> None:
        entries = {offset_key(connector, p): (dumps(o) if o is not None else None) for p, o in offsets}
        self._write(entries)

    def _apply(self, entries: dict[bytes, bytes | None]) -> None:
        with self.lock:
            for key, value in entries.items():
                if value is None:
                    self.data.pop(key, None)
                else:
                    self.data[key] = value

    def _write(self, entries: dict[bytes, bytes | None]) -> None:
        self._apply(entries)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class FileOffsetStore(OffsetStore):
    """``offset.storage.file.filename``: the whole map rewritten atomically (and fsynced) on each flush."""

    def __init__(self, path: str):
        super().__init__()
        self.path = Path(path).expanduser()

    def start(self) -> None:
        if not self.path.exists():
            return
        try:
            raw = orjson.loads(self.path.read_bytes() or b"{}")
        except (orjson.JSONDecodeError, OSError) as exc:
            from kcli.connect.errors import ConfigError

            raise ConfigError(
                f"{self.path} is not a kcli Connect offsets file ({exc}); move it away or point "
                "offset.storage.file.filename elsewhere"
            ) from None
        if isinstance(raw, dict):
            self.data = {k.encode(): v.encode() for k, v in raw.items() if isinstance(v, str)}

    def _write(self, entries: dict[bytes, bytes | None]) -> None:
        self._apply(entries)
        with self.lock:
            snapshot = {k.decode(): v.decode() for k, v in self.data.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "wb") as out:
            out.write(orjson.dumps(snapshot))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)


class TopicOffsetStore(OffsetStore):
    """``offset.storage.topic``: every worker reads the whole topic; writes wait for acknowledgement."""

    def __init__(self, log_factory: Any):
        super().__init__()
        self.log = log_factory(self._on_record)

    def _on_record(self, key: bytes | None, value: bytes | None, _partition: int) -> None:
        if key is not None:
            self._apply({key: value})

    def start(self) -> None:
        self.log.start()

    def _write(self, entries: dict[bytes, bytes | None]) -> None:
        for key, value in entries.items():
            self.log.send(key, value)
        self._apply(entries)

    def stop(self) -> None:
        self.log.stop()
