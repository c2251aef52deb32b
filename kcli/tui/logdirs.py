"""Topic sizes on disk through DescribeLogDirs, for client libraries that lack the call.

confluent-kafka's AdminClient has no ``describe_log_dirs`` (up to 2.16 at least), yet "how big is
this topic" is one of the first questions a student asks. On PLAINTEXT listeners this module
sends the one request itself, encoded by ``kio`` (dataclasses generated from Kafka's message
schemas), to every broker. On secured listeners it does nothing and the table shows ``-``:
re-implementing TLS/SASL for one column is not worth the risk.
"""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

_API_KEY = 35  # DescribeLogDirs
_VERSION = 1  # not flexible: plain request header v1, response header v0


def plaintext(conf: dict[str, Any]) -> bool:
    """True when the client settings speak unencrypted, unauthenticated Kafka."""
    return str(conf.get("security.protocol", "PLAINTEXT")).upper() == "PLAINTEXT"


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def topic_sizes(host: str, port: int, timeout_s: float = 5.0) -> dict[str, int]:
    """Bytes on disk per topic on one broker (all its log directories, all partitions)."""
    from kio.index import load_request_schema, load_response_schema
    from kio.serial import entity_reader, entity_writer

    request_cls = load_request_schema(_API_KEY, _VERSION)
    response_cls = load_response_schema(_API_KEY, _VERSION)
    header_cls = request_cls.__header_schema__
    buffer = io.BytesIO()
    entity_writer(header_cls)(
        buffer,
        header_cls(
            request_api_key=_API_KEY, request_api_version=_VERSION, correlation_id=1, client_id="kcli-tui"
        ),
    )
    entity_writer(request_cls)(buffer, request_cls(topics=None))
    payload = buffer.getvalue()
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
        frame = _recv_exactly(sock, size)
    (correlation_id,) = struct.unpack_from(">i", frame, 0)
    if correlation_id != 1:
        raise ConnectionError("unexpected correlation id in DescribeLogDirs response")
    response, _ = entity_reader(response_cls)(frame, 4)
    sizes: dict[str, int] = {}
    for result in response.results:
        if result.error_code != 0:
            continue
        for topic in result.topics:
            total = sum(int(p.partition_size) for p in topic.partitions)
            sizes[topic.name] = sizes.get(topic.name, 0) + total
    return sizes
