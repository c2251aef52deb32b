"""Kafka's FileStream connectors: a file's lines into a topic, and a topic's records into a file.

As in Kafka (connect-file): the source reads ``file`` (standard input when unset) line by line
(``\\n``, ``\\r`` or ``\\r\\n`` ends a line), writes each line as a string record to ``topic``, and
records its byte position as the source offset ``{"position": N}`` of the source partition
``{"filename": file}``, so a restarted worker continues after the last line Kafka acknowledged.
It waits for a file that does not exist yet, and picks up lines appended later (``echo "Another
line" >> test.txt``). The sink appends each record's value (Java's ``toString`` of it) as a line to
``file`` (standard output when unset), creating it; a file it cannot open fails the task.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from kcli.connect.api import (
    ConfigDef,
    SinkConnector,
    SinkRecord,
    SinkTask,
    SourceConnector,
    SourceRecord,
    SourceTask,
    Stoppable,
    non_empty_string,
)
from kcli.connect.data import STRING_SCHEMA, java_string
from kcli.connect.errors import ConnectError

FILE_CONFIG = "file"
TOPIC_CONFIG = "topic"
TOPICS_CONFIG = "topics"
TASK_BATCH_SIZE_CONFIG = "batch.size"
DEFAULT_TASK_BATCH_SIZE = 2000
FILENAME_FIELD = "filename"
POSITION_FIELD = "position"

log = logging.getLogger("org.apache.kafka.connect.file.FileStreamSourceTask")
sink_log = logging.getLogger("org.apache.kafka.connect.file.FileStreamSinkTask")


def source_config_def() -> ConfigDef:
    return (
        ConfigDef()
        .define(
            FILE_CONFIG,
            "string",
            None,
            "HIGH",
            "Source filename. If not specified, the standard input will be used",
        )
        .define(TOPIC_CONFIG, "string", doc="The topic to publish data to", validator=non_empty_string)
        .define(
            TASK_BATCH_SIZE_CONFIG,
            "int",
            DEFAULT_TASK_BATCH_SIZE,
            "LOW",
            "The maximum number of records the source task can read from the file each time it is polled",
        )
    )


def sink_config_def() -> ConfigDef:
    return ConfigDef().define(
        FILE_CONFIG,
        "string",
        None,
        "HIGH",
        "Destination filename. If not specified, the standard output will be used",
    )


class FileStreamSourceConnector(SourceConnector):
    def config_def(self) -> ConfigDef:
        return source_config_def()

    def start(self, props: dict[str, str]) -> None:
        self.props = dict(props)
        filename = props.get(FILE_CONFIG) or "standard input"
        logging.getLogger("org.apache.kafka.connect.file.FileStreamSourceConnector").info(
            "Starting file source connector reading from %s", filename
        )

    def task_class(self) -> type[SourceTask]:
        return FileStreamSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.props)]  # only one input stream makes sense


class FileStreamSinkConnector(SinkConnector):
    def config_def(self) -> ConfigDef:
        return sink_config_def()

    def start(self, props: dict[str, str]) -> None:
        self.props = dict(props)

    def task_class(self) -> type[SinkTask]:
        return FileStreamSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.props) for _ in range(max_tasks)]


class FileStreamSourceTask(SourceTask):
    """Reads whole lines by bytes, so the stored position is an exact byte offset."""

    def start(self, props: dict[str, str]) -> None:
        parsed = source_config_def().parse(props)
        self.filename: str | None = parsed[FILE_CONFIG] or None
        self.topic: str = parsed[TOPIC_CONFIG]
        self.batch_size: int = parsed[TASK_BATCH_SIZE_CONFIG]
        self.stream: IO[bytes] | None = sys.stdin.buffer if self.filename is None else None
        self.position: int | None = None  # stdin's position is not tracked, as in Kafka
        self.pending = b""
        self.waiter = Stoppable()
        self.warned_missing = False

    def _open(self) -> bool:
        assert self.filename is not None
        try:
            stream = open(self.filename, "rb")  # noqa: SIM115 - kept open across polls, closed in stop()
        except FileNotFoundError:
            if not self.warned_missing:
                log.warning(
                    "Couldn't find file %s for FileStreamSourceTask, sleeping to wait for it to be created",
                    self.filename,
                )
                self.warned_missing = True
            return False
        except OSError as exc:
            raise ConnectError(f"Error while trying to open file {self.filename}: {exc}") from exc
        stored = self.context.offset({FILENAME_FIELD: self.filename})
        position = 0
        if stored is not None and stored.get(POSITION_FIELD) is not None:
            value = stored[POSITION_FIELD]
            if isinstance(value, bool) or not isinstance(value, int):
                stream.close()
                raise ConnectError("Offset position is the incorrect type")
            position = value
            stream.seek(position)
            log.debug("Skipped to offset %s", position)
        self.stream, self.position = stream, position
        return True

    def poll(self) -> list[SourceRecord] | None:
        if self.stream is None and (self.waiter.stopped or not self._open()):
            self.waiter.wait(1.0)
            return None
        assert self.stream is not None
        # stdin is read a line at a time (it blocks, as Kafka's reader does); files by the chunk.
        chunk = self.stream.readline() if self.filename is None else self.stream.read(1 << 16)
        if not chunk:
            self.waiter.wait(1.0)
            return None
        data = self.pending + chunk
        records: list[SourceRecord] = []
        start = 0
        partition = {FILENAME_FIELD: self.filename}
        while True:
            newline = _line_end(data, start)
            if newline is None:
                break
            end, next_start = newline
            if self.position is not None:
                self.position += next_start - start
            line = data[start:end].decode("utf-8", errors="replace")
            records.append(
                SourceRecord(
                    partition,
                    {POSITION_FIELD: self.position},
                    self.topic,
                    value_schema=STRING_SCHEMA,
                    value=line,
                )
            )
            start = next_start
            if len(records) >= self.batch_size:
                break
        self.pending = data[start:]
        if len(records) >= self.batch_size and self.filename is not None and self.pending:
            # Give back what was read beyond the batch so the next poll starts there.
            self.stream.seek(-len(self.pending), 1)
            self.pending = b""
        return records or None

    def stop(self) -> None:
        self.waiter.stop()
        if self.stream is not None and self.filename is not None:
            self.stream.close()


def _line_end(data: bytes, start: int) -> tuple[int, int] | None:
    """(end of the line, start of the next) for the first line ending at or after ``start``."""
    n = data.find(b"\n", start)
    r = data.find(b"\r", start, n if n >= 0 else len(data))
    if r >= 0:
        if r + 1 >= len(data):
            return None  # "\r" last: wait to see whether "\n" follows
        return r, r + 2 if data[r + 1 : r + 2] == b"\n" else r + 1
    if n >= 0:
        return n, n + 1
    return None


class FileStreamSinkTask(SinkTask):
    def start(self, props: dict[str, str]) -> None:
        self.filename: str | None = sink_config_def().parse(props)[FILE_CONFIG] or None
        if self.filename is None:
            self.out: IO[str] = sys.stdout
            return
        try:
            self.out = open(self.filename, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        except OSError as exc:
            raise ConnectError(
                f"Couldn't find or create file '{self.filename}' for FileStreamSinkTask: {exc}"
            ) from exc

    def put(self, records: list[SinkRecord]) -> None:
        write = self.out.write
        for record in records:
            write(java_string(record.value) + "\n")

    def flush(self, offsets: dict[tuple[str, int], int]) -> None:
        self.out.flush()

    def stop(self) -> None:
        if self.filename is not None and getattr(self, "out", None) is not None:
            self.out.close()
