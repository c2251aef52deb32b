"""``confluent kafka ...``: topics and consumer groups of any cluster.

The cluster is ``--bootstrap`` (with ``--config-file`` for a secured cluster), else the current
context, else the local stack, over the Kafka protocol. With ``--url`` (or ``CONFLUENT_REST_URL``)
the topic and group commands go through a REST Proxy instead, as Confluent's on-premises CLI
does (:mod:`kcli.confluent.rest_admin`); produce and consume always use the Kafka protocol.
"""

from __future__ import annotations

from typing import Any

from kcli.confluent import context, groups, topic_commands, topics
from kcli.confluent.framework import Args, CobraGroup, Flag, command, group
from kcli.confluent.topic_commands import OUTPUT, output_format, rest_url

CONNECTION = [
    Flag("bootstrap", 'Comma-separated list of broker hosts, each formatted as "host" or "host:port".'),
    Flag("config-file", "The path to a client properties file (security settings for a secured cluster)."),
]
REST_URL = Flag(
    "url",
    "Base URL of a REST Proxy endpoint of the Kafka cluster (or CONFLUENT_REST_URL); without it the Kafka protocol is used.",
)


def connect(values: dict[str, Any], role: str) -> tuple[str, dict[str, Any]]:
    bootstrap = context.bootstrap(values.get("bootstrap"))
    configs = values.get("config") if role in ("producer", "consumer") else None
    return bootstrap, context.client_settings(bootstrap, values.get("config_file"), configs, role)


def build(root: CobraGroup) -> None:
    kafka = group(root, "kafka", "Manage Apache Kafka.")
    topic_commands.build(kafka, [*CONNECTION, REST_URL], connect, "confluent kafka")
    consumer = group(kafka, "consumer", "Manage Kafka consumers.")
    consumer_group = group(consumer, "group", "Manage Kafka consumer groups.")

    def admin(values: dict[str, Any]) -> Any:
        output_format(values.get("output"))  # a bad -o is reported before any connection
        bootstrap, conf = connect(values, "admin")
        context.check_reachable(bootstrap)
        return topics.admin(conf)

    def list_groups(**v: Any) -> None:
        fmt = output_format(v["output"])
        url = rest_url(v)
        if url:
            from kcli.confluent import rest_admin

            rest_admin.list_groups(rest_admin.Rest(url), fmt)
        else:
            groups.list_groups(admin(v), fmt)

    def lag_list(**v: Any) -> None:
        fmt = output_format(v["output"])
        url = rest_url(v)
        if url:
            from kcli.confluent import rest_admin

            rest_admin.lag_list(rest_admin.Rest(url), v["args"][0], fmt)
        else:
            groups.lag_list(admin(v), v["args"][0], fmt)

    command(
        consumer_group, "list", "List Kafka consumer groups.", list_groups, [*CONNECTION, REST_URL, OUTPUT]
    )
    command(
        consumer_group,
        "describe",
        "Describe a Kafka consumer group.",
        lambda **v: groups.describe(admin(v), v["args"][0], output_format(v["output"])),
        [*CONNECTION, OUTPUT],
        args=Args(1, 1, "<group>"),
    )
    lag = group(consumer_group, "lag", "View consumer lag.")
    command(
        lag,
        "list",
        "List consumer lags for a Kafka consumer group.",
        lag_list,
        [*CONNECTION, REST_URL, OUTPUT],
        args=Args(1, 1, "<group>"),
    )
    command(
        lag,
        "describe",
        "Describe consumer lag for a Kafka topic partition consumed by a consumer group.",
        lambda **v: groups.lag_describe(
            admin(v), v["args"][0], v["topic"], v["partition"], output_format(v["output"])
        ),
        [
            *CONNECTION,
            Flag("topic", "Topic name.", required=True),
            Flag("partition", "Partition ID.", "int", required=True, default=None),
            OUTPUT,
        ],
        args=Args(1, 1, "<group>"),
    )
    command(
        lag,
        "summarize",
        "Summarize consumer lag for a Kafka consumer group.",
        lambda **v: groups.lag_summarize(admin(v), v["args"][0], output_format(v["output"])),
        [*CONNECTION, OUTPUT],
        args=Args(1, 1, "<group>"),
    )
