"""The controller's request handling: broker sessions, metadata fetches and admin operations.

Spoken as JSON lines (``kcli.zookeeper.protocol``), every operation named ``ctl_*``. It is hosted
by the ZooKeeper-mode coordination service and by a KRaft ``process.roles=controller`` node;
clients never talk to it - brokers do, as Kafka's brokers talk to their controller. A broker's
session is the connection it registered on: when that connection closes (a killed broker's
sockets close at once) or stops fetching for the session timeout, the broker is fenced and its
leaderships move.

Brokers follow the metadata log as KRaft brokers fetch ``__cluster_metadata``: ``ctl_watch``
names the last offset the broker applied and is answered with the records after it (a bounded
page, at once when there are any, else when a change is committed or the heartbeat interval
passes); a broker too far behind (the records are in a snapshot now) reads the snapshot in pages
(``ctl_snapshot``) first. Every answer is one bounded line whatever the cluster's size.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.cluster.controller import Controller
from kcli.server.cluster.image import BrokerRegistration, TopicState
from kcli.server.cluster.replication_control import ControllerError, NewPartitions, NewTopic

log = logging.getLogger("kafka.controller.QuorumController")

MAX_WATCH_S = 30.0
PAGE_RECORDS = 2000  # records per answer: each answer line stays well under a few MiB
ADOPT_MAX_TOPICS = 500
COMMIT_TIMEOUT_S = 15.0


def _result(result: TopicState | ControllerError) -> dict[str, Any]:
    """One topic's CreateTopics result on the wire: the topic, or its error code and message."""
    if isinstance(result, TopicState):
        return {"topic": result.to_json()}
    return {"code": int(result.code), "message": result.message}


