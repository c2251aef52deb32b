"""What every lab check shares: the context it reads the cluster through and the result it answers.

The context reads through :class:`kcli.cluster_view.kafka.KafkaSource`, the data source of ``kcli tui``,
so a lab check sees exactly what the explorer shows, and works against any Kafka cluster; it reads
a topic's records once for all the checks of a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kcli.lab.spec import Check

if TYPE_CHECKING:
    from kcli.cluster_view.kafka import KafkaSource
    from kcli.cluster_view.model import Message

#: Records read from one topic at most, so a check on a huge topic stays quick.
MAX_RECORDS = 100_000


@dataclass
class Result:
    check: Check
    title: str
    passed: bool
    detail: str = ""
    hint: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.check.index,
            "kind": self.check.kind,
            "name": self.title,
            "passed": self.passed,
            "detail": self.detail,
            "hint": None if self.passed else self.hint,
        }


@dataclass
class Context:
    source: KafkaSource
    registry: str | None
    _records: dict[str, list[Message]] = field(default_factory=dict)

    def records(self, topic: str) -> list[Message]:
        """Every record of ``topic`` (up to :data:`MAX_RECORDS`), oldest first per partition."""
        if topic not in self._records:
            marks = self.source.watermarks(topic)
            ranges = {p: (low, high) for p, (low, high) in marks.items() if high > low}
            got = self.source.read_ranges(topic, ranges, MAX_RECORDS) if ranges else []
            got.sort(key=lambda m: (m.partition, m.offset))
            self._records[topic] = got
        return self._records[topic]

    def registry_call(self, url: str, path: str) -> Any:
        from kcli.schema_registry.client import SchemaRegistryClient

        return SchemaRegistryClient(url, timeout_s=5.0)._call("GET", path)


class CheckFailed(Exception):
    """The check could not even look (topic missing, registry down): a failure with this detail."""


def topic_detail(ctx: Context, name: str) -> Any:
    """The topic as the TUI shows it; a missing topic fails the check with the source's words."""
    from kcli.cluster_view.source import KafkaDataError

    try:
        return ctx.source.topic_detail(name)
    except KafkaDataError as exc:
        raise CheckFailed(str(exc)) from None


def short(data: bytes | None, width: int = 60) -> str:
    """A record's bytes as a hint can quote them: text, cut at ``width``."""
    if data is None:
        return "null"
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= width else text[: width - 1] + "…"


def registry_url(ctx: Context, c: Check) -> str:
    """The registry a schema check asks: its own ``registry`` argument, else the exercise's."""
    url = c.args.get("registry") or ctx.registry
    if not url:
        raise CheckFailed('no schema registry to ask: set registry = "http://localhost:8081" in the file')
    return str(url)
