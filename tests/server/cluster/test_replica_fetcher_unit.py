"""Unit tests of the replica fetcher's error handling (issue 12): one partition whose data cannot
be applied is marked failed, logged once, and does not keep the others of the same response from
being applied; a repeating error is logged when it starts and then summarised, never silently."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from kcli.server.cluster import replica_fetcher
from kcli.server.cluster.replica_fetcher import RepeatingLog, ReplicaFetcher, _Fetching


class FakeLog:
    def __init__(self, broken: bool = False):
        self.broken = broken
        self.log_end_offset = 0
        self.log_start_offset = 0
        self.high_watermark = 0

    def append_as_follower(self, records: bytes) -> int:
        if self.broken:
            raise RuntimeError("disk on fire")
        self.log_end_offset += len(records)
        return self.log_end_offset

    def delete_records_before(self, offset: int) -> int:
        assert offset <= self.high_watermark, "log start moved beyond the high watermark"
        self.log_start_offset = offset
        return offset


def partition(name: str, broken: bool = False) -> Any:
    log = FakeLog(broken)
    return SimpleNamespace(
        topic=name,
        index=0,
        leader_epoch=3,
        log=log,
        append_fetched=lambda records, _epoch: log.append_as_follower(records),
        wake_fetchers=lambda: None,
    )


def answer(name: str, records: bytes, hw: int, start: int) -> Any:
    data = SimpleNamespace(
        partition_index=0, error_code=0, records=records, high_watermark=hw, log_start_offset=start
    )
    return SimpleNamespace(topic=name, partitions=[data])


class FakeConnection:
    def __init__(self, response: Any):
        self.response = response

    async def request(self, *_args: Any, **_kwargs: Any) -> Any:
        return self.response


def test_a_failing_partition_is_marked_failed_and_the_others_are_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        broker = SimpleNamespace(node_id=1, broker_node=lambda _id: None)
        fetcher = ReplicaFetcher(broker, 0)  # type: ignore[arg-type]
        await fetcher.close()  # drive it by hand
        bad, good = partition("bad", broken=True), partition("good")
        fetcher.set_partitions([bad, good])
        for state in fetcher.states.values():
            state.truncated = True
        response = SimpleNamespace(responses=[answer("bad", b"xxxx", 4, 0), answer("good", b"yyyyyy", 6, 2)])
        await fetcher._fetch(FakeConnection(response), list(fetcher.states.values()))  # type: ignore[arg-type]
        # The good partition got its data, then the high watermark, then the log start offset.
        assert (good.log.log_end_offset, good.log.high_watermark, good.log.log_start_offset) == (6, 6, 2)
        assert ("bad", 0) not in fetcher.states and fetcher.failed == {("bad", 0): 3}
        fetcher.set_partitions([bad, good])  # same leadership: stays failed
        assert ("bad", 0) not in fetcher.states
        bad.leader_epoch = 4
        fetcher.set_partitions([bad, good])  # a new leadership gets a fresh start
        assert ("bad", 0) in fetcher.states and not fetcher.failed

    with caplog.at_level(logging.ERROR, logger="kafka.server.ReplicaFetcherThread"):
        asyncio.run(main())
    failures = [r for r in caplog.records if "marked as failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


def test_a_repeating_error_is_logged_when_it_starts_and_then_summarised(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(replica_fetcher.time, "monotonic", lambda: now[0])
    errors = RepeatingLog()
    with caplog.at_level(logging.WARNING, logger="kafka.server.ReplicaFetcherThread"):
        for _ in range(10):
            errors.report("fetch failed")
            now[0] += 1.0
        now[0] += replica_fetcher.REPEAT_LOG_INTERVAL_S
        errors.report("fetch failed")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "fetch failed"
    assert len(messages) == 2 and "10 more time(s)" in messages[1]


def test_a_refusal_by_the_leader_backs_the_partition_off() -> None:
    state = _Fetching(partition("p"), 3)  # type: ignore[arg-type]
    fetcher = SimpleNamespace(broker=SimpleNamespace(node_id=1), leader_id=0)
    ReplicaFetcher._pause(fetcher, state, 6)  # type: ignore[arg-type]
    assert state.paused and state.last_error == 6


def test_close_ends_a_fetcher_whose_cancellation_was_lost() -> None:
    """Python 3.11's wait_for can swallow a cancellation; a fetcher that kept looping held the
    broker's shutdown forever (asyncio.run cancels the remaining tasks only once)."""

    class SwallowOnce(FakeConnection):
        requests = 0
        swallowed = False

        async def request(self, *_args: Any, **_kwargs: Any) -> Any:
            self.requests += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if self.swallowed:
                    raise
                self.swallowed = True  # the first cancellation is lost, as in the race
            return self.response

    async def main() -> None:
        broker = SimpleNamespace(node_id=1, broker_node=lambda _id: None, partitions={})
        fetcher = ReplicaFetcher(broker, 0)  # type: ignore[arg-type]
        conn = SwallowOnce(SimpleNamespace(responses=[answer("t", b"", 0, 0)]))

        async def connection() -> Any:
            return conn

        fetcher._connection = connection  # type: ignore[method-assign]
        fetcher.set_partitions([partition("t")])
        for state in fetcher.states.values():
            state.truncated = True
        while conn.requests < 3:  # it is fetching
            await asyncio.sleep(0.01)
        before = conn.requests
        # Without the closing flag the fetcher loops until wait_for cancels it a second time.
        await asyncio.wait_for(fetcher.close(), 2)
        assert conn.swallowed and conn.requests - before <= 1

        manager = replica_fetcher.ReplicaFetcherManager(broker)  # type: ignore[arg-type]
        await manager.close()
        broker.partitions[("t", 0)] = SimpleNamespace(is_leader=False, leader=0)
        manager.update()  # metadata applied after the close starts no fetcher
        assert manager.fetchers == {}

    asyncio.run(main())
