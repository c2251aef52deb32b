"""A lone broker is its own controller: the same Controller, in the broker's process.

Single-node mode (no ``zookeeper.connect``, no other controller) runs the very controller code a
cluster runs - its rules, its metadata log in the first log dir's ``__cluster_metadata-0``, KRaft's
records - behind this link, which stands in for the network one: admin calls are dispatched to
the ControllerService in process and the broker replays the committed records exactly as a
cluster broker replays the ones it fetches. Nothing about topics is decided twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kcli.server.cluster.controller_service import PAGE_RECORDS, ControllerService
from kcli.server.cluster.image import BrokerRegistration, MetadataImage
from kcli.server.cluster.link import CALL_TIMEOUT_S, ControllerLink, ControllerRefused, MetadataListener

log = logging.getLogger("kafka.server.BrokerLifecycleManager")


class LocalControllerLink(ControllerLink):
    def __init__(self, service: ControllerService, node: BrokerRegistration, listener: MetadataListener):
        super().__init__(("localhost", 0), "", node, listener)
        self.service = service
        self._session = object()  # the broker's one session: never ends while the process runs

    @property
    def display(self) -> str:
        return "the broker's own controller"

    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        if op == "hello":
            return {"ok": True}
        return await self.service.dispatch(self._session, {"op": op, **fields})

    async def _open_session(self) -> None:
        n = self.node
        answer = await self._request(
            "ctl_register",
            id=n.node_id,
            host=n.host,
            port=n.port,
            rack=n.rack,
            incarnation=str(n.incarnation_id),
        )
        if not answer.get("ok"):
            raise ControllerRefused(-1, str(answer.get("message")))
        self.epoch = int(answer["epoch"])
        while self.offset < int(answer["end"]):
            await self._fetch(wait_ms=0)
        await self.listener.on_caught_up()

    async def _fetch(self, wait_ms: int) -> None:
        """The records after what was applied, handed over as they are (no wire format)."""
        controller = self.service.controller
        await self.service.wait_for_change(self.offset, wait_ms / 1000)
        records = controller.records_after(self.offset, PAGE_RECORDS * 10)
        if records is None:  # behind the snapshot (cannot happen to the controller's own broker)
            assert controller.snapshot is not None
            end, snapshot = controller.snapshot
            image = MetadataImage()
            for rec in snapshot:
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
        """Stop following; the broker stays registered (its controller stops with it)."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.service.controller.close()
