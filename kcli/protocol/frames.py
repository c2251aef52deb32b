"""A client's frames: requests encoded as size-prefixed bytes, response frames decoded by kio.

Bodies are plain dicts (or kio dataclasses already built), turned into the exact version's
dataclass by :func:`kcli.protocol.messages.build`, so "which field exists in which version" is
decided by kio alone. Used by every client connection in kcli, blocking or asyncio.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Callable
from functools import cache
from typing import Any

from kio.serial import entity_reader, entity_writer

from kcli.protocol.messages import build, request_class, response_class

API_VERSIONS = 18
LENGTH = struct.Struct(">i")


@cache
def _writer(cls: type) -> Callable[[io.BytesIO, Any], None]:
    return entity_writer(cls)


@cache
def _reader(cls: type) -> Callable[[Any, int], tuple[Any, int]]:
    return entity_reader(cls)


def encode_request(api_key: int, version: int, correlation_id: int, body: Any, client_id: str) -> bytes:
    """A size-prefixed request frame: kio's request header of that version, then the body."""
    cls = request_class(api_key, version)
    header_cls = cls.__header_schema__
    buf = io.BytesIO()
    buf.write(b"\0\0\0\0")
    _writer(header_cls)(
        buf,
        header_cls(
            request_api_key=api_key,
            request_api_version=version,
            correlation_id=correlation_id,
            client_id=client_id,
        ),
    )
    _writer(cls)(buf, body if isinstance(body, cls) else build(cls, body))
    data = buf.getbuffer()
    LENGTH.pack_into(data, 0, len(data) - 4)
    del data
    return buf.getvalue()


def response_header_class(api_key: int, version: int) -> type:
    """The response header a broker sends: ApiVersions always answers with header v0, whatever
    its version, so a client that does not know the broker's versions yet can read it (KIP-511)."""
    if api_key == API_VERSIONS:
        from kio.schema.response_header.v0.header import ResponseHeader

        return ResponseHeader
    return response_class(api_key, version).__header_schema__


def read_header(api_key: int, version: int, frame: bytes) -> tuple[int, int]:
    """(correlation id, where the body starts) of a response frame (without its size prefix)."""
    header, pos = _reader(response_header_class(api_key, version))(frame, 0)
    return int(header.correlation_id), pos


def decode_body(api_key: int, version: int, frame: bytes, pos: int) -> Any:
    """The kio response dataclass whose body starts at ``pos`` of ``frame``."""
    body, _ = _reader(response_class(api_key, version))(frame, pos)
    return body


def decode_response(api_key: int, version: int, frame: bytes) -> tuple[int, Any]:
    """(correlation id, kio response dataclass) of a response frame (without its size prefix)."""
    correlation_id, pos = read_header(api_key, version, frame)
    return correlation_id, decode_body(api_key, version, frame, pos)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes from a blocking socket; ConnectionError when the broker closes first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def read_size(sock: socket.socket) -> int:
    """The size prefix of the next frame on a blocking socket."""
    return int(LENGTH.unpack(recv_exactly(sock, 4))[0])
