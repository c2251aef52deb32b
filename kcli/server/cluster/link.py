"""A broker's link to its controller: registration, the metadata watch, and admin calls.

The session connection registers the broker and then long-polls ``ctl_watch``; each poll is the
broker's heartbeat and each answer with a newer image is applied at once. Admin calls (create a
topic, change an ISR, ...) each go over a short-lived asyncio connection of their own, with a
deadline (the client request's timeout): nothing here ever blocks the broker's event loop, so a
stopped or unreachable controller delays only the admin requests that need it - other clients
keep being served. As Kafka's forwarding to the controller, a controller that cannot be reached
is retried until the deadline, and a request that was sent is never sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from kcli.server.cluster.image import BrokerRegistration, MetadataImage
from kcli.zookeeper.protocol import MAX_LINE, decode, encode

log = logging.getLogger("kafka.server.BrokerLifecycleManager")

HEARTBEAT_INTERVAL_MS = 1000
CALL_TIMEOUT_S = 15.0
CONNECT_RETRY_S = 0.2


class ControllerUnavailable(Exception):
    """The controller cannot be reached; ``str()`` says where it was looked for."""


class ControllerRefused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ControllerLink:
    def __init__(
        self,
        address: tuple[str, int],
        chroot: str,
        node: BrokerRegistration,
        known_topics: Callable[[], list[dict[str, Any]]],
        on_image: Callable[[MetadataImage], None],
        heartbeat_ms: int = HEARTBEAT_INTERVAL_MS,
    ):
        self.address = address
        self.chroot = chroot
        self.node = node
        self.known_topics = known_topics
        self.on_image = on_image
        self.heartbeat_ms = heartbeat_ms
        self.version = -1
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def display(self) -> str:
        return f"{self.address[0]}:{self.address[1]}{self.chroot}"

    # --- the session -------------------------------------------------------------------------
    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._writer is not None and self._reader is not None
        self._writer.write(encode({"op": op, "chroot": self.chroot, **fields}))
        await self._writer.drain()
        line = await self._reader.readline()
        if not line:
            raise ConnectionError("the controller closed the connection")
        return decode(line)

    async def _open_session(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(*self.address, limit=64 * MAX_LINE)
        await self._request("hello", timeout_ms=max(self.heartbeat_ms * 6, 6000))
        n = self.node
        answer = await self._request(
            "ctl_register", id=n.node_id, host=n.host, port=n.port, rack=n.rack, topics=self.known_topics()
        )
        if not answer.get("ok"):
            raise ControllerRefused(-1, str(answer.get("message")))
        self._apply(answer)

    def _apply(self, answer: dict[str, Any]) -> None:
        data = answer.get("image")
        if data is not None and int(data["version"]) > self.version:
            image = MetadataImage.from_json(data)
            self.version = image.version
            self.on_image(image)

    async def fetch_cluster_id(self, timeout_s: float = 30.0) -> str:
        """The cluster id the controller holds, waiting up to ``timeout_s`` for it to start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                reader, writer = await asyncio.open_connection(*self.address, limit=MAX_LINE)
                try:
                    writer.write(encode({"op": "cluster_id", "chroot": self.chroot}))
                    await writer.drain()
                    answer = decode(await reader.readline())
                finally:
                    writer.close()
                return str(answer["id"])
            except (OSError, ConnectionError, ValueError, KeyError) as exc:
                if loop.time() >= deadline:
                    raise ControllerUnavailable(
                        f"Timed out waiting for the controller at {self.display}: {exc}"
                    ) from None
                await asyncio.sleep(0.2)

    async def start(self, timeout_s: float = 30.0) -> None:
        """Register within ``timeout_s`` and apply the first image; then keep watching."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                await self._open_session()
                break
            except (OSError, ConnectionError) as exc:
                await self._drop()
                if loop.time() >= deadline:
                    raise ControllerUnavailable(
                        f"Timed out waiting for the controller at {self.display}: {exc}"
                    ) from None
                await asyncio.sleep(0.2)  # back-off while the controller starts
        log.info("Registered broker %d with the controller at %s", self.node.node_id, self.display)
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while not self._closing:
            try:
                if self._writer is None:
                    await self._open_session()
                    log.info("Registered again with the controller at %s", self.display)
                self._apply(await self._request("ctl_watch", version=self.version, wait_ms=self.heartbeat_ms))
            except asyncio.CancelledError:
                raise
            except (OSError, ConnectionError, ValueError, ControllerRefused) as exc:
                if self._closing:
                    return
                log.warning("Lost the controller session (%s); reconnecting", exc)
                await self._drop()
                await asyncio.sleep(0.5)

    async def _drop(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        """End the session: the controller fences this broker and moves its leaderships now."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._drop()

    # --- admin calls -------------------------------------------------------------------------
    async def call(self, op: str, timeout_s: float = CALL_TIMEOUT_S, **fields: Any) -> dict[str, Any]:
        """One request on its own connection, answered within ``timeout_s``; the image in the
        answer is applied at once. Raises ControllerRefused on the controller's errors and
        ControllerUnavailable when it cannot be reached or does not answer in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        message = encode({"op": op, "chroot": self.chroot, **fields})
        while True:
            remaining = deadline - loop.time()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.address, limit=64 * MAX_LINE), max(remaining, 0.001)
                )
                break
            except (OSError, TimeoutError) as exc:
                # Not sent: safe to try again until the deadline (the controller may be starting).
                if loop.time() + CONNECT_RETRY_S >= deadline:
                    raise ControllerUnavailable(
                        f"The controller at {self.display} is unavailable: {exc or 'timed out'}"
                    ) from None
                await asyncio.sleep(CONNECT_RETRY_S)
        try:
            writer.write(message)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), max(deadline - loop.time(), 0.001))
        except TimeoutError:
            raise ControllerUnavailable(
                f"The controller at {self.display} did not answer within {timeout_s:g} s"
            ) from None
        except (OSError, ConnectionError, ValueError, asyncio.LimitOverrunError) as exc:
            raise ControllerUnavailable(f"The controller at {self.display} is unavailable: {exc}") from None
        finally:
            writer.close()
        if not line:
            raise ControllerUnavailable(f"The controller at {self.display} closed the connection")
        answer = decode(line)
        if not answer.get("ok"):
            raise ControllerRefused(int(answer.get("code", -1)), str(answer.get("message")))
        self._apply(answer)
        return answer
