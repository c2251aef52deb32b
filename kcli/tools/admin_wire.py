"""A blocking Kafka protocol connection for the admin requests confluent-kafka has no call for.

librdkafka has no ListTransactions, DescribeTransactions, DescribeProducers or WriteTxnMarkers
(the Java AdminClient's listTransactions, describeTransactions, describeProducers and
abortTransaction), so ``kafka-transactions`` sends them itself, encoded and decoded with kio
(Kafka's own message schemas), on PLAINTEXT listeners, as ``kafka-consumer-groups
--delete-offsets`` does. Requests go to the broker that must answer them: the coordinator of a
transactional id, the leader of a partition, every broker for a listing. Frames are built by
:mod:`kcli.tools.raw_request`; a connection here is kept for several requests, and a response can
be read raw (:class:`Reader`) where kio's reader is stricter than Kafka's data.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

from kcli.tools.cli import ToolError

_LEN = struct.Struct(">i")


@dataclass(frozen=True)
class Node:
    node_id: int
    host: str
    port: int


class Connection:
    """One socket to one broker; one request in flight at a time."""

    def __init__(self, host: str, port: int, timeout_s: float = 30.0):
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._correlation = 0

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            except OSError as exc:
                raise ToolError(
                    f"Connection to {self.host}:{self.port} failed: {exc.strerror or exc}"
                ) from None
        return self._sock

    def raw(self, api_key: int, version: int, body: dict[str, Any]) -> tuple[bytes, int]:
        """Send one request; returns the response frame and where its body starts."""
        from kio.index import load_response_schema
        from kio.serial import entity_reader

        from kcli.tools.raw_request import encode, recv_exactly

        self._correlation += 1
        sock = self._socket()
        try:
            sock.sendall(encode(api_key, version, self._correlation, body))
            (size,) = _LEN.unpack(recv_exactly(sock, 4))
            frame = recv_exactly(sock, size)
        except OSError as exc:
            self.close()
            raise ToolError(f"Request to {self.host}:{self.port} failed: {exc.strerror or exc}") from None
        response_cls = load_response_schema(api_key, version)
        header, used = entity_reader(response_cls.__header_schema__)(frame, 0)
        if header.correlation_id != self._correlation:
            raise ToolError(f"{self.host}:{self.port} answered another request")
        return frame, used

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        """Send one request and decode its response with kio."""
        from kio.index import load_response_schema
        from kio.serial import entity_reader

        frame, used = self.raw(api_key, version, body)
        response, _ = entity_reader(load_response_schema(api_key, version))(frame, used)
        return response


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
