"""Kafka's rules for new topics and partitions, in one place for every path that creates them.

Names (legal characters, length, and no collision with an existing topic once '.' and '_' are
unified - they are the same name in metrics), configs, manual replica assignments, and the bound
on how much one request may create: Kafka's controller builds at most
``MAX_RECORDS_PER_USER_OP`` metadata records per request (one TopicRecord per topic, one
ConfigRecord per config, one PartitionRecord per partition) and refuses a larger request whole
with POLICY_VIOLATION, so ``--partitions 100000`` is an error, not a stalled broker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from kio.schema.errors import ErrorCode

from kcli.server.base.topic_configs import validate_topic_config

LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_NAME = 249
# QuorumController.MAX_RECORDS_PER_USER_OP (= MAX_RECORDS_PER_BATCH).
MAX_RECORDS_PER_USER_OP = 10_000
# What Kafka's controller answers when a request would exceed it (EventHandlerExceptionInfo maps
# BoundedListTooLongException to this PolicyViolationException).
EXCESSIVE_BATCH_MESSAGE = "Unable to perform excessively large batch operation."


class TopicError(Exception):
    """A topic operation Kafka would refuse; carries the protocol error code and Kafka's message."""

    def __init__(self, error_code: int, message: str):
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def code(self) -> int:
        return self.error_code


def topic_name_problem(name: str) -> str | None:
    """Kafka's topic name rules (Topic.validate); None when the name is legal."""
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return 'Topic name cannot be "." or ".."'
    if len(name) > MAX_TOPIC_NAME:
        return (
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME} characters, topic name: {name}"
        )
    if not LEGAL_TOPIC.match(name):
        return (
            f"Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, "
            "'.', '_' and '-'"
        )
    return None


def unify_collision_chars(name: str) -> str:
    """Kafka's Topic.unifyCollisionChars: '.' and '_' become one character in metric names."""
    return name.replace(".", "_")


class CollisionIndex:
    """Existing topic names by their unified form, as Kafka's topicsWithCollisionChars."""

    def __init__(self, names: Iterable[str] = ()):
        self._by_unified: dict[str, set[str]] = {}
        for name in names:
            self.add(name)

    def add(self, name: str) -> None:
        if "." in name or "_" in name:
            self._by_unified.setdefault(unify_collision_chars(name), set()).add(name)

    def remove(self, name: str) -> None:
        unified = unify_collision_chars(name)
        names = self._by_unified.get(unified)
        if names is not None:
            names.discard(name)
            if not names:
                del self._by_unified[unified]

    def colliding(self, name: str) -> str | None:
        """An existing topic other than ``name`` whose name collides with it, if any."""
        if "." not in name and "_" not in name:
            return None
        others = sorted(self._by_unified.get(unify_collision_chars(name), set()) - {name})
        return others[0] if others else None


def check_new_topic(name: str, exists: bool, collisions: CollisionIndex, configs: dict[str, str]) -> None:
    """A new topic's name and configs, as Kafka's ReplicationControlManager checks them."""
    problem = topic_name_problem(name)
    if problem:
        raise TopicError(ErrorCode.invalid_topic_exception, problem)
    if exists:
        raise TopicError(ErrorCode.topic_already_exists, f"Topic '{name}' already exists.")
    colliding = collisions.colliding(name)
    if colliding is not None:
        raise TopicError(
            ErrorCode.invalid_topic_exception, f"Topic '{name}' collides with existing topic: {colliding}"
        )
    for key, value in configs.items():
        try:
            validate_topic_config(key, value)
        except ValueError as exc:
            raise TopicError(ErrorCode.invalid_config, str(exc)) from None


def topic_records(partitions: int, configs: dict[str, str]) -> int:
    """Metadata records Kafka's controller writes for a new topic."""
    return 1 + len(configs) + partitions


def excessive_batch() -> TopicError:
    return TopicError(ErrorCode.policy_violation, EXCESSIVE_BATCH_MESSAGE)


def manual_assignment(
    replicas: list[int],
    registered: Callable[[int], bool],
    replication_factor: int | None,
) -> None:
    """One partition of an explicit replica assignment, as Kafka's
    validateManualPartitionAssignment checks it (messages included)."""
    if not replicas:
        raise TopicError(
            ErrorCode.invalid_replica_assignment,
            "The manual partition assignment includes an empty replica list.",
        )
    previous = None
    for broker_id in sorted(replicas):
        if not registered(broker_id):
            raise TopicError(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes broker {broker_id}, but no such broker is registered.",
            )
        if broker_id == previous:
            raise TopicError(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes the broker {previous} more than once.",
            )
        previous = broker_id
    if replication_factor is not None and len(replicas) != replication_factor:
        raise TopicError(
            ErrorCode.invalid_replica_assignment,
            f"The manual partition assignment includes a partition with {len(replicas)} replica(s), but this "
            f"is not consistent with previous partitions, which have {replication_factor} replica(s).",
        )
