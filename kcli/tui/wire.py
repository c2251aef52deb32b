"""Kafka requests sent by the TUI itself, encoded and decoded by kio, on PLAINTEXT listeners.

The TUI is a confluent-kafka client first. A few calls go over this module instead, where
librdkafka is too slow (the topic table's watermarks) or unsafe (consumer groups: see
:mod:`kcli.tui.group_reader`). One :class:`BrokerConnection` is one TCP connection to one
broker: it asks ApiVersions once, picks for each API the highest version both sides speak,
and pipelines requests (Kafka answers a connection's requests in order).

Every failure - refused connection, timeout, a frame kio cannot read - is raised as
:class:`WireError` with one readable line; callers turn it into a per-broker or per-group error.
"""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

CLIENT_ID = "kcli-tui"
API_VERSIONS = 18


class WireError(Exception):
    """A broker could not be asked or did not answer usably."""


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def encode_request(api_key: int, version: int, correlation_id: int, body: dict[str, Any]) -> bytes:
    """A size-prefixed request frame: kio's header of that version, then the body."""
    from kio.index import load_request_schema
    from kio.serial import entity_writer

    from kcli.server.protocol.codec import build

    request_cls = load_request_schema(api_key, version)
    header_cls = request_cls.__header_schema__
    buffer = io.BytesIO()
    header = header_cls(
        request_api_key=api_key,
        request_api_version=version,
        correlation_id=correlation_id,
        client_id=CLIENT_ID,
    )
    entity_writer(header_cls)(buffer, header)
    entity_writer(request_cls)(buffer, build(request_cls, body))
    payload = buffer.getvalue()
    return struct.pack(">i", len(payload)) + payload


def decode_response(api_key: int, version: int, frame: bytes, correlation_id: int) -> Any:
    """The kio response dataclass in ``frame``; checks the correlation id."""
    from kio.index import load_response_schema
    from kio.serial import entity_reader

    response_cls = load_response_schema(api_key, version)
    # ApiVersions answers with header v0 whatever its version, so clients that do not know the
    # broker's versions yet can always read it (KIP-511).
    header_cls = response_cls.__header_schema__
    if api_key == API_VERSIONS:
        from kio.schema.response_header.v0.header import ResponseHeader

        header_cls = ResponseHeader
    header, pos = entity_reader(header_cls)(frame, 0)
    if header.correlation_id != correlation_id:
        raise WireError(f"answer {header.correlation_id} to request {correlation_id}")
    response, _ = entity_reader(response_cls)(frame, pos)
    return response


class BrokerConnection:
    """One connection to ``host:port`` with version negotiation; use as a context manager."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.address = f"{host}:{port}"
        self._next_id = 0
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout_s)
        except OSError as exc:
            raise WireError(f"{self.address}: {_os_text(exc)}") from exc
        self._versions: dict[int, tuple[int, int]] | None = None

    def __enter__(self) -> BrokerConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:  # pragma: no cover - closing a dead socket
            pass

    def versions(self) -> dict[int, tuple[int, int]]:
        """api key -> (min, max) the broker serves (ApiVersions v0, which every broker answers)."""
        if self._versions is None:
            response = self.exchange([(API_VERSIONS, 0, {})])[0]
            self._versions = {
                int(k.api_key): (int(k.min_version), int(k.max_version)) for k in response.api_keys
            }
        return self._versions

    def version(self, api_key: int, low: int, high: int) -> int:
        """The highest version in ``low..high`` the broker serves; WireError when there is none."""
        served = self.versions().get(api_key)
        if served is None or served[1] < low or served[0] > high:
            raise WireError(f"{self.address} does not serve API {api_key} versions {low}-{high}")
        return min(high, served[1])

    def exchange(self, requests: list[tuple[int, int, dict[str, Any]]]) -> list[Any]:
        """Send every (api key, version, body) at once, then read the answers in order."""
        ids = []
        frames = []
        for api_key, version, body in requests:
            self._next_id += 1
            ids.append(self._next_id)
            frames.append(encode_request(api_key, version, self._next_id, body))
        try:
            self.sock.sendall(b"".join(frames))
            out = []
            for (api_key, version, _), cid in zip(requests, ids, strict=True):
                (size,) = struct.unpack(">i", recv_exactly(self.sock, 4))
                out.append(decode_response(api_key, version, recv_exactly(self.sock, size), cid))
            return out
        except WireError:
            raise
        except (OSError, ValueError, struct.error, EOFError) as exc:
            raise WireError(f"{self.address}: {_os_text(exc)}") from exc

    def call(self, api_key: int, low: int, high: int, body: dict[str, Any]) -> tuple[int, Any]:
        """One request at the best version in ``low..high``; returns (version, response)."""
        version = self.version(api_key, low, high)
        return version, self.exchange([(api_key, version, body)])[0]


def _os_text(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def error_name(code: Any) -> str:
    """``ErrorCode.not_coordinator`` -> ``NOT_COORDINATOR``, the name Kafka's docs and logs use."""
    name = getattr(code, "name", None)
    if name is None:
        from kio.schema.errors import ErrorCode

        name = ErrorCode(int(code)).name
    return str(name).upper()


def error_value(code: Any) -> int:
    return int(getattr(code, "value", code))
