"""Kafka Streams' configuration for a Quix Streams ``Application``.

A demo's ``main`` takes an optional properties file (as the Java demos do: ``args[0]``) with
Kafka Streams keys: ``application.id`` (the consumer group and the prefix of internal topics),
``bootstrap.servers`` (default ``localhost:9092``), ``state.dir`` (default ``<tmp>/kafka-streams``),
``commit.interval.ms`` (30000 for at-least-once, as Kafka Streams) and ``processing.guarantee``.

Processing is at-least-once, Kafka Streams' default. ``exactly_once_v2`` needs Kafka
transactions, which kcli's broker does not support yet: asking for it is refused with one line
rather than silently run weaker.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kcli.properties import load_properties


class StreamsConfigError(Exception):
    pass


def streams_properties(argv: list[str], defaults: dict[str, str]) -> dict[str, str]:
    props = dict(defaults)
    if argv:
        try:
            props.update(load_properties(argv[0]))
        except FileNotFoundError:
            raise StreamsConfigError(f"{argv[0]} (No such file or directory)") from None
        except OSError as exc:
            raise StreamsConfigError(f"{argv[0]} ({exc.strerror or exc})") from None
    guarantee = props.get("processing.guarantee", "at_least_once").strip().lower()
    if guarantee != "at_least_once":
        raise StreamsConfigError(
            f"processing.guarantee={guarantee} needs Kafka transactions, which kcli's broker does not support yet; "
            "use processing.guarantee=at_least_once"
        )
    return props


def application(props: dict[str, str], store_names: dict[str, str] | None = None) -> Any:
    """A Quix Streams Application configured from Kafka Streams properties."""
    from quixstreams import Application
    from quixstreams.models.topics.admin import TopicAdmin

    from kcli.client import translate
    from kcli.streams.topics import KafkaStreamsTopicManager

    app_id = props["application.id"]
    bootstrap = props.get("bootstrap.servers", "localhost:9092")
    client_keys = {
        k: v for k, v in props.items() if k.startswith(("security.", "sasl.", "ssl.")) or k in ("client.id",)
    }
    extra = translate(client_keys, "consumer").conf if client_keys else {}
    state_dir = Path(props.get("state.dir") or Path(tempfile.gettempdir()) / "kafka-streams")
    topic_manager = KafkaStreamsTopicManager(
        TopicAdmin(broker_address=bootstrap, extra_config=extra),
        consumer_group=app_id,
        store_names=store_names,
    )
    return Application(
        broker_address=bootstrap,
        consumer_group=app_id,
        auto_offset_reset=props.get("auto.offset.reset", "earliest"),
        commit_interval=int(props.get("commit.interval.ms", "30000")) / 1000,
        state_dir=state_dir,
        consumer_extra_config=extra,
        producer_extra_config=extra,
        topic_manager=topic_manager,
        processing_guarantee="at-least-once",
        loglevel=props.get("kcli.log.level", "WARNING"),
    )


def run_demo(
    name: str, argv: list[str] | None, defaults: dict[str, str], build: Callable[[dict[str, str]], Any]
) -> int:
    """Parse, build and run until SIGINT/SIGTERM; a bad setting is one line and exit code 1."""
    from kcli.client import wait_for_broker
    from kcli.tools.cli import ToolError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        props = streams_properties(args, defaults)
        # A starting broker is waited for, as Kafka Streams' clients retry until their timeouts.
        wait_for_broker(props.get("bootstrap.servers", "localhost:9092"))
    except (StreamsConfigError, ToolError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("quixstreams").setLevel(logging.WARNING)
    quiet_import_quixstreams()
    app = build(props)
    app.run()
    return 0


def quiet_import_quixstreams() -> None:
    """Import Quix Streams without the warning authlib prints on import.

    Quix Streams imports confluent_kafka's schema registry module, which imports authlib, which
    warns about its own httpx integration (and forces its warning filter to "always"): noise that
    is not the user's to fix, so it is recorded and dropped.
    """
    with warnings.catch_warnings(record=True):
        import quixstreams  # noqa: F401


def java_split(text: str, pattern: Any) -> list[str]:
    """Java's ``String.split(regex)``: trailing empty strings removed, a leading one kept."""
    if text == "":
        return [""]
    parts = pattern.split(text)
    while parts and parts[-1] == "":
        parts.pop()
    return parts
