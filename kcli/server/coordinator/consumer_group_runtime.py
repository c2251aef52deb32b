"""The consumer groups' state, its writes to ``__consumer_offsets`` and their timers (KIP-848).

Every change of a consumer group is a list of Kafka's records (:mod:`consumer_group_records`).
They are appended to the group's ``__consumer_offsets`` partition through the broker's one append
path (the classic coordinator's store, acks as ``offsets.commit.required.acks``) and replayed into
the in-memory group at once, in call order; the caller answers when the append is acknowledged.
When it is not (too few in-sync replicas, leadership lost) the group is put back as it was and
the member gets Kafka's mapped error, so it retries. Loading a partition (start-up, becoming its
leader after a failover) replays the same records, so a group survives ``kill -9`` and
coordinator moves. Session, rebalance, join and sync deadlines are ``loop.call_later`` handles
keyed by (kind, group, member); an expired one fences the member (:meth:`ConsumerGroupRuntime.fence`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from kcli.server.base.consumer_group_config import ConsumerGroupConfig
from kcli.server.coordinator import errors as E
from kcli.server.coordinator.assignors import BUILTIN, Assignor
from kcli.server.coordinator.consumer_group import ConsumerGroup, Member
from kcli.server.coordinator.consumer_group_records import GROUP_EPOCH, MemberState, Record, decode, encode
from kcli.server.coordinator.store import AppendError
from kcli.server.coordinator.subscriptions import BrokerTopics, RegexResolver, TopicView

if TYPE_CHECKING:
    from kcli.server.coordinator.group_coordinator import GroupCoordinator

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")


class ConsumerGroupRuntime:
    """The consumer groups whose ``__consumer_offsets`` partition this broker leads: their state,
    writes and timers. :meth:`fence` (removing a member) is the coordinator's."""

    def __init__(
        self,
        classic: GroupCoordinator,
        config: ConsumerGroupConfig | None = None,
        topics: TopicView | None = None,
    ):
        self.classic = classic
        broker = classic.broker
        if config is None:
            config = ConsumerGroupConfig.from_settings(broker.config.raw if broker is not None else {})
        self.config = config
        if topics is None:
            assert broker is not None
            topics = BrokerTopics(broker)
        self.topics = topics
        self.groups: dict[str, ConsumerGroup] = {}
        self.assignors: dict[str, Assignor] = {name: BUILTIN[name]() for name in config.assignors}
        self.regexes = RegexResolver()
        self._timers: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        self._last_write: dict[str, asyncio.Future[int]] = {}
        self._write_seq = itertools.count(1)
        self._issued: dict[str, int] = {}
        self._closed = False

    # --- which groups are consumer groups ----------------------------------------------------
    def get(self, group_id: str) -> ConsumerGroup | None:
        return self.groups.get(group_id)

    def is_consumer_group(self, group_id: str) -> bool:
        return group_id in self.groups

    def has_members(self, group_id: str) -> bool:
        group = self.groups.get(group_id)
        return group is not None and bool(group.members)

    # --- loading and leadership --------------------------------------------------------------
    def load(self, partitions: set[int] | None = None) -> None:
        """Replay the consumer-group records of ``__consumer_offsets`` (every partition or only
        ``partitions``), then start the members' session timers."""
        count = 0
        for key, value in self.classic.store.read_all(partitions):
            try:
                record = decode(key, value)
            except (ValueError, UnicodeDecodeError) as exc:
                log.warning("Skipping an unreadable consumer group record: %s", exc)
                continue
            if record is not None:
                self._replay(record)
                count += 1
        if count:
            log.info("Loaded %d consumer group(s) from %d record(s)", len(self.groups), count)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        for group in self.groups.values():
            if partitions is not None and self.classic.partition_for(group.group_id) not in partitions:
                continue
            for member in group.members.values():
                self.schedule_session(group.group_id, member)
                if member.state is MemberState.UNREVOKED_PARTITIONS and not member.uses_classic_protocol:
                    self._schedule_rebalance_timeout(group.group_id, member)

    def on_leadership(self, topic: str, partition: int, is_leader: bool) -> None:
        from kcli.server.coordinator.store import OFFSETS_TOPIC

        if topic != OFFSETS_TOPIC or self._closed:
            return
        for group_id in [g for g in self.groups if self.classic.partition_for(g) == partition]:
            self._forget(group_id)
        if is_leader:
            self.load({partition})

    def _forget(self, group_id: str) -> None:
        self.groups.pop(group_id, None)
        for key in [k for k in self._timers if k[1] == group_id]:
            self._timers.pop(key).cancel()

    async def close(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # --- replay and writes ---------------------------------------------------------------------
    def _replay(self, record: Record) -> None:
        group = self.groups.get(record.group_id)
        if record.kind == GROUP_EPOCH and record.value is None:
            if group is not None:
                del self.groups[record.group_id]
            return
        if group is None:
            if record.value is None:
                return  # a tombstone of a group we do not have
            group = self.groups[record.group_id] = ConsumerGroup(record.group_id)
        group.replay(record)

    def commit(
        self,
        group_id: str,
        records: list[Record],
        extra: list[tuple[bytes, bytes | None]] = (),  # type: ignore[assignment]
    ) -> asyncio.Future[int]:
        """Append ``records`` (and ``extra`` raw records, e.g. a classic group's tombstone) to the
        group's partition now, apply them now, and return a future of the answer's error code:
        NONE once acknowledged, else Kafka's mapped error after undoing the change when no later
        write of the group built on it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        if not records and not extra:
            previous = self._last_write.get(group_id)
            if previous is None or previous.done():
                done.set_result(
                    previous.result() if previous is not None and not previous.cancelled() else E.NONE
                )
                return done
            # Nothing to write, but the answer must not reveal state that is not yet durable.
            previous.add_done_callback(
                lambda f: done.done() or done.set_result(0 if f.cancelled() else f.result())
            )
            return done
        group = self.groups.get(group_id)
        snapshot = group.snapshot() if group is not None else None
        seq = next(self._write_seq)
        self._issued[group_id] = seq
        encoded = list(extra) + [encode(r) for r in records]
        try:
            pending = self.classic.store.append(self.classic.partition_for(group_id), encoded)
        except Exception as exc:
            log.exception("Failed to append the records of consumer group %s", group_id)
            pending = loop.create_future()
            pending.set_exception(AppendError(ErrorCode.unknown_server_error, str(exc)))
        for record in records:
            self._replay(record)

        def settled(fut: asyncio.Future[None]) -> None:
            exc = None if fut.cancelled() else fut.exception()
            if exc is None and not fut.cancelled():
                done.set_result(E.NONE)
                return
            raw = exc.code if isinstance(exc, AppendError) else ErrorCode.unknown_server_error
            code = E.from_append_error(raw)
            log.warning("Failed to write the records of consumer group %s: %s", group_id, exc)
            if self._issued.get(group_id) == seq and not self._closed:
                if snapshot is None:
                    self.groups.pop(group_id, None)
                else:
                    restored = self.groups.get(group_id) or ConsumerGroup(group_id)
                    restored.restore(snapshot)
                    self.groups[group_id] = restored
            done.set_result(code)

        if pending.done():
            settled(pending)
        else:
            pending.add_done_callback(settled)
        self._last_write[group_id] = done
        return done

    # --- timers ---------------------------------------------------------------------------------
    def _schedule(
        self, kind: str, group_id: str, member_id: str, delay_ms: int, callback: Callable[[], None]
    ) -> None:
        self.cancel(kind, group_id, member_id)
        if self._closed:
            return

        def fire() -> None:
            self._timers.pop((kind, group_id, member_id), None)
            if self._closed:
                return
            try:
                callback()
            except Exception:
                log.exception("Consumer group timer %s of %s/%s failed", kind, group_id, member_id)

        loop = asyncio.get_running_loop()
        self._timers[(kind, group_id, member_id)] = loop.call_later(max(delay_ms, 0) / 1000, fire)

    def schedule_if_absent(
        self, kind: str, group_id: str, member_id: str, delay_ms: int, callback: Callable[[], None]
    ) -> None:
        if (kind, group_id, member_id) not in self._timers:
            self._schedule(kind, group_id, member_id, delay_ms, callback)

    def cancel(self, kind: str, group_id: str, member_id: str) -> None:
        timer = self._timers.pop((kind, group_id, member_id), None)
        if timer is not None:
            timer.cancel()

    def cancel_all(self, group_id: str, member_id: str) -> None:
        for kind in ("session", "rebalance", "join", "sync"):
            self.cancel(kind, group_id, member_id)

    def schedule_session(self, group_id: str, member: Member, timeout_ms: int | None = None) -> None:
        if timeout_ms is None:
            classic = member.subscription.classic
            timeout_ms = classic.session_timeout_ms if classic is not None else self.config.session_timeout_ms
        member_id = member.member_id
        self._schedule(
            "session",
            group_id,
            member_id,
            timeout_ms,
            lambda: self.fence_later(group_id, member_id, "the member session expired"),
        )

    def _schedule_rebalance_timeout(self, group_id: str, member: Member) -> None:
        member_id, epoch, timeout = member.member_id, member.epoch, member.rebalance_timeout_ms

        def expired() -> None:
            group = self.groups.get(group_id)
            current = group.members.get(member_id) if group is not None else None
            if (
                current is not None
                and current.epoch == epoch
                and current.state is MemberState.UNREVOKED_PARTITIONS
            ):
                log.info(
                    "[GroupId %s] Member %s fenced from the group because it failed to transition "
                    "from epoch %d within %dms.",
                    group_id,
                    member_id,
                    epoch,
                    timeout,
                )
                self.fence_later(group_id, member_id, None)

        self._schedule(
            "rebalance",
            group_id,
            member_id,
            timeout if timeout > 0 else self.config.session_timeout_ms,
            expired,
        )

    def fence_later(self, group_id: str, member_id: str, reason: str | None) -> None:
        """Remove a member from a timer (its write is not waited for; failures are logged)."""
        group = self.groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if group is None or member is None:
            return
        if reason is not None:
            log.info("[GroupId %s] Member %s fenced from the group because %s.", group_id, member_id, reason)
        self.fence(group, member)

    def fence(self, group: ConsumerGroup, member: Member) -> asyncio.Future[int]:
        """Remove ``member`` from ``group`` (write its records); the coordinator implements it."""
        raise NotImplementedError

    # --- subscriptions and metadata --------------------------------------------------------------
    def topics_of(self, member: Member) -> set[str]:
        topics = set(member.subscription.topic_names)
        if member.subscription.topic_regex:
            topics |= self.regexes.resolve(member.subscription.topic_regex, self.topics)
        return topics
