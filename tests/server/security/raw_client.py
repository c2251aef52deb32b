"""A Kafka protocol client over one socket, for tests that must send what real clients never
send (expired sessions, raw SASL tokens, malformed frames) and check the broker's exact answer.

Well-formed requests go through kcli's wire client (:class:`kcli.protocol.connection.BrokerConnection`);
what a hostile client does - hand-built frames sent as bytes, SASL v0 tokens without a Kafka
header, reading the socket until the broker hangs up - is done on its socket directly."""

from __future__ import annotations

import struct
from typing import Any

from kcli.protocol.connection import BrokerConnection
from kcli.protocol.frames import encode_request, read_size, recv_exactly

_LEN = struct.Struct(">i")


class RawClient:
    def __init__(self, port: int, timeout: float = 10.0):
        self.conn = BrokerConnection("127.0.0.1", port, timeout, client_id="raw")
        self.sock = self.conn.open()
        self._frames = 0

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frame(self, api_key: int, version: int, body: dict[str, Any]) -> bytes:
        """A well-formed request frame as bytes, for a test to send (or cut up) itself."""
        self._frames += 1
        return encode_request(api_key, version, self._frames, body, "raw")

    def send_raw(self, payload: bytes) -> None:
        self.sock.sendall(payload)

    def read_frame(self) -> bytes:
        return recv_exactly(self.sock, read_size(self.sock))

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        return self.conn.request(api_key, version, body)

    def closed_by_broker(self) -> bool:
        """True when the broker has closed the connection (reads EOF or a reset)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


def plain_login(client: RawClient, user: str, password: str, handshake_version: int = 1) -> Any:
    """SaslHandshake + PLAIN; returns the SaslAuthenticate response (v2), or for v0 the raw answer."""
    handshake = client.request(17, handshake_version, {"mechanism": "PLAIN"})
    assert handshake.error_code == 0, handshake
    token = b"\0" + user.encode() + b"\0" + password.encode()
    if handshake_version == 0:
        client.send_raw(_LEN.pack(len(token)) + token)
        return client.read_frame()
    return client.request(36, 2, {"auth_bytes": token})
