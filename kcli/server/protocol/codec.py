"""Request and response bodies, via kio's dataclasses generated from Kafka's own message schemas.

kio gives one frozen dataclass per API, version and nested structure. Handlers here are written
once for all versions of an API: they return plain dicts and lists, and :func:`build` turns those
into the dataclasses of the exact version the client asked for, keeping only the fields that
version has. That is the one place where "which field exists in which version" is decided, and
kio (generated from Kafka's JSON schemas) is the authority on it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import io
import struct
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer

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


@cache
def request_class(api_key: int, api_version: int) -> type:
    return load_request_schema(api_key, api_version)


@cache
def response_class(api_key: int, api_version: int) -> type:
    return load_response_schema(api_key, api_version)


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


# --- building dataclasses from plain data -------------------------------------------------------

_Converter = Callable[[Any], Any]


def _to_timedelta(value: Any) -> datetime.timedelta:
    if isinstance(value, datetime.timedelta):
        return value
    return datetime.timedelta(milliseconds=int(value))


def _to_datetime(value: Any) -> datetime.datetime | None:
    """Kafka timestamps are epoch milliseconds; -1 means none."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    if value < 0:
        return None
    return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)


def _identity(value: Any) -> Any:
    return value


def _converter_for(hint: Any) -> _Converter:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        inner = _converter_for(args[0]) if len(args) == 1 else _identity
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        conv = _converter_for(item)
        if conv is _identity:
            return lambda v: tuple(v)
        return lambda v: tuple(conv(x) for x in v)
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return lambda v, c=hint: v if isinstance(v, c) else build(c, v)
        if issubclass(hint, datetime.timedelta):
            return _to_timedelta
        if issubclass(hint, datetime.datetime):
            return _to_datetime
        if issubclass(hint, enum.Enum):
            return lambda v, e=hint: v if isinstance(v, e) else e(v)
    return _identity


@cache
def _plan(cls: type) -> dict[str, _Converter]:
    hints = typing.get_type_hints(cls)
    return {f.name: _converter_for(hints[f.name]) for f in dataclasses.fields(cls)}


def build(cls: type, data: dict[str, Any]) -> Any:
    """Instantiate kio dataclass ``cls`` from ``data``, dropping keys this version does not have."""
    plan = _plan(cls)
    return cls(**{name: conv(data[name]) for name, conv in plan.items() if name in data})
