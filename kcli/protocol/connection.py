"""A blocking connection to one broker: version negotiation and pipelined requests, kio codecs.

The client half is confluent-kafka first. A few calls go over this connection instead, where
librdkafka has no API for them (OffsetDelete, the transaction admin APIs, ConsumerGroupDescribe,
DescribeLogDirs...), is too slow (the TUI's topic table watermarks) or unsafe (the TUI's consumer
groups: see :mod:`kcli.cluster_view.group_reader`). These requests are sent on PLAINTEXT listeners only:
re-implementing TLS and SASL for them is not worth the risk (the broker's own asyncio clients
have them: :mod:`kcli.protocol.async_connection`).

One :class:`BrokerConnection` is one TCP connection. It asks ApiVersions once when a caller wants
to pick a version, and pipelines requests (Kafka answers a connection's requests in order). Every
failure - refused connection, timeout, a frame kio cannot read - is raised as :class:`WireError`
with one readable line and a ``kind``; callers turn it into their own error.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Literal

from kcli.protocol.frames import (
    API_VERSIONS,
    decode_body,
    encode_request,
    read_header,
    read_size,
    recv_exactly,
)

Kind = Literal["connect", "io", "mismatch", "unsupported"]


class WireError(Exception):
    """A broker could not be asked or did not answer usably.

    ``kind``: ``connect`` (no connection), ``io`` (the exchange failed or the answer could not
    be read), ``mismatch`` (an answer to another request), ``unsupported`` (no common version).
    """

    def __init__(self, message: str, kind: Kind = "io") -> None:
        super().__init__(message)
        self.kind = kind


class BrokerConnection:
    """One connection to ``host:port``; use as a context manager.

    It connects at once, or on first use with ``connect=False``; after :meth:`close` the next
    request connects again.
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout_s: float = 30.0,
        client_id: str = "kcli",
        connect: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.address = f"{host}:{port}"
        self.timeout_s = timeout_s
        self.client_id = client_id
        self._next_id = 0
        self._sock: socket.socket | None = None
        self._versions: dict[int, tuple[int, int]] | None = None
        if connect:
            self.open()

    def __enter__(self) -> BrokerConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def open(self) -> socket.socket:
        """The connected socket; connects first when there is none. WireError(kind=connect)."""
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            except OSError as exc:
                raise WireError(f"{self.address}: {os_text(exc)}", "connect") from exc
        return self._sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
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
            raise WireError(
                f"{self.address} does not serve API {api_key} versions {low}-{high}", "unsupported"
            )
        return min(high, served[1])

    def _send(self, requests: list[tuple[int, int, Any]]) -> list[int]:
        sock = self.open()
        ids = []
        frames = []
        for api_key, version, body in requests:
            self._next_id += 1
            ids.append(self._next_id)
            frames.append(encode_request(api_key, version, self._next_id, body, self.client_id))
        sock.sendall(b"".join(frames))
        return ids

    def _receive(self, api_key: int, version: int, correlation_id: int) -> tuple[bytes, int]:
        assert self._sock is not None
        frame = recv_exactly(self._sock, read_size(self._sock))
        answered, pos = read_header(api_key, version, frame)
        if answered != correlation_id:
            raise WireError(f"answer {answered} to request {correlation_id}", "mismatch")
        return frame, pos

    def exchange(self, requests: list[tuple[int, int, Any]]) -> list[Any]:
        """Send every (api key, version, body) at once, then read the answers in order."""
        try:
            ids = self._send(requests)
            out = []
            for (api_key, version, _), cid in zip(requests, ids, strict=True):
                frame, pos = self._receive(api_key, version, cid)
                out.append(decode_body(api_key, version, frame, pos))
            return out
        except WireError:
            raise
        except (OSError, ValueError, struct.error, EOFError) as exc:
            raise WireError(f"{self.address}: {os_text(exc)}") from exc

    def request(self, api_key: int, version: int, body: Any) -> Any:
        """One request at ``version``; returns the decoded response."""
        return self.exchange([(api_key, version, body)])[0]

    def raw(self, api_key: int, version: int, body: Any) -> tuple[bytes, int]:
        """One request; returns the response frame and where its body starts, for a caller that
        reads the body by hand (where kio's reader is stricter than Kafka's data)."""
        try:
            (cid,) = self._send([(api_key, version, body)])
            return self._receive(api_key, version, cid)
        except WireError:
            raise
        except (OSError, ValueError, struct.error, EOFError) as exc:
            raise WireError(f"{self.address}: {os_text(exc)}") from exc

    def call(self, api_key: int, low: int, high: int, body: Any) -> tuple[int, Any]:
        """One request at the best version in ``low..high``; returns (version, response)."""
        version = self.version(api_key, low, high)
        return version, self.request(api_key, version, body)


def os_text(exc: BaseException) -> str:
    """One short phrase for a socket failure: "timed out", "connection refused", the OS's text."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
