"""Helpers shared by the admin tools (topics, configs, get-offsets, delete-records...).

They wrap confluent-kafka's AdminClient so that every tool connects the same way: quiet librdkafka,
a fast one-line failure when no broker listens, and Kafka's own topic matching rules.
"""

from __future__ import annotations

import re
from typing import Any

from kcli.tools.cli import ToolError

#: Kafka's internal topics (``Topic.isInternal``).
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})

DEFAULT_TIMEOUT_S = 30.0


def admin_client(bootstrap: str, command_config: str | None, properties: list[str] | None = None) -> Any:
    """An AdminClient for ``--bootstrap-server``/``--command-config``, once a broker accepts
    connections (within ``default.api.timeout.ms``, as Java's admin client waits)."""
    from kcli import client

    settings = client.client_settings(bootstrap, command_config, properties or [], "admin")
    client.prepare(settings, "admin")
    return client.build("admin", settings.conf)


def topic_filter(raw: str) -> re.Pattern[str]:
    """Kafka's TopicFilter.IncludeList: commas mean '|', spaces and surrounding quotes dropped."""
    regex = raw.strip().replace(",", "|").replace(" ", "")
    regex = re.sub(r"^[\"']+", "", regex)
    regex = re.sub(r"[\"']+$", "", regex)
    try:
        return re.compile(regex)
    except re.error:
        raise ToolError(f"{regex} is an invalid regex.") from None


def matching_topics(names: list[str], raw_filter: str | None, exclude_internal: bool) -> list[str]:
    """Sorted topic names matching ``--topic`` (a full-match regex), as TopicCommand selects them."""
    pattern = topic_filter(raw_filter) if raw_filter is not None else None
    out = []
    for name in sorted(names):
        if exclude_internal and name in INTERNAL_TOPICS:
            continue
        if pattern is not None and not pattern.fullmatch(name):
            continue
        out.append(name)
    return out


def list_topic_metadata(admin: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """ClusterMetadata of all topics (internal ones included)."""
    from confluent_kafka import KafkaException

    from kcli.client import kafka_error_text

    try:
        return admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise ToolError(kafka_error_text(exc)) from None


def future_result(future: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """An admin future's result; a KafkaException becomes a ToolError with the broker's message."""
    import concurrent.futures

    from confluent_kafka import KafkaException

    from kcli.client import kafka_error_text

    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise ToolError(f"Timed out after {timeout_s:g} s waiting for the broker") from None
    except KafkaException as exc:
        raise ToolError(kafka_error_text(exc)) from None


def error_code(exc: BaseException) -> int | None:
    """The KafkaError code inside a KafkaException, if any."""
    err = exc.args[0] if exc.args else None
    return err.code() if hasattr(err, "code") else None
