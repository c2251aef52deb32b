"""Wire format of the coordination service: one JSON object per line, each way, in order.

A request is ``{"op": NAME, ...}``; the answer is ``{"ok": true, ...}`` or
``{"ok": false, "error": CODE, "message": TEXT}``. One line per message keeps both the service and
its clients a few lines of asyncio or socket code, and lets a student watch it with ``nc``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

DEFAULT_PORT = 2181
START_HINT = "zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties"
MAX_LINE = 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not one JSON object per line."""


@dataclass(frozen=True)
class ConnectString:
    """``host:port[,host:port...][/chroot]`` as in ``zookeeper.connect``."""

    hosts: tuple[tuple[str, int], ...]
    chroot: str

    @property
    def display(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in self.hosts) + self.chroot


def parse_connect(value: str) -> ConnectString:
    """Parse a connect string; a host without a port gets ZooKeeper's 2181."""
    value = value.strip()
    hosts_part, slash, chroot = value.partition("/")
    chroot = ("/" + chroot).rstrip("/") if slash else ""
    hosts: list[tuple[str, int]] = []
    for item in (h.strip() for h in hosts_part.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(DEFAULT_PORT)
        if not port.isdigit():
            raise ValueError(f"Invalid ZooKeeper address '{item}': expected host:port")
        hosts.append((host.strip("[]") or "localhost", int(port)))
    if not hosts:
        raise ValueError(f"Invalid ZooKeeper connect string '{value}': expected host:port")
    return ConnectString(tuple(hosts), chroot)


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


def normalize_path(path: str) -> str:
    """``/a//b/`` -> ``/a/b``; paths must be absolute, as in ZooKeeper."""
    if not path.startswith("/"):
        raise ValueError(f"Path must start with / character: {path}")
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts)


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
