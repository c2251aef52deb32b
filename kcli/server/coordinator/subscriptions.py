"""What a consumer group subscribes to: topic names, RE2 regular expressions, and the topics'
metadata the target assignment is computed from.

KIP-848 moves regex subscriptions to the broker: a member sends ``subscribed_topic_regex`` and the
coordinator resolves it against the cluster's topics. Kafka documents (and implements, with
RE2/J) the RE2 syntax with full-match semantics; Python's ``re`` is a different dialect (it has
look-arounds and back-references, RE2 has not), so the broker uses Google's RE2 through the
``google-re2`` package. A regex that does not compile is INVALID_REGULAR_EXPRESSION, with RE2's
own description, as Kafka answers. Internal topics (``__consumer_offsets``...) never match, as
with the Java client's ``exclude.internal.topics``.

Resolutions are cached per regex and refreshed when the set of topics changes, so a heartbeat
costs a dictionary lookup, not a scan of every topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import re2

from kcli.server.coordinator.consumer_group_records import TopicMetadata

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker


class InvalidRegex(ValueError):
    """A subscribed regex that RE2 cannot compile; the message is Kafka's."""


class TopicView(Protocol):
    """The cluster's topics as the coordinator needs them."""

    def metadata(self, name: str) -> TopicMetadata | None: ...

    def name_of(self, topic_id: uuid.UUID) -> str | None: ...

    def names(self) -> Iterable[str]: ...

    def version(self) -> Any: ...


class BrokerTopics:
    """The broker's catalog (every topic of the cluster, not only the partitions it hosts)."""

    def __init__(self, broker: Broker):
        self.broker = broker

    def metadata(self, name: str) -> TopicMetadata | None:
        record = self.broker.topic(name)
        return None if record is None else TopicMetadata(record.topic_id, record.name, record.partitions)

    def name_of(self, topic_id: uuid.UUID) -> str | None:
        record = self.broker.topics_by_id.get(topic_id)
        return None if record is None else record.name

    def names(self) -> Iterable[str]:
        return [name for name, record in self.broker.catalog.topics.items() if not record.internal]

    def version(self) -> Any:
        """Changes whenever topics are created or deleted (the catalog dict is replaced on each
        controller image and resized on each local change)."""
        topics = self.broker.catalog.topics
        image = self.broker.image
        return (id(topics), len(topics), None if image is None else image.version)


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every rejected pattern on the broker's stderr


def compile_regex(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise InvalidRegex(
            f"SubscribedTopicRegex `{pattern}` is not a valid regular expression: {detail}."
        ) from None


class RegexResolver:
    """Compiled regexes and their resolutions, refreshed when the topics change."""

    def __init__(self) -> None:
        self._compiled: dict[str, Any] = {}
        self._resolved: dict[str, tuple[Any, frozenset[str]]] = {}

    def check(self, pattern: str) -> None:
        """Raise InvalidRegex unless ``pattern`` compiles."""
        if pattern not in self._compiled:
            self._compiled[pattern] = compile_regex(pattern)

    def resolve(self, pattern: str, topics: TopicView) -> frozenset[str]:
        version = topics.version()
        cached = self._resolved.get(pattern)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            self.check(pattern)
        except InvalidRegex:
            return frozenset()
        compiled = self._compiled[pattern]
        matched = frozenset(name for name in topics.names() if compiled.fullmatch(name) is not None)
        self._resolved[pattern] = (version, matched)
        if len(self._resolved) > 4096:  # forget regexes nobody uses any more
            self._resolved.pop(next(iter(self._resolved)))
            self._compiled.pop(next(iter(self._compiled)), None)
        return matched


def subscription_metadata(names: Iterable[str], topics: TopicView) -> dict[str, TopicMetadata]:
    """Kafka's subscription metadata: id and partition count of each subscribed topic that exists."""
    out: dict[str, TopicMetadata] = {}
    for name in names:
        meta = topics.metadata(name)
        if meta is not None:
            out[name] = meta
    return out
