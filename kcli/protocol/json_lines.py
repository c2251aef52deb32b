"""kcli's own request/response protocol: one JSON object per line, each way, in order.

A request is ``{"op": NAME, ...}``; the answer is ``{"ok": true, ...}`` or
``{"ok": false, "error": CODE, "message": TEXT}``. One line per message keeps both the services
and their clients a few lines of asyncio or socket code, and lets a student watch it with ``nc``.
The ZooKeeper-mode coordination service (:mod:`kcli.zookeeper.service`) and the controller's
RPC (:mod:`kcli.server.cluster.controller_service`, its brokers' :mod:`kcli.server.cluster.link`,
the controller quorum's :mod:`kcli.server.cluster.raft_node`) speak it. It is not Kafka's protocol
(that is :mod:`kcli.protocol.messages`), but it is shared the same way: by both sides, below both.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable

MAX_LINE = 1024 * 1024


class ProtocolError(ValueError):
    """The peer sent something that is not one JSON object per line."""


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict:
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("expected a JSON object")
    return message


async def answer_lines(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    dispatch: Callable[[dict], Awaitable[dict]],
    on_line: Callable[[], None] = lambda: None,
) -> None:
    """Answer one connection's requests in order until it closes or sends something malformed.

    A line that is not one JSON object gets a BadArguments answer and ends the connection, as does
    a line over the reader's limit; ``on_line`` runs for each line received (session liveness).
    The caller ends its session and closes the writer afterwards.
    """
    try:
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                return
            if not line:
                return
            on_line()
            try:
                answer = await dispatch(decode(line))
            except ProtocolError as exc:
                writer.write(encode({"ok": False, "error": "BadArguments", "message": str(exc)}))
                return
            writer.write(encode(answer))
            await writer.drain()
    except (ConnectionError, OSError):
        pass


# --- the client side: one request, its answer --------------------------------------------------


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    message: dict,
    closed: str = "the peer closed the connection",
) -> dict:
    """Send one request line and read its answer line (the asyncio clients: a broker's controller
    link and ZooKeeper session, a quorum member's peers); ConnectionError(``closed``) at EOF."""
    writer.write(encode(message))
    await writer.drain()
    line = await reader.readline()
    if not line:
        raise ConnectionError(closed)
    return decode(line)


class LineSocket:
    """A blocking connection speaking JSON lines (the tools: they run once and exit)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buffer = b""

    def request(self, message: dict, closed: str = "the peer closed the connection") -> dict:
        """Send one request line and read its answer line; ConnectionResetError(``closed``) at EOF,
        ProtocolError for an answer over MAX_LINE or not one JSON object."""
        self.sock.sendall(encode(message))
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError(closed)
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise ProtocolError("answer too long")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return decode(line)

    def close(self) -> None:
        self.sock.close()
        self._buffer = b""
