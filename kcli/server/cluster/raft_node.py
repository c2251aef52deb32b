"""A controller quorum member: Raft (``raft``) over the network, timers, and the hand-over to the
controller when this voter is elected.

**The RPCs.** Voters speak KIP-595's four requests - Vote, BeginQuorumEpoch, Fetch of
``__cluster_metadata`` and FetchSnapshot (KIP-630) - with KIP-595's fields and semantics, but as
JSON lines on the controller listener (``raft_vote``, ``raft_begin_epoch``, ``raft_fetch``,
``raft_snapshot``, and ``raft_end_epoch`` for EndQuorumEpoch) beside the ``ctl_*`` operations brokers already speak there, rather than in
Kafka's binary framing. Why: the controller listener of a kcli controller speaks JSON lines to
brokers today (a Kafka broker cannot join a kcli quorum nor the reverse, since the broker-to-
controller RPCs differ anyway), one connection handler and one codec serve both, and each
message stays readable in a packet capture. What is replicated is Kafka's, byte for byte: the
record batches of ``__cluster_metadata-0`` (base64 in the line) with their offsets and leader
epochs, the LeaderChange control record opening each epoch, the snapshot files and
``quorum-state``.

**A clean stop of the leader** (KIP-595's EndQuorumEpoch): the stopping leader resigns, sends
EndQuorumEpoch with its preferred successors to every other voter, answers the fetches it was
holding (NOT_LEADER), and waits - still voting - up to an election timeout for the next leader to
announce itself before it closes. Its followers stand for election at once (the most up-to-date
first), so the failover takes milliseconds rather than the fetch timeout a crash costs.

**Voter changes and observers** (KIP-853): with a voter set from ``kafka-storage format``
(``controller.quorum.bootstrap.servers``) the set lives in the log: the first leader appends it
as a VotersRecord, and ``raft_add_voter``/``raft_remove_voter`` (AddRaftVoter, API 80, and
RemoveRaftVoter, API 81, with their fields and Kafka's error names, on the same JSON-lines
listener) append the next one - the rules are :class:`~kcli.server.cluster.raft.RaftState`'s. The
leader answers once the change is committed (or REQUEST_TIMED_OUT), as Kafka does. A controller
outside the set is an observer: it finds the leader through the bootstrap servers (any node's
fetch answer names the leader and its endpoint), fetches the log, never votes, and becomes a
voter as soon as it appends a VotersRecord that names it.

**Timers** (Kafka's settings and defaults): ``controller.quorum.election.timeout.ms`` (1000,
randomised up to twice that), ``controller.quorum.fetch.timeout.ms`` (2000: a follower that has
not heard from its leader for it stands for election; a leader not fetched from by a majority
for one and a half of it resigns), ``controller.quorum.election.backoff.max.ms`` (1000).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from kcli.protocol.json_lines import MAX_LINE, exchange
from kcli.server.base.config import BrokerConfig
from kcli.server.cluster.quorum_state import QuorumStateStore
from kcli.server.cluster.raft import RaftState, Role
from kcli.server.cluster.raft_log import RaftMetadataLog
from kcli.server.cluster.raft_requests import QuorumRequests, now_ms
from kcli.server.cluster.raft_voters import DynamicVoter

log = logging.getLogger("kafka.raft.KafkaRaftClient")


FETCH_WAIT_MS = 500  # how long a leader holds a fetch that has nothing new (a long poll)


class Peer:
    """One connection to another voter; one request at a time, reconnected on failure."""

    def __init__(self, node_id: int, address: tuple[str, int]):
        self.node_id = node_id
        self.address = address
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def request(self, op: str, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        async with self._lock:
            try:
                return await asyncio.wait_for(self._exchange(op, body), timeout_s)
            except (OSError, ConnectionError, TimeoutError, ValueError) as exc:
                self.close()
                raise ConnectionError(
                    f"voter {self.node_id} at {self.address[0]}:{self.address[1]}: {exc!r}"
                ) from None

    async def _exchange(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(*self.address, limit=8 * MAX_LINE)
        assert self._reader is not None
        return await exchange(self._reader, self._writer, {"op": op, **body}, "connection closed")

    def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()


class QuorumNode(QuorumRequests):
    """One voter of ``controller.quorum.voters`` (or of the KIP-853 set in the log), or an observer."""

    def __init__(
        self,
        config: BrokerConfig,
        voters: dict[int, tuple[str, int]],
        cluster_id: str,
        on_leader: Callable[[], None],
        on_resign: Callable[[], None],
        bootstrap: list[DynamicVoter] | None = None,
        bootstrap_servers: list[tuple[str, int]] | None = None,
    ):
        """``bootstrap``: the voter set of the bootstrap snapshot - a KIP-853 (dynamic) quorum
        whose set can change; None for a static ``controller.quorum.voters``.
        ``bootstrap_servers``: where an observer looks for the leader."""
        self.node_id = config.node_id
        self.voters = dict(voters)
        self.dynamic = bootstrap is not None or bool(bootstrap_servers)
        self.bootstrap_servers = list(bootstrap_servers or [])
        self.listener_name = (config.controller_listener_names or ["CONTROLLER"])[0]
        self.voter_records: dict[int, DynamicVoter] = {v.node_id: v for v in bootstrap or []}
        self._bootstrap_records = list(bootstrap or [])
        self.cluster_id = cluster_id
        self.on_leader = on_leader
        self.on_resign = on_resign
        # An unformatted voter learns the cluster id from its first leader (or makes it up when
        # it is elected first); ``on_cluster_id`` stores it (meta.properties).
        self.on_cluster_id: Callable[[str], None] = lambda _id: None
        raw = config.raw
        self.election_timeout_ms = int(raw.get("controller.quorum.election.timeout.ms", "1000"))
        self.fetch_timeout_ms = int(raw.get("controller.quorum.fetch.timeout.ms", "2000"))
        self.backoff_max_ms = int(raw.get("controller.quorum.election.backoff.max.ms", "1000"))
        self.retry_backoff_ms = int(raw.get("controller.quorum.retry.backoff.ms", "20"))
        self.log = RaftMetadataLog(config.log_dirs[0], self.node_id)
        latest = self.log.latest_voters() if self.dynamic else None
        if latest is not None:  # the set in the log is newer than the bootstrap snapshot's
            self.voter_records = {v.node_id: v for v in latest[1]}
            self.voters = {v.node_id: (v.host, v.port) for v in latest[1]}
        store = QuorumStateStore(self.log.directory, list(self.voters))
        self.state = RaftState(self.node_id, list(self.voters), self.log, store)
        if latest is not None:
            self.state.voters_offset = latest[0]
        self.peers = {v: Peer(v, a) for v, a in self.voters.items() if v != self.node_id}
        self.log.on_voters = self._voters_changed
        self._changed = asyncio.Event()  # the role or epoch moved, or records were appended
        self._appended = asyncio.Condition()
        self.log.on_append = self._on_append
        self._task: asyncio.Task[None] | None = None
        self._was_leader = False
        self._announcing: set[asyncio.Task[None]] = set()
        # (epoch, back-off in seconds) once the leader of that epoch resigned (EndQuorumEpoch)
        self._leader_resigned: tuple[int, float] | None = None
        self._bootstrap_turn = 0

    @property
    def directory_ids(self) -> dict[int, str]:
        """voter -> directory id, for a KIP-853 voter set (DescribeQuorum shows them)."""
        return {v: r.directory_id for v, r in self.voter_records.items()}

    def _peer(self, node: int, address: tuple[str, int]) -> Peer:
        peer = self.peers.get(node)
        if peer is None or peer.address != address:
            if peer is not None:
                peer.close()
            peer = self.peers[node] = Peer(node, address)
        return peer

    def _voters_changed(self) -> None:
        """A VotersRecord was appended (or truncated away): the set takes effect at once."""
        latest = self.log.latest_voters()
        # none left (truncated away): the bootstrap snapshot's set again
        offset, records = latest if latest is not None else (-1, self._bootstrap_records)
        was_voter = self.state.is_voter
        self.voter_records = {v.node_id: v for v in records}
        self.voters = {v.node_id: (v.host, v.port) for v in records}
        for v, address in self.voters.items():
            if v != self.node_id:
                self._peer(v, address)
        self.state.set_voters(list(self.voters), offset)
        self.state.store.voters = sorted(self.voters)  # type: ignore[attr-defined]
        if was_voter != self.state.is_voter:
            log.info(
                "Node %d is %s a voter (voters %s)",
                self.node_id, "now" if self.state.is_voter else "no longer", sorted(self.voters),
            )  # fmt: skip
        self._changed.set()

    # --- notifications -----------------------------------------------------------------------
    def _on_append(self) -> None:
        self.state.appended()

        async def wake() -> None:
            async with self._appended:
                self._appended.notify_all()

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(wake())

    def _after_change(self) -> None:
        """Called after every state change: tell the controller when leadership came or went."""
        is_leader = self.state.role == Role.LEADER
        if is_leader and not self._was_leader:
            self._was_leader = True
            self.state.last_majority_fetch_ms = now_ms()
            if self.dynamic and not self.log.voter_sets and self.voter_records:
                # KIP-853: the bootstrap snapshot's set goes into the log, so observers (which
                # have no bootstrap snapshot) and every later change start from it
                self.log.append_voters(
                    self.state.epoch, list(self.voter_records.values()), self.listener_name
                )
            log.info(
                "Elected as leader of __cluster_metadata-0 with epoch %d (votes %s of %s)",
                self.state.epoch, sorted(self.state.votes), self.state.voters,
            )  # fmt: skip
            try:
                self.on_leader()
            except Exception:
                log.exception("Could not start the controller on the elected leader; resigning")
                self.state.resign()
                self._was_leader = False
        elif not is_leader and self._was_leader:
            self._was_leader = False
            log.info("No longer the leader in epoch %d (leader %d)", self.state.epoch, self.state.leader_id)
            self.on_resign()
        self._changed.set()

    def leader_address(self) -> tuple[int, tuple[str, int] | None]:
        leader = self.state.leader_id
        address = self.voters.get(leader)
        if address is None and leader in self.peers:
            address = self.peers[leader].address
        return leader, address

    # --- the loop ----------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _stop_loop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def resign_gracefully(self) -> None:
        """A clean stop (KIP-595's EndQuorumEpoch): a leader resigns, tells the other voters and
        waits up to an election timeout for the next leader (it still answers Vote requests
        meanwhile, so its vote can complete a majority). Other roles just stop their loop."""
        await self._stop_loop()
        if self.state.role != Role.LEADER:
            return
        epoch = self.state.epoch
        request = {**self.state.end_epoch_request(), "cluster_id": self.cluster_id}
        log.info(
            "Resigning the leadership of epoch %d (clean shutdown): EndQuorumEpoch to %s, preferred successors %s",
            epoch, sorted(self.peers), request["preferred_successors"],
        )  # fmt: skip
        self.state.resign()
        self._after_change()
        async with self._appended:
            self._appended.notify_all()  # the held fetches answer NOT_LEADER now

        async def tell(peer: Peer) -> None:
            with contextlib.suppress(ConnectionError):
                await peer.request("raft_end_epoch", request, self.election_timeout_ms / 1000)

        await asyncio.gather(*(tell(p) for p in self.peers.values()))
        deadline = time.monotonic() + self.election_timeout_ms / 1000
        while not (self.state.epoch > epoch and self.state.leader_id >= 0):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.info("No new leader within %d ms of resigning; stopping anyway", self.election_timeout_ms)
                return
            await self._wait_change(remaining)
        log.info("Voter %d leads epoch %d after the resignation", self.state.leader_id, self.state.epoch)

    async def close(self) -> None:
        await self._stop_loop()
        for peer in self.peers.values():
            peer.close()
        self.log.close()

    async def _run(self) -> None:
        if len(self.voters) == 1 and self.state.is_voter:
            self.state.start_election()
            self._after_change()
        while True:
            try:
                role = self.state.role
                if role == Role.LEADER:
                    await self._lead()
                elif role == Role.FOLLOWER:
                    await self._follow()
                elif not self.state.is_voter:
                    await self._discover()
                else:
                    await self._campaign()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Raft loop error; going on")
                await asyncio.sleep(0.1)

    async def _wait_change(self, timeout_s: float) -> bool:
        """Until the state moves (True) or ``timeout_s`` passes (False)."""
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout_s)
            return True
        except TimeoutError:
            return False

    async def _campaign(self) -> None:
        """Unattached or a candidate: wait out a randomised election timeout (a leader may
        announce itself meanwhile), then stand for election."""
        timeout = self.election_timeout_ms * (1 + random.random()) / 1000
        if self.state.role == Role.CANDIDATE:
            timeout = random.random() * self.backoff_max_ms / 1000
        voted = self.state.voted_id
        deadline = time.monotonic() + timeout
        # Only a leader heard or a vote granted restarts the timer (the Raft paper's rule): a
        # refused Vote request must not, or a candidate with a stale log, standing again and
        # again within this voter's timeout, would keep the only electable voter from standing.
        while (remaining := deadline - time.monotonic()) > 0:
            await self._wait_change(remaining)
            if self.state.role in (Role.LEADER, Role.FOLLOWER):
                return
            if self.state.voted_id not in (-1, self.node_id, voted):
                return  # granted a vote: wait a whole timeout again
        await self._elect()

    async def _discover(self) -> None:
        """An observer without a leader asks the bootstrap servers (and known voters) in turn: any
        fetch answer names the epoch's leader and where it listens."""
        addresses = self.bootstrap_servers + [a for v, a in sorted(self.voters.items()) if v != self.node_id]
        if not addresses:
            await self._wait_change(self.fetch_timeout_ms / 1000)
            return
        address = addresses[self._bootstrap_turn % len(addresses)]
        self._bootstrap_turn += 1
        peer = Peer(-1, address)
        try:
            answer = await peer.request(
                "raft_fetch", {**self.state.fetch_request(), "cluster_id": self.cluster_id}, 2.0
            )
        except ConnectionError:
            answer = {}
        finally:
            peer.close()
        leader = int(answer.get("leader", -1)) if answer.get("ok") is not False else -1
        endpoint = answer.get("leader_endpoint")
        if leader >= 0 and endpoint:
            self._peer(leader, (str(endpoint[0]), int(endpoint[1])))
            if self.state.observe(int(answer["epoch"]), leader):
                self._after_change()
                return
        await self._wait_change(self.retry_backoff_ms * 10 / 1000)

    async def _elect(self) -> None:
        if not self.state.is_voter:
            return
        request = {**self.state.start_election(), "cluster_id": self.cluster_id}
        log.info("Standing for election in epoch %d", self.state.epoch)
        self._after_change()
        if self.state.role == Role.LEADER:
            return

        async def ask(peer: Peer) -> None:
            try:
                answer = await peer.request("raft_vote", request, self.election_timeout_ms / 1000)
            except ConnectionError:
                return
            if answer.get("ok") is False:
                return
            self.state.handle_vote_answer(peer.node_id, answer)
            self._after_change()

        await asyncio.gather(*(ask(self.peers[v]) for v in self.state.voters if v in self.peers))

    async def _lead(self) -> None:
        """Announce the epoch to voters that do not fetch, and resign without a quorum."""
        epoch = self.state.epoch
        now = now_ms()
        if self.state.removed_and_committed():
            log.info("Resigning the leadership of epoch %d: this node was removed from the voters", epoch)
            await self._resign_and_tell()
            return
        stale = [
            self.peers[v] for v, p in self.state.progress.items()
            if v in self.peers and now - p.last_fetch_ms > self.fetch_timeout_ms / 2
        ]  # fmt: skip
        for peer in stale:
            task = asyncio.create_task(self._announce(peer, epoch))
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)
        if not self.state.has_quorum(now, self.fetch_timeout_ms * 3 // 2):
            log.warning("Resigning the leadership of epoch %d: no majority fetched lately", epoch)
            self.state.resign()
            self._after_change()
            return
        await self._wait_change(0.5)

    async def _resign_and_tell(self) -> None:
        """Resign and send EndQuorumEpoch to the voters (a removed leader's last act)."""
        request = {**self.state.end_epoch_request(), "cluster_id": self.cluster_id}
        self.state.resign()
        self._after_change()
        async with self._appended:
            self._appended.notify_all()

        async def tell(peer: Peer) -> None:
            with contextlib.suppress(ConnectionError):
                await peer.request("raft_end_epoch", request, self.election_timeout_ms / 1000)

        await asyncio.gather(*(tell(self.peers[v]) for v in self.state.voters if v in self.peers))

    async def _announce(self, peer: Peer, epoch: int) -> None:
        with contextlib.suppress(ConnectionError):
            answer = await peer.request(
                "raft_begin_epoch", {**self.state.begin_epoch_request(), "cluster_id": self.cluster_id}, 1.0
            )
            if answer.get("ok") is not False and self.state.observe(
                int(answer["epoch"]), int(answer.get("leader", -1))
            ):
                self._after_change()

    async def _follow(self) -> None:
        """Fetch from the leader until it stops answering for the fetch timeout."""
        epoch, leader = self.state.epoch, self.state.leader_id
        peer = self.peers.get(leader)
        last_heard = time.monotonic()
        while self.state.role == Role.FOLLOWER and self.state.epoch == epoch and peer is not None:
            resigned = self._leader_resigned
            if resigned is not None and resigned[0] == epoch:
                await self._stand_at(epoch, time.monotonic() + resigned[1])
                return
            try:
                answer = await peer.request(
                    "raft_fetch",
                    {**self.state.fetch_request(), "wait_ms": FETCH_WAIT_MS, "cluster_id": self.cluster_id},
                    (FETCH_WAIT_MS + self.fetch_timeout_ms) / 1000,
                )
            except ConnectionError as exc:
                if time.monotonic() - last_heard > self.fetch_timeout_ms / 1000:
                    log.info("Leader %d unreachable for %d ms (%s)", leader, self.fetch_timeout_ms, exc)
                    if not self.state.is_voter:
                        self.state.lose_leader()
                        return
                    await self._stand_after_jitter(epoch)
                    return
                # back-off before reconnecting (cut short by a state change: EndQuorumEpoch, a vote)
                await self._wait_change(0.05)
                continue
            if answer.get("ok") is False:
                return
            if not self.cluster_id and answer.get("cluster_id"):
                self.cluster_id = str(answer["cluster_id"])
                self.on_cluster_id(self.cluster_id)
            outcome = self.state.handle_fetch_answer(answer)
            self._after_change()
            if outcome in ("records", "truncated", "snapshot"):
                last_heard = time.monotonic()
            if outcome == "snapshot":
                await self._install_snapshot(peer, int(answer["snapshot"][0]), int(answer["snapshot"][1]))
            elif outcome not in ("records", "truncated"):
                if time.monotonic() - last_heard > self.fetch_timeout_ms / 1000:
                    if not self.state.is_voter:
                        self.state.lose_leader()
                        return
                    await self._stand_after_jitter(epoch)
                    return
                if self._leader_resigned is None or self._leader_resigned[0] != epoch:
                    await self._wait_change(0.05)
        if peer is None and self.state.role == Role.FOLLOWER:
            await self._wait_change(self.fetch_timeout_ms / 1000)

    async def _stand_after_jitter(self, epoch: int) -> None:
        """The leader is gone: stand for election after a random part of the election timeout,
        unless another voter's Vote request came first (then this voter votes instead), so the
        followers of a killed leader rarely split the vote."""
        await self._wait_change(random.random() * self.election_timeout_ms / 1000)
        if self.state.role == Role.FOLLOWER and self.state.epoch == epoch:
            await self._elect()

    async def _stand_at(self, epoch: int, at: float) -> None:
        """The leader of ``epoch`` resigned: stand for election at ``at`` (monotonic), unless a
        Vote request or a new leader moves this voter first."""
        while (remaining := at - time.monotonic()) > 0:
            await self._wait_change(remaining)
            if self.state.role != Role.FOLLOWER or self.state.epoch != epoch:
                return
        if self.state.role == Role.FOLLOWER and self.state.epoch == epoch:
            await self._elect()

    async def _install_snapshot(self, peer: Peer, end: int, epoch: int) -> None:
        chunks: list[bytes] = []
        position = 0
        while True:
            answer = await peer.request(
                "raft_snapshot", {"end": end, "position": position, "cluster_id": self.cluster_id}, 10.0
            )
            if not answer.get("ok", True) or "data" not in answer:
                raise ConnectionError(f"snapshot {end}-{epoch} refused: {answer.get('message')}")
            data = base64.b64decode(answer["data"])
            chunks.append(data)
            position += len(data)
            if answer["done"]:
                break
        self.log.install_snapshot(end, epoch, b"".join(chunks))
        log.info("Installed the leader's snapshot ending at offset %d (epoch %d)", end, epoch)
