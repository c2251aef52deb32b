"""The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, rebalances, sessions.

Lifecycle of a group (as in Kafka)::

    Empty --join--> PreparingRebalance --all rejoined / rebalance timeout--> CompletingRebalance
    CompletingRebalance --leader's SyncGroup--> Stable --join, leave, session expiry--> PreparingRebalance
    PreparingRebalance --last member gone--> Empty --deleted / expired--> Dead

JoinGroup and SyncGroup answers wait on asyncio futures until the rebalance step they belong to
completes; every deadline (session, rebalance, initial delay, pending sync) is one
``loop.call_later`` handle (:mod:`coordinator_timers`), so nothing blocks and every change
happens on the event loop.
The coordinator never interprets assignments: it picks the protocol all members support and
relays the leader's bytes, which is why every client-side assignor works.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.coordinator_timers import CoordinatorTimers
from kcli.server.coordinator.group import Group, GroupState, Member
from kcli.server.coordinator.group_metadata_manager import GroupMetadataManager
from kcli.server.coordinator.group_requests import JoinRequest, Settings, join_error, resolve, sync_result

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")


class ClassicGroupProtocol:
    """The membership of the classic groups in ``metadata``'s cache."""

    def __init__(
        self,
        metadata: GroupMetadataManager,
        settings: Settings,
        timers: CoordinatorTimers,
        start: Callable[[], None],
    ):
        self.metadata = metadata
        self.settings = settings
        self.timers = timers
        self.start = start  # the coordinator's timers start with its first JoinGroup or SyncGroup

    @property
    def groups(self) -> dict[str, Group]:
        return self.metadata.groups

    # --- JoinGroup ------------------------------------------------------------------------------
    async def join_group(self, req: JoinRequest) -> dict[str, Any]:
        self.start()
        fut: asyncio.Future[dict[str, Any]] = self.timers.loop().create_future()
        self._handle_join(req, fut)
        return await fut

    def _handle_join(self, req: JoinRequest, fut: asyncio.Future[dict[str, Any]]) -> None:
        s = self.settings
        if not req.group_id:
            return resolve(fut, join_error(req.member_id, E.INVALID_GROUP_ID))
        if not s.min_session_timeout_ms <= req.session_timeout_ms <= s.max_session_timeout_ms:
            return resolve(fut, join_error(req.member_id, E.INVALID_SESSION_TIMEOUT))
        group = self.groups.get(req.group_id)
        if group is None:
            if req.member_id:
                return resolve(fut, join_error(req.member_id, E.UNKNOWN_MEMBER_ID))
            group = self.groups[req.group_id] = Group(req.group_id)
        if group.state is GroupState.DEAD:
            return resolve(fut, join_error(req.member_id, E.COORDINATOR_NOT_AVAILABLE))
        names = [name for name, _ in req.protocols]
        if not group.supports(req.protocol_type, names, req.member_id or None):
            return resolve(fut, join_error(req.member_id, E.INCONSISTENT_GROUP_PROTOCOL))
        if not req.member_id:
            new_id = f"{req.group_instance_id or req.client_id}-{uuid.uuid4()}"
            if req.group_instance_id is not None:
                return self._static_join(group, req, new_id, fut)
            if req.require_known_member_id:
                # The client must come back with this id; until then it is only "pending", and
                # forgotten after a session timeout if it never does.
                group.pending_members[new_id] = self.timers.later(
                    req.session_timeout_ms, self._expire_pending, group, new_id
                )
                return resolve(fut, join_error(new_id, E.MEMBER_ID_REQUIRED))
            return self._add_member_and_rebalance(group, req, new_id, fut)
        return self._existing_member_join(group, req, fut)

    def _existing_member_join(
        self, group: Group, req: JoinRequest, fut: asyncio.Future[dict[str, Any]]
    ) -> None:
        member_id = req.member_id
        if member_id in group.pending_members:
            timer = group.pending_members.pop(member_id)
            if timer is not None:
                timer.cancel()
            return self._add_member_and_rebalance(group, req, member_id, fut)
        if group.is_static_member_fenced(req.group_instance_id, member_id):
            return resolve(fut, join_error(member_id, E.FENCED_INSTANCE_ID))
        member = group.members.get(member_id)
        if member is None or group.state in (GroupState.EMPTY, GroupState.DEAD):
            return resolve(fut, join_error(member_id, E.UNKNOWN_MEMBER_ID))
        if group.state is GroupState.PREPARING_REBALANCE:
            self._update_member(member, req, fut)
            return self._try_complete_join(group)
        if group.state is GroupState.COMPLETING_REBALANCE:
            if member.matches(req.protocols):
                # A retried JoinGroup whose answer was lost: send the same answer again.
                return resolve(fut, self._join_response(group, member))
            self._update_member(member, req, fut)
            return self.prepare_rebalance(group, f"member {member_id} changed its protocols")
        # Stable: a follower with unchanged metadata just gets the current generation back; the
        # leader rejoining (e.g. because topic metadata changed) or new metadata means a rebalance.
        if group.leader_id != member_id and member.matches(req.protocols):
            self.schedule_session(group, member)
            return resolve(fut, self._join_response(group, member))
        self._update_member(member, req, fut)
        return self.prepare_rebalance(group, f"member {member_id} rejoined")

    def _static_join(
        self, group: Group, req: JoinRequest, new_id: str, fut: asyncio.Future[dict[str, Any]]
    ) -> None:
        """A static member joins without a member id: a newcomer, or a restart of a known instance.

        A restart takes over the old incarnation's place (KIP-345). As in Kafka's coordinator, a
        Stable group keeps its generation and assignment unless the protocol the group would pick
        changes; a group in CompletingRebalance rebalances again (the leader may already be
        assigning to the old member id); a PreparingRebalance group just counts the member as joined.
        """
        instance_id = req.group_instance_id
        assert instance_id is not None
        old_id = group.static_members.get(instance_id)
        if old_id is None:
            return self._add_member_and_rebalance(group, req, new_id, fut)
        previous_leader = group.leader_id
        member = group.members[old_id]
        # The old incarnation is fenced: its pending answers say so.
        resolve(member.join_future, join_error(old_id, E.FENCED_INSTANCE_ID))
        resolve(member.sync_future, sync_result(E.FENCED_INSTANCE_ID))
        member.join_future = member.sync_future = None
        saved = (member.protocols, member.session_timeout_ms, member.rebalance_timeout_ms)
        group.replace_static_member(instance_id, new_id)
        member.client_id, member.client_host = req.client_id, req.client_host
        self._update_member(member, req, fut)
        self.schedule_session(group, member)
        log.info("Static member %s of group %s rejoined as %s", instance_id, group.group_id, new_id)
        if group.state is GroupState.PREPARING_REBALANCE:
            return self._try_complete_join(group)
        if group.state is GroupState.STABLE and group.select_protocol() == group.protocol_name:
            return self._static_rejoin_stable(group, member, old_id, saved, previous_leader, req)
        reason = f"static member {instance_id} rejoined"
        if group.state is GroupState.STABLE:
            reason += " with a change of protocol"
        return self.prepare_rebalance(group, reason)

    def _static_rejoin_stable(
        self,
        group: Group,
        member: Member,
        old_id: str,
        saved: tuple[list[tuple[str, bytes]], int, int],
        previous_leader: str | None,
        req: JoinRequest,
    ) -> None:
        """Answer a restarted static member of a Stable group without a rebalance.

        Kafka stores the group with the new member id first; if that fails the replacement is
        undone. The answer must not make the member run the assignor: a Stable group ignores the
        assignments in SyncGroup, and a leader busy assigning (fetching metadata, then syncing)
        is one more in-flight step a closing client waits for. So before JoinGroup v9 the answer
        names the *previous* leader id (a restarted leader does not recognise itself) and lists
        no members; from v9 the leader gets the members with ``skip_assignment`` (KIP-814).
        """
        fut = member.join_future
        member.join_future = None
        new_id = member.member_id

        def stored(code: int) -> None:
            if fut is None or fut.done():
                return
            if code:
                # Undo the replacement, unless the group has moved on since (then the member's
                # fate is already decided elsewhere).
                if group.members.get(new_id) is member and member.group_instance_id is not None:
                    member.protocols, member.session_timeout_ms, member.rebalance_timeout_ms = saved
                    group.replace_static_member(member.group_instance_id, old_id)
                    self.schedule_session(group, member)
                return resolve(fut, join_error("", code))
            log.info(
                "Static member %s of group %s rejoined a Stable group without changing its protocol: no rebalance",
                member.member_id,
                group.group_id,
            )
            if req.supports_skip_assignment:
                return resolve(fut, self._join_response(group, member, skip_assignment=True))
            answer = self._join_response(group, member)
            answer.update(leader=previous_leader or "", members=[])
            return resolve(fut, answer)

        self.metadata.store_group(group, stored)

    def _add_member_and_rebalance(
        self, group: Group, req: JoinRequest, member_id: str, fut: asyncio.Future[dict[str, Any]]
    ) -> None:
        member = Member(
            member_id,
            req.group_instance_id,
            req.client_id,
            req.client_host,
            req.session_timeout_ms,
            req.rebalance_timeout_ms,
            req.protocol_type,
            list(req.protocols),
            join_future=fut,
            is_new=True,
        )
        group.add(member)
        log.info("Member %s joins group %s (state %s)", member_id, group.group_id, group.state.value)
        if group.state is GroupState.PREPARING_REBALANCE:
            group.new_member_added = True
            return self._try_complete_join(group)
        return self.prepare_rebalance(group, f"adding new member {member_id}")

    def _update_member(self, member: Member, req: JoinRequest, fut: asyncio.Future[dict[str, Any]]) -> None:
        if member.join_future is not fut:
            resolve(member.join_future, join_error(member.member_id, E.REBALANCE_IN_PROGRESS))
        member.protocols = list(req.protocols)
        member.session_timeout_ms = req.session_timeout_ms
        member.rebalance_timeout_ms = req.rebalance_timeout_ms
        member.join_future = fut

    def _expire_pending(self, group: Group, member_id: str) -> None:
        if group.pending_members.pop(member_id, "absent") != "absent":
            log.info("Pending member %s of group %s never joined; forgetting it", member_id, group.group_id)
            if group.state is GroupState.PREPARING_REBALANCE:
                self._try_complete_join(group)

    def _join_response(self, group: Group, member: Member, skip_assignment: bool = False) -> dict[str, Any]:
        is_leader = group.leader_id == member.member_id
        members = []
        if is_leader:
            members = [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "metadata": m.metadata(group.protocol_name),
                }
                for m in group.members.values()
            ]
        return {
            "error_code": E.NONE,
            "generation_id": group.generation,
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol_name,
            "leader": group.leader_id or "",
            "skip_assignment": skip_assignment and is_leader,
            "member_id": member.member_id,
            "members": members,
        }

    # --- rebalance --------------------------------------------------------------------------------
    def prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.state is GroupState.COMPLETING_REBALANCE:
            # Members waiting for the assignment of a generation that will never be: retry.
            for member in group.members.values():
                member.assignment = b""
                resolve(member.sync_future, sync_result(E.REBALANCE_IN_PROGRESS))
                member.sync_future = None
        self.timers.cancel(group.sync_timer)
        group.sync_timer = None
        group.pending_sync.clear()
        self.timers.cancel(group.join_timer)
        initial = group.state is GroupState.EMPTY and self.settings.initial_rebalance_delay_ms > 0
        group.transition(GroupState.PREPARING_REBALANCE)
        log.info(
            "Preparing to rebalance group %s in state PreparingRebalance with old generation %d (reason: %s)",
            group.group_id,
            group.generation,
            reason,
        )
        if initial:
            delay = self.settings.initial_rebalance_delay_ms
            group.new_member_added = False
            self._schedule_initial_join(group, delay, max(group.rebalance_timeout_ms() - delay, 0))
        else:
            group.delaying = False
            group.join_timer = self.timers.later(group.rebalance_timeout_ms(), self._on_join_timeout, group)
            self._try_complete_join(group)

    def _schedule_initial_join(self, group: Group, delay_ms: int, remaining_ms: int) -> None:
        """group.initial.rebalance.delay.ms: wait for more members; each newcomer extends the wait
        by another delay, bounded by the rebalance timeout."""
        group.delaying = True

        def fire() -> None:
            group.join_timer = None
            if group.state is not GroupState.PREPARING_REBALANCE:
                return
            if group.new_member_added and remaining_ms > 0:
                group.new_member_added = False
                step = min(self.settings.initial_rebalance_delay_ms, remaining_ms)
                self._schedule_initial_join(group, step, remaining_ms - step)
                return
            group.delaying = False
            self._complete_join(group)

        group.join_timer = self.timers.later(delay_ms, fire)

    def _try_complete_join(self, group: Group) -> None:
        if group.state is GroupState.PREPARING_REBALANCE and not group.delaying and group.all_joined():
            self._complete_join(group)

    def _on_join_timeout(self, group: Group) -> None:
        group.join_timer = None
        if group.state is GroupState.PREPARING_REBALANCE:
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        self.timers.cancel(group.join_timer)
        group.join_timer = None
        group.delaying = False
        # Dynamic members that did not rejoin within the rebalance timeout are out; static
        # members keep their place until their session expires.
        for member in group.not_yet_rejoined():
            if member.group_instance_id is None:
                log.info(
                    "Member %s of group %s did not rejoin in time; removing it",
                    member.member_id,
                    group.group_id,
                )
                self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
        for pending_id, timer in list(group.pending_members.items()):
            self.timers.cancel(timer)
            del group.pending_members[pending_id]
        if not group.members:
            group.generation += 1
            group.protocol_name = None
            group.leader_id = None
            group.transition(GroupState.EMPTY)
            log.info("Group %s with generation %d is now empty", group.group_id, group.generation)
            self.metadata.store_group(group)  # a failure is logged; the next change stores the group again
            return
        if not group.elect_joined_leader():
            # Only static members that have not rejoined remain: wait for them (or their expiry).
            group.join_timer = self.timers.later(group.rebalance_timeout_ms(), self._on_join_timeout, group)
            return
        group.generation += 1
        group.protocol_name = group.select_protocol()
        group.transition(GroupState.COMPLETING_REBALANCE)
        group.pending_sync = set(group.members)
        log.info(
            "Stabilized group %s generation %d with %d member(s), protocol %s",
            group.group_id,
            group.generation,
            len(group.members),
            group.protocol_name,
        )
        for member in list(group.members.values()):
            if member.awaiting_join:
                resolve(member.join_future, self._join_response(group, member))
            member.join_future = None
            member.is_new = False
            self.schedule_session(group, member)
        group.sync_timer = self.timers.later(
            group.rebalance_timeout_ms(), self._on_sync_timeout, group, group.generation
        )

    def _on_sync_timeout(self, group: Group, generation: int) -> None:
        group.sync_timer = None
        if group.generation != generation or not group.pending_sync:
            return
        if group.state not in (GroupState.COMPLETING_REBALANCE, GroupState.STABLE):
            return
        for member_id in list(group.pending_sync):
            member = group.members.get(member_id)
            if member is not None:
                log.info("Member %s of group %s did not sync in time; removing it", member_id, group.group_id)
                self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
        group.pending_sync.clear()
        self.prepare_rebalance(group, "members did not send SyncGroup in time")

    # --- sessions -----------------------------------------------------------------------------
    def schedule_session(self, group: Group, member: Member) -> None:
        self.timers.cancel(member.session_timer)
        member.session_timer = self.timers.later(
            member.session_timeout_ms, self._on_session_expired, group, member
        )

    def _on_session_expired(self, group: Group, member: Member) -> None:
        member.session_timer = None
        if group.members.get(member.member_id) is not member:
            return
        if member.awaiting_join or member.awaiting_sync:
            # The rebalance timeout governs members waiting for an answer.
            self.schedule_session(group, member)
            return
        log.info(
            "Member %s in group %s has failed, removing it from the group (session timeout %d ms)",
            member.member_id,
            group.group_id,
            member.session_timeout_ms,
        )
        self._remove_member_and_update(group, member, "session timeout")

    def _remove_member(self, group: Group, member: Member, code: int) -> None:
        self.timers.cancel(member.session_timer)
        member.session_timer = None
        resolve(member.join_future, join_error(member.member_id, code))
        resolve(member.sync_future, sync_result(code))
        member.join_future = member.sync_future = None
        group.remove(member.member_id)

    def _remove_member_and_update(self, group: Group, member: Member, reason: str) -> None:
        self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self.prepare_rebalance(group, f"removing member {member.member_id} ({reason})")
        elif group.state is GroupState.PREPARING_REBALANCE:
            self._try_complete_join(group)

    def _check_member(
        self, group: Group | None, member_id: str, instance_id: str | None
    ) -> tuple[int, Member | None]:
        if group is None:
            return E.UNKNOWN_MEMBER_ID, None
        if group.state is GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE, None
        if group.is_static_member_fenced(instance_id, member_id):
            return E.FENCED_INSTANCE_ID, None
        if instance_id is not None and instance_id not in group.static_members:
            return E.UNKNOWN_MEMBER_ID, None
        member = group.members.get(member_id)
        if member is None:
            return E.UNKNOWN_MEMBER_ID, None
        return E.NONE, member

    # --- SyncGroup ----------------------------------------------------------------------------
    async def sync_group(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: Iterable[tuple[str, bytes]],
    ) -> dict[str, Any]:
        self.start()
        group = self.groups.get(group_id)
        code, member = self._check_member(group, member_id, instance_id)
        if code:
            return sync_result(code)
        assert group is not None and member is not None
        if generation != group.generation:
            return sync_result(E.ILLEGAL_GENERATION)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            return sync_result(E.INCONSISTENT_GROUP_PROTOCOL)
        if group.state is GroupState.EMPTY:
            return sync_result(E.UNKNOWN_MEMBER_ID)
        if group.state is GroupState.PREPARING_REBALANCE:
            return sync_result(E.REBALANCE_IN_PROGRESS)
        group.pending_sync.discard(member_id)
        self.schedule_session(group, member)
        if group.state is GroupState.STABLE:
            return sync_result(E.NONE, group, member.assignment)
        # CompletingRebalance: wait for the leader's assignment.
        fut: asyncio.Future[dict[str, Any]] = self.timers.loop().create_future()
        resolve(member.sync_future, sync_result(E.REBALANCE_IN_PROGRESS))
        member.sync_future = fut
        if member_id == group.leader_id:
            given = dict(assignments)
            generation = group.generation

            def stored(code: int) -> None:
                # As Kafka's coordinator: the assignment takes effect only once the group record
                # holding it is acknowledged, and only if the group is still in that rebalance.
                if (
                    self.groups.get(group.group_id) is not group
                    or group.generation != generation
                    or group.state is not GroupState.COMPLETING_REBALANCE
                ):
                    return
                if code:
                    for m in group.members.values():
                        m.assignment = b""
                        resolve(m.sync_future, sync_result(code))
                        m.sync_future = None
                    self.prepare_rebalance(group, f"error storing the assignment of member {member_id}")
                    return
                for m in group.members.values():
                    m.assignment = given.get(m.member_id, b"")
                group.transition(GroupState.STABLE)
                log.info(
                    "Assignment received from leader %s for group %s for generation %d",
                    member_id,
                    group.group_id,
                    group.generation,
                )
                for m in group.members.values():
                    resolve(m.sync_future, sync_result(E.NONE, group, m.assignment))
                    m.sync_future = None

            self.metadata.store_group(group, stored, assignment=given)
        return await fut

    # --- Heartbeat and LeaveGroup ---------------------------------------------------------------
    def heartbeat(self, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        group = self.groups.get(group_id)
        code, member = self._check_member(group, member_id, instance_id)
        if code:
            return code
        assert group is not None and member is not None
        if generation != group.generation:
            return E.ILLEGAL_GENERATION
        if group.state is GroupState.EMPTY:
            return E.UNKNOWN_MEMBER_ID
        self.schedule_session(group, member)
        if group.state is GroupState.PREPARING_REBALANCE:
            return E.REBALANCE_IN_PROGRESS
        return E.NONE

    def leave_group(
        self, group_id: str, members: list[tuple[str, str | None]]
    ) -> tuple[int, list[tuple[str, str | None, int]]]:
        """Remove each (member id, instance id); returns (group error, per-member errors)."""
        group = self.groups.get(group_id)
        if group is None:
            return E.UNKNOWN_MEMBER_ID, [(m, i, E.UNKNOWN_MEMBER_ID) for m, i in members]
        if group.state is GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE, [(m, i, E.COORDINATOR_NOT_AVAILABLE) for m, i in members]
        results = []
        removed = False
        for member_id, instance_id in members:
            if not member_id and instance_id is not None:
                member_id = group.static_members.get(instance_id, "")
                if not member_id:
                    results.append((member_id, instance_id, E.UNKNOWN_MEMBER_ID))
                    continue
            if group.is_static_member_fenced(instance_id, member_id):
                results.append((member_id, instance_id, E.FENCED_INSTANCE_ID))
                continue
            if member_id in group.pending_members:
                self.timers.cancel(group.pending_members.pop(member_id))
                results.append((member_id, instance_id, E.NONE))
                removed = True
                continue
            member = group.members.get(member_id)
            if member is None:
                results.append((member_id, instance_id, E.UNKNOWN_MEMBER_ID))
                continue
            log.info("Member %s has left group %s through explicit LeaveGroup", member_id, group_id)
            self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
            results.append((member_id, instance_id, E.NONE))
            removed = True
        if removed:
            if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
                self.prepare_rebalance(group, "member left the group")
            elif group.state is GroupState.PREPARING_REBALANCE:
                self._try_complete_join(group)
        return E.NONE, results
