"""A broker's link to its controller: registration, the metadata watch, and admin calls.

The session connection registers the broker and then long-polls ``ctl_watch`` with the last
metadata offset it applied; each poll is the broker's heartbeat and each answer brings the
records after that offset (a page at a time), which the broker replays - a delta, never the
whole image; a broker behind the controller's snapshot reads the snapshot first. Admin calls (create a
topic, change an ISR, ...) each go over a short-lived asyncio connection of their own, with a
deadline (the client request's timeout): nothing here ever blocks the broker's event loop, so a
stopped or unreachable controller delays only the admin requests that need it - other clients
keep being served. As Kafka's forwarding to the controller, a controller that cannot be reached
is retried until the deadline, and a request that was sent is never sent twice.

With a quorum of controllers (``voters``), a voter that is not the active controller answers
NOT_CONTROLLER and names the leader: the broker moves to it (and tries the next voter when the
one it talks to cannot be reached), as Kafka's brokers find the active controller in the quorum.
A request answered NOT_CONTROLLER was not applied, so it is sent again to the new leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from kcli.protocol.json_lines import MAX_LINE, decode, encode, exchange
from kcli.protocol.metadata_records import MetadataRecord
from kcli.server.cluster.image import BrokerRegistration, MetadataImage

log = logging.getLogger("kafka.server.BrokerLifecycleManager")

HEARTBEAT_INTERVAL_MS = 1000
CALL_TIMEOUT_S = 15.0
CONNECT_RETRY_S = 0.2
ADOPT_CHUNK_TOPICS = 200  # cached topics per ctl_adopt request, and at most ADOPT_CHUNK_BYTES
ADOPT_CHUNK_BYTES = 256 * 1024  # of JSON: a request line stays far below the controller's limit


class ControllerUnavailable(Exception):
    """The controller cannot be reached; ``str()`` says where it was looked for."""


class ControllerRefused(Exception):
    def __init__(self, code: int, message: str, error: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.error = error  # the controller's error name ("NodeExists", ...)


def _chunks(topics: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    chunks: list[list[dict[str, Any]]] = []
    size = 0
    for topic in topics:
        length = len(encode(topic))
        if not chunks or len(chunks[-1]) >= ADOPT_CHUNK_TOPICS or size + length > ADOPT_CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(topic)
        size += length
    return chunks


class MetadataListener(Protocol):
    """What the link tells the broker it serves."""

    def known_topics(self) -> list[dict[str, Any]]:
        """The broker's cached topics, offered to a controller that may have lost its metadata."""

    async def on_records(self, records: list[tuple[int, MetadataRecord]]) -> None:
        """Committed records, in offset order, after the last one applied."""

    async def on_snapshot(self, image: MetadataImage) -> None:
        """A whole image (read from the controller's snapshot) replacing the current one."""

    async def on_caught_up(self) -> None:
        """The broker has applied everything the controller had when it registered (and the
        topics it offered for adoption have been answered): a full pass may follow."""


class NotController(ConnectionError):
    """The voter asked is not the active controller (the link has moved to the one it named)."""


