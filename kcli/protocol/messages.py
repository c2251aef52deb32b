"""Kafka's messages as kio dataclasses: the class of each API version, and building one from plain data.

kio gives one frozen dataclass per API, version and nested structure, generated from Kafka's own
JSON message schemas. Code on both sides of the protocol is written once for all versions of an
API: broker handlers return plain dicts and lists, clients describe requests the same way, and
:func:`build` turns those into the dataclasses of the exact version spoken, keeping only the
fields that version has. That is the one place where "which field exists in which version" is
decided, and kio is the authority on it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from kio.index import load_request_schema, load_response_schema


@cache
def request_class(api_key: int, api_version: int) -> type:
    return load_request_schema(api_key, api_version)


@cache
def response_class(api_key: int, api_version: int) -> type:
    return load_response_schema(api_key, api_version)


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
