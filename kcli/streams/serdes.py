"""Kafka Streams' ``Serdes.String()`` and ``Serdes.Long()`` as Quix Streams serializers.

``LongSerializer`` writes 8 bytes, big-endian, two's complement, exactly as Java's; the quickstart
reads the counts with ``value.deserializer=org.apache.kafka.common.serialization.LongDeserializer``.
"""

from __future__ import annotations

import struct
from typing import Any

from quixstreams.models.serializers import Deserializer, SerializationContext, Serializer


class LongSerializer(Serializer):
    def __call__(self, value: Any, ctx: SerializationContext) -> bytes | None:
        return None if value is None else struct.pack(">q", int(value))


class LongDeserializer(Deserializer):
    def __call__(self, value: bytes, ctx: SerializationContext) -> Any:
        if value is None:
            return None
        if len(value) != 8:
            from quixstreams.models.serializers import SerializationError

            raise SerializationError("Size of data received by LongDeserializer is not 8")
        return struct.unpack(">q", value)[0]
