"""The admin tools' connection for requests confluent-kafka has no call for: one-line ToolErrors.

librdkafka has no ListTransactions, DescribeTransactions, DescribeProducers or WriteTxnMarkers
(the Java AdminClient's listTransactions, describeTransactions, describeProducers and
abortTransaction), nor DescribeQuorum or the reassignment calls, so ``kafka-transactions``,
``kafka-metadata-quorum``, ``kafka-reassign-partitions`` and ``kafka-log-dirs`` send them
themselves over :class:`kcli.protocol.connection.BrokerConnection` (kio, Kafka's own message
schemas), on PLAINTEXT listeners. Requests go to the broker that must answer them: the
coordinator of a transactional id, the leader of a partition, every broker for a listing. A
connection here is kept for several requests, and a response can be read raw (:class:`Reader`)
where kio's reader is stricter than Kafka's data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from kcli.protocol.connection import BrokerConnection, WireError
from kcli.tools.cli import ToolError

CLIENT_ID = "kcli"


@dataclass(frozen=True)
class Node:
    node_id: int
    host: str
    port: int


class Connection:
    """One socket to one broker, opened on first use; one request in flight at a time."""

    def __init__(self, host: str, port: int, timeout_s: float = 30.0):
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        self._conn = BrokerConnection(host, port, timeout_s, CLIENT_ID, connect=False)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def open(self) -> None:
        """Connect now (when not connected yet): ToolError when the broker cannot be reached."""
        try:
            self._conn.open()
        except WireError as exc:
            raise ToolError(f"Connection to {self.host}:{self.port} failed: {_reason(exc)}") from None

    def raw(self, api_key: int, version: int, body: dict[str, Any]) -> tuple[bytes, int]:
        """Send one request; returns the response frame and where its body starts."""
        self.open()
        try:
            return self._conn.raw(api_key, version, body)
        except WireError as exc:
            raise self._failed(exc) from None

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        """Send one request and decode its response with kio."""
        self.open()
        try:
            return self._conn.request(api_key, version, body)
        except WireError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: WireError) -> ToolError:
        if exc.kind == "mismatch":
            return ToolError(f"{self.host}:{self.port} answered another request")
        self.close()
        return ToolError(f"Request to {self.host}:{self.port} failed: {_reason(exc)}")


def _reason(exc: WireError) -> str:
    cause = exc.__cause__
    if isinstance(cause, OSError):
        return cause.strerror or str(cause)
    return str(cause or exc)


def check_plaintext(conf: dict[str, str]) -> None:
    protocol = conf.get("security.protocol", "PLAINTEXT").upper()
    if protocol != "PLAINTEXT":
        raise ToolError(
            f"security.protocol={protocol} is not supported by this tool: it speaks to the brokers directly "
            "(the Python admin client has no transaction APIs) and needs a PLAINTEXT listener"
        )


class Reader:
    """Reads a flexible-version message by hand (for fields kio's reader rejects, such as the
    ``-1`` a transaction start time holds when there is none)."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ToolError("The broker's response is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int8(self) -> int:
        return struct.unpack(">b", self._take(1))[0]

    def int16(self) -> int:
        return struct.unpack(">h", self._take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def int64(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def compact_string(self) -> str | None:
        n = self.uvarint() - 1
        return None if n < 0 else self._take(n).decode()

    def compact_array_len(self) -> int:
        return self.uvarint() - 1

    def skip_tagged(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self._take(self.uvarint())
