"""The topic table's watermarks in one round trip per partition leader, on PLAINTEXT listeners.

confluent-kafka's ``AdminClient.list_offsets`` costs about 2 s of client time for 10,000
partitions (a Python future per partition, twice). The table only needs the earliest and latest
offset of every partition, so on PLAINTEXT listeners it sends each partition leader two ListOffsets
requests at once - encoded and decoded by ``kio``, Kafka's own message schemas - and Kafka answers
them in order. Secured listeners, unreachable leaders and partitions answered with an error fall
back to the AdminClient (see :meth:`kcli.tui.kafka.KafkaSource._table_offsets`).
"""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

from kcli.tui.logdirs import _recv_exactly

API_KEY = 2  # ListOffsets
VERSION = 2  # not flexible, still served by Kafka 4: request header v1, response header v0
EARLIEST, LATEST = -2, -1
CLIENT_ID = "kcli-tui"


def encode_list_offsets(correlation_id: int, topics: dict[str, list[int]], timestamp: int) -> bytes:
    """A size-prefixed ListOffsets request asking ``timestamp`` (-2 earliest, -1 latest)."""
    from kio.index import load_request_schema
    from kio.serial import entity_writer

    from kcli.server.protocol.codec import build

    request_cls = load_request_schema(API_KEY, VERSION)
    header_cls = request_cls.__header_schema__
    body = {
        "replica_id": -1,
        "isolation_level": 0,
        "topics": [
            {"name": name, "partitions": [{"partition_index": p, "timestamp": timestamp} for p in parts]}
            for name, parts in topics.items()
        ],
    }
    buffer = io.BytesIO()
    header = header_cls(
        request_api_key=API_KEY,
        request_api_version=VERSION,
        correlation_id=correlation_id,
        client_id=CLIENT_ID,
    )
    entity_writer(header_cls)(buffer, header)
    entity_writer(request_cls)(buffer, build(request_cls, body))
    payload = buffer.getvalue()
    return struct.pack(">i", len(payload)) + payload


def decode_list_offsets(frame: bytes, correlation_id: int) -> dict[tuple[str, int], int]:
    """Offsets of the partitions answered without an error, from one response frame."""
    from kio.index import load_response_schema
    from kio.serial import entity_reader

    response_cls = load_response_schema(API_KEY, VERSION)
    header, pos = entity_reader(response_cls.__header_schema__)(frame, 0)
    if header.correlation_id != correlation_id:
        raise ValueError(f"ListOffsets answer {header.correlation_id} to request {correlation_id}")
    response: Any
    response, _ = entity_reader(response_cls)(frame, pos)
    return {
        (t.name, p.partition_index): int(p.offset)
        for t in response.topics
        for p in t.partitions
        if int(getattr(p.error_code, "value", p.error_code)) == 0
    }


def _read_frame(sock: socket.socket) -> bytes:
    (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
    return _recv_exactly(sock, size)


def leader_watermarks(
    host: str, port: int, topics: dict[str, list[int]], timeout_s: float
) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) watermarks of ``topics``' partitions led by one broker, in one round trip."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(encode_list_offsets(1, topics, EARLIEST) + encode_list_offsets(2, topics, LATEST))
        low = decode_list_offsets(_read_frame(sock), 1)
        high = decode_list_offsets(_read_frame(sock), 2)
    return {tp: (offset, high[tp]) for tp, offset in low.items() if tp in high}
