"""A lone broker is its own controller: the same Controller, in the broker's process.

Single-node mode (no ``zookeeper.connect``, no other controller) runs the very controller code a
cluster runs - its rules, its metadata log in a log dir's ``__cluster_metadata-0``, KRaft's
records - behind this link, which stands in for the network one: admin calls go to the
ControllerService and the broker replays the committed records exactly as a cluster broker
replays the ones it fetches. Nothing about topics is decided twice.

As a KRaft combined node runs its controller on threads of its own, the controller runs on its
own event loop in a thread (:class:`ControllerThread`): encoding thousands of records and
flushing the metadata log never holds up the broker's clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from kcli.protocol.metadata_records import MetadataRecord
from kcli.server.cluster.controller import Controller
from kcli.server.cluster.controller_service import PAGE_RECORDS, ControllerService
from kcli.server.cluster.image import BrokerRegistration, MetadataImage
from kcli.server.cluster.link import CALL_TIMEOUT_S, ControllerLink, ControllerRefused, MetadataListener

log = logging.getLogger("kafka.server.BrokerLifecycleManager")

T = TypeVar("T")


class ControllerThread:
    """A ControllerService on an event loop of its own, in a daemon thread."""

    def __init__(self, controller: Controller, **service_options: Any):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kcli-controller", daemon=True)
        self.thread.start()

        async def make() -> ControllerService:
            return ControllerService(controller, **service_options)

        self.service = asyncio.run_coroutine_threadsafe(make(), self.loop).result()

    async def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()`` on the controller's loop from another loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(make(), self.loop))

    def stop(self) -> None:
        """Close the controller on its loop, then stop the loop and the thread."""

        async def close() -> None:
            self.service.controller.close()

        if self.loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), self.loop).result(30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


class LocalControllerLink(ControllerLink):
    def __init__(self, runner: ControllerThread, node: BrokerRegistration, listener: MetadataListener):
        super().__init__(("localhost", 0), "", node, listener)
        self.runner = runner
        self._session = object()  # the broker's one session: never ends while the process runs
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        runner.service.on_publish.append(lambda: loop.call_soon_threadsafe(self._wake.set))

    @property
    def display(self) -> str:
        return "the broker's own controller"

    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        if op == "hello":
            return {"ok": True}
        service = self.runner.service
        return await self.runner.run(lambda: service.dispatch(self._session, {"op": op, **fields}))

    async def _open_session(self) -> None:
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
            raise ControllerRefused(-1, str(answer.get("message")))
        self.epoch = int(answer["epoch"])
        while self.offset < int(answer["end"]):
            await self._fetch(wait_ms=0)
        await self.listener.on_caught_up()

    async def _fetch(self, wait_ms: int) -> None:
        """The committed records after what was applied, handed over as they are."""
        controller = self.runner.service.controller
        offset = self.offset

        async def after() -> tuple[list[tuple[int, MetadataRecord]] | None, Any]:
            return controller.records_after(offset, PAGE_RECORDS * 10), controller.snapshot

        self._wake.clear()
        records, snapshot = await self.runner.run(after)
        if records == [] and wait_ms:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait_ms / 1000)
            return
        if records is None:  # behind the snapshot (cannot happen to the controller's own broker)
            end, content = snapshot
            image = MetadataImage()
            for rec in content:
                image.replay(rec)
            image.version = end - 1
            await self.listener.on_snapshot(image)
            await self._advance(end - 1)
            return
        if records:
            await self.listener.on_records(records)
            await self._advance(records[-1][0])

    async def start(self, timeout_s: float = 30.0) -> None:
        await self._open_session()
        log.info("Registered broker %d with its own controller", self.node.node_id)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while not self._closing:
            try:
                await self._fetch(wait_ms=self.heartbeat_ms)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug applying metadata must not stop the broker following it
                log.exception("Applying the metadata failed; trying again")
                await asyncio.sleep(0.5)

    async def call(self, op: str, timeout_s: float = CALL_TIMEOUT_S, **fields: Any) -> dict[str, Any]:
        """In process: answered once this broker has applied the records the call made."""
        answer = await self._request(op, **fields)
        if not answer.get("ok"):
            raise ControllerRefused(int(answer.get("code", -1)), str(answer.get("message")))
        if "end" in answer:
            await self.wait_applied(int(answer["end"]), max(timeout_s, CALL_TIMEOUT_S))
        return answer

    async def close(self) -> None:
        """Stop following and stop the controller (the broker stays registered: its controller
        stops with it)."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await asyncio.to_thread(self.runner.stop)
