"""The messages a screen or the command palette posts upward to ask the app for a view or a form.

A screen does not know the other screens nor the app: it posts one of these and the app (their
only handler, :class:`~kcli.tui.app.KcliApp`) pushes the screen or the dialog. Messages bubble
from a screen to the app, as in Textual's own example apps.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message


class OpenTopic(Message):
    """Show one topic: partitions, configs, throughput."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class OpenMessages(Message):
    """Browse a topic's records (one partition, or all when ``partition`` is None)."""

    def __init__(self, topic: str, partition: int | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition


class OpenGroup(Message):
    """Show one consumer group: members, offsets, lag."""

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id


class OpenPartitionLog(Message):
    """Draw one partition's log: segments, offsets, watermarks."""

    def __init__(self, topic: str, partition: int) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition


class ProduceRecord(Message):
    """Open the produce form; ``on_done`` runs once a record was written."""

    def __init__(self, topic: str, partition: int | None, on_done: Callable[[], None] | None) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition
        self.on_done = on_done


class ResetGroupOffsets(Message):
    """Open the reset-offsets form of a group; ``on_done`` runs once offsets changed."""

    def __init__(self, group_id: str, on_done: Callable[[], None] | None) -> None:
        super().__init__()
        self.group_id = group_id
        self.on_done = on_done
