"""One Kafka request over a plain socket, encoded and decoded by ``kio`` (Kafka's message schemas).

For the few calls librdkafka has no API for (the ``BROKER_LOGGER`` config resource, probing what
a listener speaks), on PLAINTEXT listeners only: re-implementing TLS and SASL for them is not worth
the risk. Bodies are plain dicts, turned into the exact version's dataclasses by the same
``build`` the broker uses, so "which field exists in which version" is decided by kio alone.
"""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

CLIENT_ID = "kcli"


def encode(api_key: int, version: int, correlation_id: int, body: dict[str, Any]) -> bytes:
    """A size-prefixed request frame."""
    from kio.index import load_request_schema
    from kio.serial import entity_writer

    from kcli.server.protocol.codec import build

    request_cls = load_request_schema(api_key, version)
    header_cls = request_cls.__header_schema__
    buffer = io.BytesIO()
    header = header_cls(
        request_api_key=api_key,
        request_api_version=version,
        correlation_id=correlation_id,
        client_id=CLIENT_ID,
    )
    entity_writer(header_cls)(buffer, header)
    entity_writer(request_cls)(buffer, build(request_cls, body))
    payload = buffer.getvalue()
    return struct.pack(">i", len(payload)) + payload


def read_response(sock: socket.socket, api_key: int, version: int, correlation_id: int) -> Any | None:
    """The decoded answer, or None when the bytes that came back are not a Kafka response to it
    (a TLS alert, an HTTP reply...)."""
    from kio.index import load_response_schema
    from kio.serial import entity_reader

    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    if not 4 <= size <= 64 << 20:
        return None
    frame = recv_exactly(sock, size)
    response_cls = load_response_schema(api_key, version)
    try:
        header, pos = entity_reader(response_cls.__header_schema__)(frame, 0)
        if header.correlation_id != correlation_id:
            return None
        body, _ = entity_reader(response_cls)(frame, pos)
    except Exception:
        return None
    return body


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def call(
    host: str, port: int, api_key: int, version: int, body: dict[str, Any], timeout_s: float = 30.0
) -> Any:
    """Send one request and return its decoded response; ConnectionError if there is none."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(encode(api_key, version, 1, body))
        response = read_response(sock, api_key, version, 1)
    if response is None:
        raise ConnectionError(f"{host}:{port} did not answer in Kafka's protocol")
    return response


def code(value: Any) -> int:
    """An error code as an int (kio gives ErrorCode enum members)."""
    return int(getattr(value, "value", value))
