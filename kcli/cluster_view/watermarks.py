"""The topic table's watermarks in one round trip per partition leader, on PLAINTEXT listeners.

confluent-kafka's ``AdminClient.list_offsets`` costs about 2 s of client time for 10,000
partitions (a Python future per partition, twice). The table only needs the earliest and latest
offset of every partition, so on PLAINTEXT listeners it sends each partition leader two ListOffsets
requests at once - encoded and decoded by ``kio``, Kafka's own message schemas - and Kafka answers
them in order. Secured listeners, unreachable leaders and partitions answered with an error fall
back to the AdminClient (see :meth:`kcli.cluster_view.kafka.KafkaSource._table_offsets`).
"""

from __future__ import annotations

from typing import Any

from kcli.protocol.connection import BrokerConnection
from kcli.protocol.frames import decode_response, encode_request

API_KEY = 2  # ListOffsets
VERSION = 2  # not flexible, still served by Kafka 4: request header v1, response header v0
EARLIEST, LATEST = -2, -1
CLIENT_ID = "kcli-tui"


def _body(topics: dict[str, list[int]], timestamp: int) -> dict[str, Any]:
    return {
        "replica_id": -1,
        "isolation_level": 0,
        "topics": [
            {"name": name, "partitions": [{"partition_index": p, "timestamp": timestamp} for p in parts]}
            for name, parts in topics.items()
        ],
    }


def encode_list_offsets(correlation_id: int, topics: dict[str, list[int]], timestamp: int) -> bytes:
    """A size-prefixed ListOffsets request asking ``timestamp`` (-2 earliest, -1 latest)."""
    return encode_request(API_KEY, VERSION, correlation_id, _body(topics, timestamp), CLIENT_ID)


def _offsets(response: Any) -> dict[tuple[str, int], int]:
    """Offsets of the partitions answered without an error (and with a real offset)."""
    return {
        (t.name, p.partition_index): int(p.offset)
        for t in response.topics
        for p in t.partitions
        if int(getattr(p.error_code, "value", p.error_code)) == 0 and int(p.offset) >= 0
    }


def decode_list_offsets(frame: bytes, correlation_id: int) -> dict[tuple[str, int], int]:
    """Offsets of the partitions answered without an error, from one response frame."""
    answered, response = decode_response(API_KEY, VERSION, frame)
    if answered != correlation_id:
        raise ValueError(f"answer {answered} to request {correlation_id}")
    return _offsets(response)


def leader_watermarks(
    host: str, port: int, topics: dict[str, list[int]], timeout_s: float
) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) watermarks of ``topics``' partitions led by one broker, in one round trip.

    Raises :class:`~kcli.protocol.connection.WireError` when the broker cannot be asked.
    """
    with BrokerConnection(host, port, timeout_s, CLIENT_ID) as conn:
        earliest, latest = conn.exchange(
            [(API_KEY, VERSION, _body(topics, EARLIEST)), (API_KEY, VERSION, _body(topics, LATEST))]
        )
    low, high = _offsets(earliest), _offsets(latest)
    return {tp: (offset, high[tp]) for tp, offset in low.items() if tp in high}
