"""A blocking client of the coordination service, for ``zookeeper-shell`` and ``--zookeeper``.

Tools run once and exit, so a plain socket is enough; the broker uses the asyncio client in
``registration``.
"""

from __future__ import annotations

import socket
import time

from kcli.protocol.json_lines import LineSocket
from kcli.zookeeper.connect import ConnectString


class NotListening(OSError):
    """No server accepted a connection at any address of the connect string before the deadline."""


class RequestFailed(Exception):
    """The service answered with an error (``code`` is ZooKeeper's name, e.g. ``NoNode``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class SyncClient:
    """One session: connect (trying each host until ``timeout_s``), then request/answer in turn."""

    def __init__(self, connect: ConnectString, timeout_s: float):
        self.connect_string = connect
        self.timeout_s = timeout_s
        self.conn: LineSocket | None = None
        self.session_id = ""

    def open(self) -> SyncClient:
        deadline = time.monotonic() + self.timeout_s
        last: OSError | None = None
        while True:
            for host, port in self.connect_string.hosts:
                remaining = deadline - time.monotonic()
                try:
                    sock = socket.create_connection((host, port), timeout=max(remaining, 0.1))
                    sock.settimeout(max(self.timeout_s, 1.0))
                    self.conn = LineSocket(sock)
                    answer = self.request("hello", chroot=self.connect_string.chroot)
                    self.session_id = str(answer.get("session", ""))
                    return self
                except OSError as exc:
                    last = exc
                    self.close()
            if time.monotonic() >= deadline:
                raise NotListening(str(last))
            time.sleep(0.1)  # back off before retrying, as ZooKeeper clients do

    def request(self, op: str, **fields: object) -> dict:
        if self.conn is None:
            raise NotListening("not connected")
        answer = self.conn.request({"op": op, **fields}, "the coordination service closed the connection")
        if not answer.get("ok"):
            raise RequestFailed(str(answer.get("error", "Error")), str(answer.get("message", "")))
        return answer

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> SyncClient:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
