"""Kafka error codes as clients read them from kio responses: a number, or Kafka's name for it."""

from __future__ import annotations

from typing import Any


def error_code(code: Any) -> int:
    """An error code as an int (kio gives ``ErrorCode`` members; hand-read fields are ints)."""
    return int(getattr(code, "value", code))


def error_name(code: Any) -> str:
    """``ErrorCode.not_coordinator`` -> ``NOT_COORDINATOR``, the name Kafka's docs and logs use."""
    name = getattr(code, "name", None)
    if name is None:
        from kio.schema.errors import ErrorCode

        name = ErrorCode(int(code)).name
    return str(name).upper()
