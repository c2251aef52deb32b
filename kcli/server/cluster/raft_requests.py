"""What a quorum member answers: Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot,
AddRaftVoter/RemoveRaftVoter and DescribeQuorum, on the controller listener's JSON lines.

A part of :class:`~kcli.server.cluster.raft_node.QuorumNode` (its request side; the node's own
loops - elections, leading, following - are in ``raft_node``): the rules are
:class:`~kcli.server.cluster.raft.RaftState`'s, this module turns requests into calls of them and
their results into answers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.cluster.raft import Role, VoterChangeError, end_epoch_backoff_ms
from kcli.server.cluster.raft_voters import DynamicVoter, VoterParseError, parse_dynamic_voter

log = logging.getLogger("kafka.raft.KafkaRaftClient")

# VoterChangeError names -> Kafka's error codes (AddRaftVoter/RemoveRaftVoter answer with them)
VOTER_CHANGE_ERRORS = {
    "NotLeaderOrFollower": ErrorCode.not_leader_or_follower,
    "RequestTimedOut": ErrorCode.request_timed_out,
    "DuplicateVoter": ErrorCode.duplicate_voter,
    "VoterNotFound": ErrorCode.voter_not_found,
    "InvalidRequest": ErrorCode.invalid_request,
    "UnsupportedVersion": ErrorCode.unsupported_version,
}


def now_ms() -> int:
    return int(time.time() * 1000)


class QuorumRequests:
    """The request side of a quorum member (mixed into QuorumNode, whose state it uses)."""

    # --- requests from other voters ----------------------------------------------------------
    async def handle(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        theirs = request.get("cluster_id")
        if theirs and self.cluster_id and theirs != self.cluster_id:
            return {
                "ok": False,
                "error": "InconsistentClusterId",
                "code": int(ErrorCode.inconsistent_cluster_id),
                "message": f"cluster id {theirs} is not this quorum's {self.cluster_id}",
            }
        if op == "raft_vote":
            answer = self.state.handle_vote(request)
            if answer["granted"]:
                log.info("Voted for %s in epoch %d", request["candidate"], answer["epoch"])
        elif op == "raft_begin_epoch":
            answer = self.state.handle_begin_epoch(request)
        elif op == "raft_end_epoch":
            place = self.state.handle_end_epoch(request)
            if place is not None:
                successors = list(request.get("preferred_successors", []))
                backoff = end_epoch_backoff_ms(
                    place, len(successors), self.retry_backoff_ms, self.backoff_max_ms
                )
                self._leader_resigned = (self.state.epoch, backoff / 1000)
                log.info(
                    "Leader %d resigned epoch %d (EndQuorumEpoch, preferred successors %s): "
                    "standing for election in %d ms",
                    request["leader"], self.state.epoch, successors, backoff,
                )  # fmt: skip
            answer = {"epoch": self.state.epoch, "leader": self.state.leader_id}
        elif op == "raft_fetch":
            answer = {**await self._answer_fetch(request), "cluster_id": self.cluster_id}
            _leader, address = self.leader_address()
            if address is not None:
                answer["leader_endpoint"] = list(address)
        elif op in ("raft_add_voter", "raft_remove_voter"):
            return await self._change_voters(op, request)
        elif op == "raft_snapshot":
            found = self.log.snapshot_chunk(int(request["end"]), int(request.get("position", 0)))
            if found is None:
                return {
                    "ok": False,
                    "error": "SnapshotNotFound",
                    "message": f"no snapshot ending at {request['end']}",
                }
            return {"ok": True, "data": base64.b64encode(found[0]).decode(), "done": found[1]}
        else:
            return {"ok": False, "error": "Unimplemented", "message": f"unknown operation {op!r}"}
        self._after_change()
        return answer

    async def _change_voters(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        """AddRaftVoter / RemoveRaftVoter on the leader: check the rules, append the new set
        (effective at once), then answer when it is committed (REQUEST_TIMED_OUT otherwise)."""
        voter_id = int(request["voter_id"])
        directory_id = str(request.get("directory_id", ""))
        try:
            if not self.dynamic:
                raise VoterChangeError(
                    "UnsupportedVersion",
                    "Cluster doesn't support changing the voters because the kraft.version feature is 0 "
                    "(a static controller.quorum.voters)",
                )
            if op == "raft_add_voter":
                port = int(request["port"])
                if not 0 < port < 65536 or not str(request.get("host", "")):
                    raise VoterChangeError("InvalidRequest", f"Invalid endpoint {request.get('host')}:{port}")
                try:
                    host = str(request["host"])
                    parse_dynamic_voter(f"{voter_id}@[{host}]:{port}:{directory_id}")
                except VoterParseError as exc:
                    raise VoterChangeError("InvalidRequest", str(exc)) from None
                self.state.check_add_voter(voter_id, now_ms(), self.fetch_timeout_ms)
                new = DynamicVoter(voter_id, str(request["host"]), port, directory_id)
                voters = [*self.voter_records.values(), new]
            else:
                self.state.check_remove_voter(voter_id)
                known = self.voter_records.get(voter_id)
                if known is not None and directory_id and known.directory_id != directory_id:
                    raise VoterChangeError(
                        "VoterNotFound",
                        f"The voter id {voter_id} with directory id {directory_id} is not part of the set "
                        f"of voters (its directory id is {known.directory_id})",
                    )
                voters = [v for v in self.voter_records.values() if v.node_id != voter_id]
        except VoterChangeError as exc:
            answer: dict[str, Any] = {
                "ok": False,
                "error": exc.error,
                "code": int(VOTER_CHANGE_ERRORS[exc.error]),
                "message": exc.message,
            }
            leader, address = self.leader_address()
            if exc.error == "NotLeaderOrFollower" and address is not None and leader != self.node_id:
                answer.update(leader=leader, host=address[0], port=address[1])
            return answer
        offset = self.log.append_voters(self.state.epoch, voters, self.listener_name)
        log.info("%s voter %d: voters %s from offset %d", "Adding" if op == "raft_add_voter" else "Removing",
                 voter_id, sorted(v.node_id for v in voters), offset)  # fmt: skip
        self._after_change()
        deadline = time.monotonic() + min(max(float(request.get("timeout_ms", 30000)), 0), 60000) / 1000
        while self.log.high_watermark <= offset:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.state.role != Role.LEADER:
                return {
                    "ok": False,
                    "error": "RequestTimedOut",
                    "code": int(ErrorCode.request_timed_out),
                    "message": f"The voter change at offset {offset} was not committed in time",
                }
            async with self._appended:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._appended.wait(), min(remaining, 0.1))
        return {"ok": True, "voters": sorted(v.node_id for v in voters)}

    async def _answer_fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        """A follower's fetch, held up to its ``wait_ms`` while it is caught up (a long poll)."""
        offset = int(request["offset"])
        wait_s = min(max(int(request.get("wait_ms", 0)), 0), 5000) / 1000
        if self.state.role == Role.LEADER and offset >= self.log.end_offset and wait_s:
            # Tell the leader where the follower is first (it may complete a commit), then wait.
            answer = self.state.handle_fetch(request, now_ms())
            if "records" not in answer or answer["records"]:
                return answer
            async with self._appended:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._appended.wait_for(
                            lambda: self.log.end_offset > offset or self.state.role != Role.LEADER
                        ),
                        wait_s,
                    )
        return self.state.handle_fetch(request, now_ms())

    def describe(self) -> dict[str, Any]:
        """DescribeQuorum's partition data, from the leader's view."""
        now = now_ms()
        voters: list[list[Any]] = []
        for v in self.state.voters:
            if v == self.node_id:
                voters.append([v, self.log.end_offset, now, now])
            else:
                p = self.state.progress.get(v)
                voters.append(
                    [v, -1, -1, -1] if p is None else [v, p.end_offset, p.last_fetch_ms, p.last_caught_up_ms]
                )
            if v in self.directory_ids:  # a KIP-853 voter set names each voter's directory
                voters[-1].append(self.directory_ids[v])
        observers = [
            [r, p.end_offset, p.last_fetch_ms, p.last_caught_up_ms]
            for r, p in sorted(self.state.observers.items())
            if now - p.last_fetch_ms <= self.fetch_timeout_ms
        ]
        return {
            "leader": self.state.leader_id,
            "epoch": self.state.epoch,
            "hw": self.log.high_watermark,
            "voters": voters,
            "nodes": [[v, host, port] for v, (host, port) in sorted(self.voters.items())],
            "controller_observers": observers,
        }
