"""Kafka Streams' configuration for a Quix Streams ``Application``.

A demo's ``main`` takes an optional properties file (as the Java demos do: ``args[0]``) with
Kafka Streams keys: ``application.id`` (the consumer group and the prefix of internal topics),
``bootstrap.servers`` (default ``localhost:9092``), ``state.dir`` (default ``<tmp>/kafka-streams``),
``commit.interval.ms``, ``processing.guarantee``, and client settings for the consumer
(``consumer.`` or ``main.consumer.`` prefix) and the producer (``producer.`` prefix), translated
to librdkafka's as the tools translate Java client settings.

``processing.guarantee`` takes what Kafka Streams 3.9 takes: ``at_least_once`` (the default),
``exactly_once_v2``, and the deprecated ``exactly_once`` and ``exactly_once_beta`` (both with
Kafka's deprecation warning; Kafka 4.0 drops them). Every exactly-once spelling runs Quix
Streams' exactly-once mode, which is Kafka Streams' ``exactly_once_v2`` design: one
transactional producer per instance, the input offsets committed in its transaction (KIP-447),
read_committed consumers. As in Kafka Streams, exactly-once commits every 100 ms unless
``commit.interval.ms`` says otherwise (30 s for at-least-once), the producer's
``transaction.timeout.ms`` defaults to 10 s and may not be below the commit interval, and the
``transactional.id`` is ``<application.id>-<process id>-1`` with the process id kept in the state
directory (:mod:`kcli.streams.state_directory`).
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

AT_LEAST_ONCE = "at_least_once"
EXACTLY_ONCE_V2 = "exactly_once_v2"
#: The deprecated spellings Kafka Streams 3.9 still accepts, with the warning it logs for each.
DEPRECATED_GUARANTEES = {
    "exactly_once": "Configuration parameter `exactly_once` is deprecated and will be removed in the 4.0.0 "
    "release. Please use `exactly_once_v2` instead. Note that this requires broker version 2.5+ so you "
    "should prepare to upgrade your brokers if necessary.",
    "exactly_once_beta": "Configuration parameter `exactly_once_beta` is deprecated and will be removed in the "
    "4.0.0 release. Please use `exactly_once_v2` instead.",
}
GUARANTEES = (AT_LEAST_ONCE, "exactly_once", "exactly_once_beta", EXACTLY_ONCE_V2)
DEFAULT_COMMIT_INTERVAL_MS = 30000
EOS_DEFAULT_COMMIT_INTERVAL_MS = 100
EOS_DEFAULT_TRANSACTION_TIMEOUT_MS = 10000
#: Kafka Streams' prefixes for the settings of its clients.
CONSUMER_PREFIXES = ("consumer.", "main.consumer.")
PRODUCER_PREFIXES = ("producer.",)

#: Kafka Streams' logger: where its configuration warnings come from.
config_log = logging.getLogger("org.apache.kafka.streams.StreamsConfig")


class StreamsConfigError(Exception):
    pass


def streams_properties(argv: list[str], defaults: dict[str, str]) -> dict[str, str]:
    """The demo's properties (``defaults`` overridden by the file in ``argv[0]``), validated as
    Kafka's StreamsConfig validates them; deprecated settings are logged as Kafka logs them."""
    props = dict(defaults)
    if argv:
        try:
            props.update(load_properties(argv[0]))
        except FileNotFoundError:
            raise StreamsConfigError(f"{argv[0]} (No such file or directory)") from None
        except OSError as exc:
            raise StreamsConfigError(f"{argv[0]} ({exc.strerror or exc})") from None
    guarantee = props.get("processing.guarantee", AT_LEAST_ONCE).strip()  # Java trims, case kept
    if guarantee not in GUARANTEES:
        raise StreamsConfigError(
            f"Invalid value {guarantee} for configuration processing.guarantee: "
            f"String must be one of: {', '.join(GUARANTEES)}"
        )
    props["processing.guarantee"] = guarantee
    if guarantee in DEPRECATED_GUARANTEES:
        config_log.warning(DEPRECATED_GUARANTEES[guarantee])
    interval = commit_interval_ms(props)
    if exactly_once(props):
        timeout = _int(props, "producer.transaction.timeout.ms", EOS_DEFAULT_TRANSACTION_TIMEOUT_MS)
        if timeout < interval:
            raise StreamsConfigError(
                f"Transaction timeout {timeout} was set lower than streams commit interval {interval}. This will "
                "cause ongoing transaction always timeout due to inactivity caused by long commit interval. "
                "Consider reconfiguring commit interval to match transaction timeout by tuning "
                "'commit.interval.ms' config, or increase the transaction timeout to match commit interval by "
                "tuning `producer.transaction.timeout.ms` config."
            )
    return props


def _int(props: dict[str, str], key: str, default: int) -> int:
    text = props.get(key)
    if text is None:
        return default
    try:
        return int(text.strip())
    except ValueError:
        java_type = "LONG" if key == "commit.interval.ms" else "INT"
        raise StreamsConfigError(
            f"Invalid value {text.strip()} for configuration {key}: Not a number of type {java_type}"
        ) from None