class ControllerService:
    def __init__(
        self,
        controller: Controller,
        grace_s: float = 9.0,
        rebalance_interval_s: float | None = 300.0,
        imbalance_percent: int = 10,
    ):
        """``rebalance_interval_s``: Kafka's leader.imbalance.check.interval.seconds (None turns
        auto.leader.rebalance.enable off); ``imbalance_percent``: leader.imbalance.per.broker.percentage."""
        self.controller = controller
        self._changed = asyncio.Condition()
        self._session_broker: dict[Any, int] = {}
        # Called (on this service's loop) whenever records are committed: a broker in the same
        # process, on another loop, is woken through it.
        self.on_publish: list[Callable[[], None]] = []
        # With a quorum (raft_node): False once this controller is no longer the leader; the
        # quorum's DescribeQuorum answer; where the active controller is, for brokers sent away.
        self.active = True
        self.describe_quorum: Callable[[], dict[str, Any]] | None = None
        self.observers: dict[int, tuple[int, int, int]] = {}  # broker -> (end, fetch ms, caught up ms)
        loop = asyncio.get_running_loop()
        if any(not b.fenced for b in controller.image.brokers.values()):
            loop.call_later(grace_s, self._end_grace)
        if rebalance_interval_s is not None:
            loop.call_later(rebalance_interval_s, self._rebalance, rebalance_interval_s, imbalance_percent)

    def _rebalance(self, interval_s: float, imbalance_percent: int) -> None:
        """Move leadership back to preferred replicas now and then, as Kafka's controller does."""
        if not self.active:
            return
        try:
            if self.controller.rebalance_preferred_leaders(imbalance_percent):
                self._publish()
        except Exception:
            log.exception("Preferred leader rebalance failed")
        asyncio.get_running_loop().call_later(interval_s, self._rebalance, interval_s, imbalance_percent)

    def _end_grace(self) -> None:
        """Brokers registered before a restart had ``grace_s`` to come back; fence the rest."""
        if not self.active:
            return
        self.controller.fence_unregistered(set(self._session_broker.values()))
        self._publish()

    # --- sessions ----------------------------------------------------------------------------
    def session_ended(self, session: Any) -> None:
        node_id = self._session_broker.pop(session, None)
        if not self.active:
            return
        if node_id is not None and node_id not in self._session_broker.values():
            self.controller.fence_broker(node_id)
            self._publish()

    def _publish(self) -> None:
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(notify())
        for wake in self.on_publish:
            wake()

    def _end(self) -> dict[str, Any]:
        """Part of every successful mutation's answer: the offset its records end at, so the
        broker answers its client once it has applied them."""
        return {"ok": True, "end": self.controller.image.version}

    # --- requests ----------------------------------------------------------------------------
    def deactivate(self) -> None:
        """This controller lost the leadership: waiters are released (answered NOT_CONTROLLER)."""
        self.active = False
        self._publish()

    async def wait_committed(self, offset: int, timeout_s: float = COMMIT_TIMEOUT_S) -> bool:
        """Until a majority has the records up to ``offset`` (at once with one voter); False when
        the leadership was lost first or the time ran out - the change may not be committed."""
        c = self.controller
        if c.committed >= offset:
            return True
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: c.committed >= offset or not self.active), timeout_s
                )
            except TimeoutError:
                return False
        return self.active and c.committed >= offset

    def _quorum_info(self) -> dict[str, Any]:
        """DescribeQuorum: the quorum's voters (one, here, when there is no Raft) and the brokers
        following the log as observers."""
        now = int(time.time() * 1000)
        c = self.controller
        if self.describe_quorum is not None:
            info = self.describe_quorum()
        else:
            node = c.log.node_id
            end = c.log.end_offset
            info = {
                "leader": node,
                "epoch": c.log.epoch,
                "hw": c.committed + 1,
                "voters": [[node, end, now, now]],
                "nodes": [],
            }
        voters = {v[0] for v in info["voters"]}
        info["observers"] = info.pop("controller_observers", []) + [
            [b, *progress] for b, progress in sorted(self.observers.items()) if b not in voters
        ]
        return {"ok": True, **info}

    async def dispatch(self, session: Any, request: dict[str, Any]) -> dict[str, Any]:
        if not self.active:
            return {"ok": False, "error": "NotController", "code": int(ErrorCode.not_controller),
                    "message": "This controller is no longer the active controller"}  # fmt: skip
        answer = await self._dispatch(session, request)
        if answer.get("ok") and "end" in answer and not await self.wait_committed(int(answer["end"])):
            return {
                "ok": False,
                "error": "NotController",
                "code": int(ErrorCode.not_controller),
                "message": "This controller lost its leadership before the change was committed",
            }
        if not self.active:
            return {"ok": False, "error": "NotController", "code": int(ErrorCode.not_controller),
                    "message": "This controller is no longer the active controller"}  # fmt: skip
        return answer

    async def _dispatch(self, session: Any, request: dict[str, Any]) -> dict[str, Any]:
        op = str(request.get("op"))
        try:
            if op == "ctl_watch":
                offset = int(request.get("offset", -1))
                broker = self._session_broker.get(session)
                if broker is not None:
                    now = int(time.time() * 1000)
                    caught_up = (
                        now
                        if offset >= self.controller.committed
                        else self.observers.get(broker, (0, 0, -1))[2]
                    )
                    self.observers[broker] = (offset + 1, now, caught_up)
                return await self._watch(
                    offset,
                    float(request.get("wait_ms", 1000)) / 1000,
                    int(request.get("max_records", PAGE_RECORDS)),
                )
            if op == "ctl_describe_quorum":
                return self._quorum_info()
            if op == "ctl_snapshot":
                return self._snapshot_page(
                    int(request["end"]),
                    int(request.get("position", 0)),
                    int(request.get("max_records", PAGE_RECORDS)),
                )
            if op == "ctl_register":
                return self._register(session, request)
            if op == "ctl_shutdown":
                return self._shutdown(int(request["id"]), int(request.get("epoch", -1)))
            answer = self._mutate(op, request)
        except ControllerError as exc:
            return {"ok": False, "error": "Controller", "code": exc.code, "message": exc.message}
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            return {"ok": False, "error": "BadArguments", "message": f"{op}: {exc!r}"}
        except OSError as exc:  # the metadata log could not be written (a full disk): nothing changed
            code = getattr(exc, "error_code", ErrorCode.kafka_storage_error)
            return {"ok": False, "error": "Storage", "code": int(code), "message": str(exc)}
        self._publish()
        return answer

    async def _watch(self, offset: int, wait_s: float, max_records: int) -> dict[str, Any]:
        """The committed records after ``offset``: at once when there are any, else when a change
        is committed or after ``wait_s`` (the broker's heartbeat interval; each watch is also the
        broker's heartbeat). A broker behind the log's start is told to read the snapshot."""
        c = self.controller
        await self.wait_for_change(offset, wait_s)
        records = c.records_after(offset, max(1, min(max_records, PAGE_RECORDS)))
        if records is None:
            assert c.snapshot is not None
            return {"ok": True, "snapshot": c.snapshot[0], "last": c.committed}
        return {"ok": True, "records": [[o, r.to_wire()] for o, r in records], "last": c.committed}

    async def wait_for_change(self, offset: int, wait_s: float) -> None:
        """Until the log has records after ``offset``, at most ``wait_s`` (capped)."""
        wait_s = min(max(wait_s, 0.0), MAX_WATCH_S)
        c = self.controller
        if c.committed > offset or wait_s == 0:
            return
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: c.committed > offset or not self.active), wait_s
                )
            except TimeoutError:
                pass

    def _snapshot_page(self, end: int, position: int, max_records: int) -> dict[str, Any]:
        """Records ``position``.. of the snapshot ending at ``end`` (Kafka's FetchSnapshot)."""
        snapshot = self.controller.snapshot
        if snapshot is None or snapshot[0] != end:
            return {"ok": False, "error": "SnapshotNotFound", "message": f"no snapshot ending at {end}"}
        records = snapshot[1][position : position + max(1, min(max_records, PAGE_RECORDS))]
        return {
            "ok": True,
            "records": [r.to_wire() for r in records],
            "done": position + len(records) >= len(snapshot[1]),
        }

    def _register(self, session: Any, request: dict[str, Any]) -> dict[str, Any]:
        node_id = int(request["id"])
        if node_id in self._session_broker.values() and self._session_broker.get(session) != node_id:
            return {
                "ok": False,
                "error": "NodeExists",
                "message": f"Another broker is registered with id {node_id} (broker.id/node.id must be unique)",
            }
        incarnation = uuid.UUID(str(request["incarnation"])) if request.get("incarnation") else uuid.uuid4()
        reg = BrokerRegistration(
            node_id,
            str(request["host"]),
            int(request["port"]),
            request.get("rack"),
            incarnation_id=incarnation,
            endpoints=[
                {
                    "name": str(e["name"]),
                    "host": str(e["host"]),
                    "port": int(e["port"]),
                    "securityProtocol": int(e.get("securityProtocol", 0)),
                }
                for e in request.get("endpoints") or []
            ],
        )
        self._session_broker[session] = node_id
        epoch = self.controller.register_broker(reg)
        self._publish()
        return {"ok": True, "epoch": epoch, "end": self.controller.image.version}

    def _shutdown(self, node_id: int, epoch: int) -> dict[str, Any]:
        """A broker stopping cleanly (Kafka's controlled shutdown): fenced now, its leaderships
        moved, and its id free at once for the next start - without waiting for its session's
        connection to be seen closed."""
        broker = self.controller.image.brokers.get(node_id)
        if broker is None or (epoch >= 0 and broker.epoch != epoch):
            return {"ok": True}  # an older incarnation's goodbye: nothing to do
        for session in [s for s, n in self._session_broker.items() if n == node_id]:
            del self._session_broker[session]
        self.controller.fence_broker(node_id)
        self._publish()
        return {"ok": True}

    def _mutate(self, op: str, r: dict[str, Any]) -> dict[str, Any]:
        c = self.controller
        if op == "ctl_create_topics":
            requests = [
                NewTopic(
                    str(t["name"]),
                    int(t.get("partitions", -1)),
                    int(t.get("replication_factor", -1)),
                    {int(k): [int(x) for x in v] for k, v in (t.get("assignment") or {}).items()} or None,
                    {str(k): str(v) for k, v in (t.get("configs") or {}).items()},
                    bool(t.get("internal", False)),
                )
                for t in r["topics"]
            ]
            results = c.create_topics(requests, bool(r.get("validate_only", False)))
            return {**self._end(), "results": [_result(x) for x in results]}
        if op == "ctl_delete_topic":
            c.delete_topic(str(r["name"]))
        elif op == "ctl_create_partitions":
            wanted = [
                NewPartitions(
                    str(t["name"]),
                    int(t["count"]),
                    None
                    if t.get("assignment") is None
                    else [[int(x) for x in reps] for reps in t["assignment"]],
                )
                for t in r["topics"]
            ]
            errors = c.create_partitions(wanted, bool(r.get("validate_only")))
            return {**self._end(), "results": [None if e is None else [e.code, e.message] for e in errors]}
        elif op == "ctl_alter_configs":
            c.alter_topic_configs(str(r["name"]), {str(k): str(v) for k, v in r["configs"].items()})
        elif op == "ctl_alter_partition":
            c.alter_partition(
                str(r["topic"]),
                int(r["partition"]),
                int(r["leader"]),
                int(r["leader_epoch"]),
                int(r["partition_epoch"]),
                [int(x) for x in r["isr"]],
            )
        elif op == "ctl_offline_replicas":  # a broker's log dir failed
            c.offline_replicas(int(r["broker"]), [(str(t), int(p)) for t, p in r["partitions"]])
        elif op == "ctl_elect_leaders":
            wanted = r.get("partitions")
            parts = None if wanted is None else [(str(t), int(p)) for t, p in wanted]
            results = c.elect_leaders(int(r.get("election_type", 0)), parts)
            return {**self._end(), "results": [[x.topic, x.partition, x.code, x.message] for x in results]}
        elif op == "ctl_alter_reassignments":
            from kcli.server.cluster.reassignment import Reassignment

            wanted = [
                Reassignment(str(t), int(p), None if target is None else [int(x) for x in target])
                for t, p, target in r["partitions"]
            ]
            errors = c.alter_reassignments(wanted)
            return {**self._end(), "results": [None if e is None else [e.code, e.message] for e in errors]}
        elif op == "ctl_alter_acls":
            c.alter_acls(list(r.get("add") or []), list(r.get("remove") or []))
        elif op == "ctl_alter_scram":
            c.alter_scram(list(r.get("upserts") or []), list(r.get("deletions") or []))
        elif op == "ctl_producer_ids":
            start = c.allocate_producer_ids(int(r.get("count", 1000)), int(r.get("broker", -1)))
            return {**self._end(), "start": start}
        elif op == "ctl_adopt":
            topics = list(r["topics"])
            if len(topics) > ADOPT_MAX_TOPICS:
                raise ValueError(f"at most {ADOPT_MAX_TOPICS} topics per ctl_adopt")
            return {**self._end(), "adopted": c.adopt_topics(topics)}
        else:
            return {"ok": False, "error": "Unimplemented", "message": f"unknown operation {op!r}"}
        return self._end()
