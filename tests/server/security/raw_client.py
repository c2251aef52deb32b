"""A bare Kafka protocol client over one socket, for tests that must send what real clients never
send (expired sessions, raw SASL tokens, malformed frames) and check the broker's exact answer."""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

from kio.serial import entity_reader, entity_writer

from kcli.protocol.messages import build, request_class, response_class

_LEN = struct.Struct(">i")


class RawClient:
    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frame(self, api_key: int, version: int, body: dict[str, Any]) -> bytes:
        self.correlation += 1
        cls = request_class(api_key, version)
        header_cls = cls.__header_schema__
        buf = io.BytesIO()
        entity_writer(header_cls)(
            buf,
            header_cls(
                request_api_key=api_key,
                request_api_version=version,
                correlation_id=self.correlation,
                client_id="raw",
            ),
        )
        entity_writer(cls)(buf, build(cls, body))
        data = buf.getvalue()
        return _LEN.pack(len(data)) + data

    def send_raw(self, payload: bytes) -> None:
        self.sock.sendall(payload)

    def read_frame(self) -> bytes:
        (size,) = _LEN.unpack(self._exactly(4))
        return self._exactly(size)

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        self.sock.sendall(self.frame(api_key, version, body))
        data = self.read_frame()
        cls = response_class(api_key, version)
        _header, pos = entity_reader(cls.__header_schema__)(data, 0)
        response, _ = entity_reader(cls)(data, pos)
        return response

    def closed_by_broker(self) -> bool:
        """True when the broker has closed the connection (reads EOF or a reset)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the broker")
            data += chunk
        return data


def plain_login(client: RawClient, user: str, password: str, handshake_version: int = 1) -> Any:
    """SaslHandshake + PLAIN; returns the SaslAuthenticate response (v2), or for v0 the raw answer."""
    handshake = client.request(17, handshake_version, {"mechanism": "PLAIN"})
    assert handshake.error_code == 0, handshake
    token = b"\0" + user.encode() + b"\0" + password.encode()
    if handshake_version == 0:
        client.send_raw(_LEN.pack(len(token)) + token)
        return client.read_frame()
    return client.request(36, 2, {"auth_bytes": token})