def exactly_once(props: dict[str, str]) -> bool:
    return props.get("processing.guarantee", AT_LEAST_ONCE) != AT_LEAST_ONCE


def commit_interval_ms(props: dict[str, str]) -> int:
    """``commit.interval.ms``, else Kafka Streams' default for the processing guarantee."""
    default = EOS_DEFAULT_COMMIT_INTERVAL_MS if exactly_once(props) else DEFAULT_COMMIT_INTERVAL_MS
    return _int(props, "commit.interval.ms", default)


_notes_shown: set[str] = set()


def client_settings(props: dict[str, str], role: str) -> dict[str, str]:
    """librdkafka settings of one of the application's clients: the security settings and
    ``client.id`` unprefixed, then the keys under Kafka Streams' prefixes for that client."""
    from kcli.java_settings import translate

    prefixes = {"consumer": CONSUMER_PREFIXES, "producer": PRODUCER_PREFIXES}.get(role, ())
    java = {
        k: v for k, v in props.items() if k.startswith(("security.", "sasl.", "ssl.")) or k == "client.id"
    }
    for prefix in prefixes:
        java.update({k[len(prefix) :]: v for k, v in props.items() if k.startswith(prefix)})
    if not java:
        return {}
    translated = translate(java, role)  # type: ignore[arg-type]
    for note in translated.notes:
        if note not in _notes_shown:  # a setting shared by the clients is reported once
            _notes_shown.add(note)
            print(note, file=sys.stderr)
    return {k: str(v) for k, v in translated.conf.items()}


def application(props: dict[str, str], store_names: dict[str, str] | None = None) -> Any:
    """A Quix Streams Application configured from Kafka Streams properties; ``store_names``
    (Quix store name -> Kafka Streams store name) says the application has persistent stores."""
    from quixstreams import Application
    from quixstreams.models.topics.admin import TopicAdmin

    from kcli.streams.state_directory import StateDirectory
    from kcli.streams.topics import KafkaStreamsTopicManager

    app_id = props["application.id"]
    bootstrap = props.get("bootstrap.servers", "localhost:9092")
    consumer = client_settings(props, "consumer")
    producer = client_settings(props, "producer")
    admin = client_settings(props, "admin")
    state_dir = Path(props.get("state.dir") or Path(tempfile.gettempdir()) / "kafka-streams")
    directory = StateDirectory(state_dir, app_id)
    if store_names:
        directory.lock()  # one instance per state directory, as Kafka Streams
    guarantee = "at-least-once"
    if exactly_once(props):
        guarantee = "exactly-once"
        process_id = directory.process_id(persistent=bool(store_names))
        producer.setdefault("transaction.timeout.ms", str(EOS_DEFAULT_TRANSACTION_TIMEOUT_MS))
        producer["transactional.id"] = f"{app_id}-{process_id}-1"  # one stream thread
    topic_manager = KafkaStreamsTopicManager(
        TopicAdmin(broker_address=bootstrap, extra_config=admin),
        consumer_group=app_id,
        store_names=store_names,
    )
    return Application(
        broker_address=bootstrap,
        consumer_group=app_id,
        auto_offset_reset=props.get("auto.offset.reset", "earliest"),
        commit_interval=commit_interval_ms(props) / 1000,
        state_dir=state_dir,
        consumer_extra_config=consumer,
        producer_extra_config=producer,
        topic_manager=topic_manager,
        processing_guarantee=guarantee,
        loglevel=props.get("kcli.log.level", "WARNING"),
    )


def run_demo(
    name: str, argv: list[str] | None, defaults: dict[str, str], build: Callable[[dict[str, str]], Any]
) -> int:
    """Parse, build and run until SIGINT/SIGTERM; a bad setting is one line and exit code 1."""
    from kcli.client import wait_for_broker
    from kcli.streams.state_directory import StateDirectoryError
    from kcli.tools.cli import ToolError

    args = list(sys.argv[1:] if argv is None else argv)
    log_like_kafka_tools()
    try:
        props = streams_properties(args, defaults)
        # A starting broker is waited for, as Kafka Streams' clients retry until their timeouts.
        wait_for_broker(props.get("bootstrap.servers", "localhost:9092"))
        logging.getLogger("quixstreams").setLevel(logging.WARNING)
        quiet_import_quixstreams()
        app = build(props)
    except (StreamsConfigError, StateDirectoryError, ToolError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    app.run()
    return 0


def log_like_kafka_tools() -> None:
    """Kafka Streams' own warnings on stderr in the layout of Kafka's tools-log4j.properties
    (``[date] WARN message (logger)``), which ``kafka-run-class`` uses."""
    from kcli.server.base.logging_setup import KafkaFormatter

    if not config_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(KafkaFormatter())
        config_log.addHandler(handler)
        config_log.propagate = False


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
