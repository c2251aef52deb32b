"""Raw Kafka requests for tests that need exact protocol answers (error codes a client library
hides or retries): any API and version, encoded and decoded by kio from Kafka's own schemas."""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer

from kcli.protocol.messages import build


class Connection:
    """One TCP connection to a broker; requests are answered in order."""

    def __init__(self, address: str, timeout: float = 15.0):
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.correlation = 0

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def _read(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(n)
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        self.correlation += 1
        request_cls = load_request_schema(api_key, version)
        header_cls = request_cls.__header_schema__
        buf = io.BytesIO()
        entity_writer(header_cls)(
            buf,
            header_cls(
                request_api_key=api_key,
                request_api_version=version,
                correlation_id=self.correlation,
                client_id="kcli-test",
            ),
        )
        entity_writer(request_cls)(buf, build(request_cls, body))
        payload = buf.getvalue()
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._read(4))
        frame = self._read(size)
        response_cls = load_response_schema(api_key, version)
        header, used = entity_reader(response_cls.__header_schema__)(frame, 0)
        assert header.correlation_id == self.correlation
        response, _ = entity_reader(response_cls)(frame, used)
        return response


def code(value: Any) -> int:
    """An error code field as an int (kio decodes it as an ErrorCode enum)."""
    return int(getattr(value, "value", value))
