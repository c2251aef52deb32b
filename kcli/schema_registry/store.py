"""Where registry changes go: a store makes a record durable, then applies it to the state.

:class:`MemoryStore` applies at once (unit tests). :class:`kcli.schema_registry.kafka_store.KafkaStore`
writes to the ``_schemas`` topic and waits until its own consumer has read the record back, so the
state is always what the topic says.
"""

from __future__ import annotations

from typing import Any, Protocol

from kcli.schema_registry.state import RegistryState, encode


class Store(Protocol):
    state: RegistryState

    def write(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        """Make the record durable and applied, or raise RegistryError(50001/50002)."""

    def close(self) -> None: ...


class MemoryStore:
    """A store that keeps nothing beyond the process: for tests of the REST layer."""

    def __init__(self) -> None:
        self.state = RegistryState()
        self.records: list[tuple[bytes, bytes | None]] = []

    def write(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        raw_key = encode(key)
        assert raw_key is not None
        raw_value = encode(value)
        self.records.append((raw_key, raw_value))
        self.state.apply(raw_key, raw_value)

    def close(self) -> None:
        pass
