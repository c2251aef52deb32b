"""The broker's side of the request codec: request headers and bodies in, response frames out.

Requests are decoded into kio's dataclasses (generated from Kafka's own message schemas), and
handlers answer with plain dicts that :func:`kcli.protocol.messages.build` turns into the
dataclasses of the version the client asked for. The message classes and ``build`` are shared
with the client half in :mod:`kcli.protocol.messages`, and every module imports them from there.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from collections.abc import Callable
from functools import cache
from typing import Any

from kio.serial import entity_reader, entity_writer

from kcli.protocol.messages import request_class

__all__ = [
    "DecodeError",
    "RequestHeader",
    "decode_request",
    "encode_response",
    "peek_header",
]

_HEAD = struct.Struct(">hhi")
_LEN = struct.Struct(">i")


class DecodeError(Exception):
    """A frame that is not a valid request of the version it claims; the connection is closed."""


@dataclasses.dataclass(frozen=True, slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def peek_header(frame: bytes | memoryview) -> tuple[int, int, int]:
    """(api_key, api_version, correlation_id) from the first 8 bytes, before any schema lookup."""
    if len(frame) < 8:
        raise DecodeError(f"request of {len(frame)} bytes is shorter than a request header")
    return _HEAD.unpack_from(frame, 0)


def decode_request(frame: bytes | memoryview, api_key: int, api_version: int) -> tuple[RequestHeader, Any]:
    """Decode header and body of a request whose (api_key, api_version) is known to be served."""
    cls = request_class(api_key, api_version)
    try:
        # kio's readers return (entity, bytes consumed), not the next offset.
        header, pos = entity_reader(cls.__header_schema__)(frame, 0)
        body, _size = entity_reader(cls)(frame, pos)
    except Exception as exc:  # kio raises several types for malformed input
        raise DecodeError(f"cannot decode {cls.__name__} v{api_version}: {exc}") from None
    # Bytes after the body are ignored, as Kafka's own request parser does: librdkafka 2.x sends
    # three extra bytes after some Metadata v12 requests, and rejecting them would cut it off.
    return RequestHeader(api_key, api_version, header.correlation_id, header.client_id), body


@cache
def _header_writer(header_cls: type) -> Callable[[io.BytesIO, Any], None]:
    return entity_writer(header_cls)


def encode_response(body: Any, correlation_id: int) -> bytes:
    """Length-prefixed response frame: the version's response header, then the body."""
    cls = type(body)
    header_cls = cls.__header_schema__
    buf = io.BytesIO()
    buf.write(b"\0\0\0\0")
    _header_writer(header_cls)(buf, header_cls(correlation_id=correlation_id))
    entity_writer(cls)(buf, body)
    data = buf.getbuffer()
    _LEN.pack_into(data, 0, len(data) - 4)
    del data
    return buf.getvalue()