class ControllerLink:
    def __init__(
        self,
        address: tuple[str, int],
        chroot: str,
        node: BrokerRegistration,
        listener: MetadataListener,
        heartbeat_ms: int = HEARTBEAT_INTERVAL_MS,
        voters: list[tuple[str, int]] | None = None,
    ):
        self.address = address
        self.voters = list(voters or [])
        if address not in self.voters:
            self.voters.insert(0, address)
        self.chroot = chroot
        self.node = node
        self.listener = listener
        self.heartbeat_ms = heartbeat_ms
        self.offset = -1  # the last metadata offset applied
        self.epoch = -1  # this broker's epoch, from its registration
        self._applied = asyncio.Condition()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.session_timeout_s = 9.0  # the controller's broker.session.timeout.ms, from its hello

    @property
    def display(self) -> str:
        return f"{self.address[0]}:{self.address[1]}{self.chroot}"

    def _next_voter(self) -> None:
        """The controller asked cannot be reached: try the next voter."""
        if len(self.voters) > 1:
            i = self.voters.index(self.address) if self.address in self.voters else -1
            self.address = self.voters[(i + 1) % len(self.voters)]

    def _redirect(self, answer: dict[str, Any]) -> bool:
        """True (and the link moved) when ``answer`` is a voter's NOT_CONTROLLER."""
        if answer.get("ok") or answer.get("error") != "NotController":
            return False
        if answer.get("host") and answer.get("port"):
            self.address = (str(answer["host"]), int(answer["port"]))
        else:
            self._next_voter()
        return True

    # --- the session -------------------------------------------------------------------------
    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._writer is not None and self._reader is not None
        message = {"op": op, "chroot": self.chroot, **fields}
        answer = await exchange(self._reader, self._writer, message, "the controller closed the connection")
        if self._redirect(answer):
            raise NotController(f"not the active controller; moving to {self.display}")
        return answer

    async def _open_session(self) -> None:
        """Connect, register (a new broker epoch), catch up with the metadata the controller
        had then, and offer the cached topics it does not know."""
        self._reader, self._writer = await asyncio.open_connection(*self.address, limit=64 * MAX_LINE)
        hello = await self._request("hello", timeout_ms=max(self.heartbeat_ms * 6, 6000))
        self.session_timeout_s = int(hello.get("timeout_ms", 9000)) / 1000
        n = self.node
        answer = await self._request(
            "ctl_register",
            id=n.node_id,
            host=n.host,
            port=n.port,
            rack=n.rack,
            incarnation=str(n.incarnation_id),
            endpoints=n.endpoints,
        )
        if not answer.get("ok"):
            raise ControllerRefused(-1, str(answer.get("message")), str(answer.get("error", "")))
        self.epoch = int(answer["epoch"])
        end = int(answer["end"])
        while self.offset < end:
            await self._fetch(wait_ms=0)
        await self._offer_cached_topics()
        await self.listener.on_caught_up()

    async def _offer_cached_topics(self) -> None:
        """Adoption, in bounded requests: the cached topics whose names the image lacks."""
        image_names = self._image_names()
        missing = [t for t in self.listener.known_topics() if t["name"] not in image_names]
        for chunk in _chunks(missing):
            answer = await self._request("ctl_adopt", topics=chunk)
            if not answer.get("ok"):
                log.warning("The controller did not take the cached topics: %s", answer.get("message"))
                return
            while self.offset < int(answer["end"]):
                await self._fetch(wait_ms=0)

    def _image_names(self) -> set[str]:
        image = getattr(self.listener, "image", None)
        return set(image.topics) if image is not None else set()

    async def _fetch(self, wait_ms: int) -> None:
        """One fetch of the metadata log (the heartbeat too): apply what it brings."""
        answer = await self._request("ctl_watch", offset=self.offset, wait_ms=wait_ms)
        if not answer.get("ok"):
            raise ConnectionError(f"metadata fetch refused: {answer.get('message')}")
        if "snapshot" in answer:
            await self._load_snapshot(int(answer["snapshot"]))
        records = [(int(o), MetadataRecord.from_wire(r)) for o, r in answer.get("records", [])]
        if records:
            await self.listener.on_records(records)
            await self._advance(records[-1][0])

    async def _load_snapshot(self, end: int) -> None:
        """The log before ``end`` is only in the controller's snapshot: read it in pages into a
        fresh image (Kafka's FetchSnapshot), then follow the log from ``end``."""
        image = MetadataImage()
        position = 0
        while True:
            page = await self._request("ctl_snapshot", end=end, position=position)
            if not page.get("ok"):
                raise ConnectionError(f"snapshot read refused: {page.get('message')}")
            for data in page["records"]:
                image.replay(MetadataRecord.from_wire(data))
            position += len(page["records"])
            if page["done"]:
                break
        image.version = end - 1
        log.info("Loaded the controller's metadata snapshot ending at offset %d", end)
        await self.listener.on_snapshot(image)
        await self._advance(end - 1)

    async def _advance(self, offset: int) -> None:
        async with self._applied:
            self.offset = max(self.offset, offset)
            self._applied.notify_all()

    async def wait_applied(self, offset: int, timeout_s: float) -> bool:
        """Until the metadata up to ``offset`` is applied here (read-your-writes for a call)."""
        async with self._applied:
            try:
                await asyncio.wait_for(
                    self._applied.wait_for(lambda: self.offset >= offset), max(timeout_s, 0.001)
                )
            except TimeoutError:
                return False
        return True

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
                self._next_voter()
                if loop.time() >= deadline:
                    raise ControllerUnavailable(
                        f"Timed out waiting for the controller at {self.display}: {exc}"
                    ) from None
                await asyncio.sleep(0.2)

    async def start(self, timeout_s: float = 30.0) -> None:
        """Register within ``timeout_s`` and catch up with the metadata; then keep fetching it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        duplicate_until: float | None = None
        while True:
            try:
                await self._open_session()
                break
            except ControllerRefused as exc:
                # NodeExists: a session of this id is still open on the controller. After a
                # kill -9 and a quick restart it is this broker's own previous incarnation, whose
                # session the controller ends once it sees the connection closed or, at the
                # latest, after the session timeout - so retry until then, as Kafka's broker
                # retries DUPLICATE_BROKER_REGISTRATION. Past it the id really is taken.
                await self._drop()
                if exc.error != "NodeExists":
                    raise
                now = loop.time()
                if duplicate_until is None:
                    duplicate_until = now + self.session_timeout_s + 1.0
                    log.info(
                        "Broker id %d is still registered (a previous run?); retrying", self.node.node_id
                    )
                if now >= duplicate_until:
                    raise
                await asyncio.sleep(0.2)  # back-off while the old session ends
            except (OSError, ConnectionError) as exc:
                await self._drop()
                if not isinstance(exc, NotController):
                    self._next_voter()
                if loop.time() >= deadline:
                    raise ControllerUnavailable(
                        f"Timed out waiting for the controller at {self.display}: {exc}"
                    ) from None
                await asyncio.sleep(0.2)  # back-off while the controller starts
        log.info("Registered broker %d with the controller at %s", self.node.node_id, self.display)
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        redirects = 0  # NOT_CONTROLLER answers in a row, since the last registration
        while not self._closing:
            try:
                if self._writer is None:
                    await self._open_session()
                    redirects = 0
                    log.info("Registered again with the controller at %s", self.display)
                await self._fetch(wait_ms=self.heartbeat_ms)
            except asyncio.CancelledError:
                raise
            except (OSError, ConnectionError, ValueError, ControllerRefused) as exc:
                if self._closing:
                    return
                log.warning("Lost the controller session (%s); reconnecting", exc)
                await self._drop()
                if isinstance(exc, NotController):
                    redirects += 1
                    if redirects > 1:
                        # Voters naming each other (a stale leader during an election): back
                        # off as after any failure rather than spinning between them.
                        await asyncio.sleep(0.1)
                    continue  # the leader was named: go to it at once
                self._next_voter()
                await asyncio.sleep(0.5 if len(self.voters) == 1 else 0.1)

    async def _drop(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        """End the session: the controller fences this broker and moves its leaderships now
        (Kafka's controlled shutdown), and its id is free for the next start at once."""
        if self.epoch >= 0:
            with contextlib.suppress(ControllerUnavailable, ControllerRefused, OSError):
                await self.call("ctl_shutdown", 2.0, id=self.node.node_id, epoch=self.epoch)
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._drop()

    # --- admin calls -------------------------------------------------------------------------
    async def call(self, op: str, timeout_s: float = CALL_TIMEOUT_S, **fields: Any) -> dict[str, Any]:
        """One request on its own connection, answered within ``timeout_s`` - once this broker
        has applied the metadata records the request made (so the caller reads its own writes).
        Raises ControllerRefused on the controller's errors and ControllerUnavailable when it
        cannot be reached or does not answer in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        while True:
            answer = await self._call_once(op, deadline, timeout_s, fields)
            if not self._redirect(answer):
                break
            if loop.time() + CONNECT_RETRY_S >= deadline:
                raise ControllerUnavailable(f"No active controller answered within {timeout_s:g} s")
            await asyncio.sleep(CONNECT_RETRY_S)  # a new leader is being elected: retry (not sent twice)
        if not answer.get("ok"):
            raise ControllerRefused(int(answer.get("code", -1)), str(answer.get("message")))
        if "end" in answer and not await self.wait_applied(int(answer["end"]), deadline - loop.time()):
            raise ControllerUnavailable(
                f"The change was made, but its metadata did not reach this broker within {timeout_s:g} s"
            )
        return answer

    async def _call_once(
        self, op: str, deadline: float, timeout_s: float, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Send ``op`` once (connecting to the voters in turn until the deadline) and read its answer."""
        loop = asyncio.get_running_loop()
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
                self._next_voter()
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
        return decode(line)
