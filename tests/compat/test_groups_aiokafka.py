"""Consumer groups with aiokafka: split, clean leave, SIGKILL expiry, no loss, commits at the end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer

from tests.broker_process import BrokerProcess
from tests.compat.test_groups_confluent import (
    SESSION_MS,
    committed_offsets,
    create_topic,
    group_broker,
    log_end_offsets,
    produce,
    python_client_group_settings,
    stable_split,
)
from tests.waiting import wait_for

__all__ = ["group_broker"]  # the fixture, re-used from the confluent-kafka tests


async def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """``wait_for`` off the event loop, so aiokafka keeps heartbeating while we poll the broker."""
    return await asyncio.to_thread(wait_for, check, timeout, what)


class TaskConsumer:
    """An aiokafka group consumer reading in its own task."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str):
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, **python_client_group_settings(group, name)
        )
        self.values: list[bytes] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> TaskConsumer:
        await self.consumer.start()
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                self.values.extend(r.value for r in records)

    async def close(self) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self.consumer.stop()  # commits (auto-commit) and sends LeaveGroup


KILLED_CONSUMER = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer
async def main():
    c = AIOKafkaConsumer(sys.argv[3], bootstrap_servers=sys.argv[1], group_id=sys.argv[2], client_id="doomed",
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=int(sys.argv[4]), heartbeat_interval_ms=500, max_poll_interval_ms=20000)
    await c.start()
    while True:
        await c.getmany(timeout_ms=200)
asyncio.run(main())
"""


def test_aiokafka_group_split_leave_crash_no_loss(group_broker: BrokerProcess) -> None:
    bootstrap = group_broker.bootstrap
    topic, group = f"aio-{uuid.uuid4().hex[:6]}", f"aiog-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produced = produce(bootstrap, topic, 300)

    async def scenario() -> None:
        nonlocal produced
        consumers = [await TaskConsumer(bootstrap, group, topic, f"aio{i}").start() for i in range(3)]
        closed: list[TaskConsumer] = []
        doomed: subprocess.Popen[bytes] | None = None
        try:
            await until(stable_split(bootstrap, group, 3, 6), 40, "3 aiokafka members sharing 6 partitions")
            left = consumers.pop()
            await left.close()
            closed.append(left)
            await until(stable_split(bootstrap, group, 2, 6), 30, "2 members after a clean leave")

            doomed = subprocess.Popen(
                [sys.executable, "-c", KILLED_CONSUMER, bootstrap, group, topic, str(SESSION_MS)]
            )
            await until(stable_split(bootstrap, group, 3, 6), 40, "the subprocess consumer to join")
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(10)
            killed_at = time.monotonic()
            await until(
                stable_split(bootstrap, group, 2, 6), SESSION_MS / 1000 + 30, "the dead member to expire"
            )
            assert time.monotonic() - killed_at >= SESSION_MS / 1000 - 1.5

            produced |= await asyncio.to_thread(produce, bootstrap, topic, 300, 300)
            await until(
                lambda: produced <= {v for c in consumers + closed for v in c.values},
                40,
                "every record consumed",
            )
        finally:
            for c in consumers:
                await c.close()
            if doomed is not None and doomed.poll() is None:
                doomed.kill()
                doomed.wait()

    asyncio.run(scenario())
    ends = log_end_offsets(bootstrap, topic, 6)
    committed = committed_offsets(bootstrap, group)
    assert {p: committed.get((topic, p)) for p in range(6)} == ends
