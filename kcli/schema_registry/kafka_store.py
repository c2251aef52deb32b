"""The Kafka-backed store: the compacted topic ``_schemas`` is the registry's only durable state.

As Confluent's registry does, this store is an ordinary Kafka client, so the registry works
against any cluster. On start it creates the topic if missing (cleanup.policy=compact, one
partition, so there is one total order of changes) and reads it to the end before the REST API
serves anything. A write is produced with acks=all and returns only once this store's own consumer
has read it back and applied it: the state is always exactly what the topic says.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kcli.schema_registry import errors
from kcli.schema_registry.errors import RegistryError
from kcli.schema_registry.state import RegistryState, encode

log = logging.getLogger("io.confluent.kafka.schemaregistry.storage.KafkaStore")


class _Quiet:
    """A logger look-alike that drops librdkafka's lines (used only while waiting for the cluster)."""

    def log(self, *_args: Any, **_kwargs: Any) -> None:
        pass


_QUIET = _Quiet()


class StoreUnavailable(Exception):
    """The Kafka cluster could not be reached (or the topic not prepared) in the allowed time."""


class KafkaStore:
    """Registry state backed by ``topic`` on the cluster at ``bootstrap``."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = "_schemas",
        timeout_s: float = 30.0,
        extra: dict[str, Any] | None = None,
        replication_factor: int = 3,
        write_timeout_s: float = 10.0,
    ):
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self.write_timeout_s = write_timeout_s
        self.extra = dict(extra or {})
        self.replication_factor = replication_factor
        self.state = RegistryState()
        self._applied = -1  # offset of the last record applied
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: Any = None
        self._consumer: Any = None

    # -- start-up ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Prepare the topic and read it to its end; raise StoreUnavailable on timeout."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

        deadline = time.monotonic() + self.timeout_s
        self._ensure_topic(deadline)
        common = {
            "bootstrap.servers": self.bootstrap,
            "allow.auto.create.topics": False,
            "logger": logging.getLogger("org.apache.kafka.clients.librdkafka"),  # our log format, not stderr
            **self.extra,
        }
        self._producer = Producer({**common, "acks": "all", "enable.idempotence": True, "linger.ms": 0})
        self._consumer = Consumer(
            {
                **common,
                "group.id": "schema-registry",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
            }
        )
        self._consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
        end = self._end_offset(deadline)
        log.info("Reading the store topic %s to its end offset %d", self.topic, end)
        self._thread = threading.Thread(target=self._consume_loop, name="kafka-store-reader", daemon=True)
        self._thread.start()
        if end > 0 and not self._wait_applied(end - 1, max(0.0, deadline - time.monotonic())):
            raise StoreUnavailable(f"timed out reading {self.topic} to offset {end} from {self.bootstrap}")
        log.info("Store topic %s read to the end (%d schema ids)", self.topic, self.state.max_id)

    def _ensure_topic(self, deadline: float) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        # no auto-creation: the topic must be created compacted, never by a metadata request
        # quiet while waiting for the cluster: one clear line at the end beats librdkafka's retry noise
        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap,
                "allow.auto.create.topics": False,
                "log_level": 0,
                "logger": _QUIET,
                **self.extra,
            }
        )
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreUnavailable(
                    f"no Kafka broker reachable at {self.bootstrap} within {self.timeout_s:g} s"
                )
            try:
                metadata = admin.list_topics(topic=self.topic, timeout=min(remaining, 5.0))
                break
            except KafkaException:
                continue
        if self.topic in metadata.topics and metadata.topics[self.topic].error is None:
            log.info("Store topic %s exists", self.topic)
            return
        factor = max(1, min(self.replication_factor, len(metadata.brokers)))
        log.info(
            "Creating the store topic %s (cleanup.policy=compact, 1 partition, rf %d)", self.topic, factor
        )
        futures = admin.create_topics(
            [NewTopic(self.topic, 1, factor, config={"cleanup.policy": "compact"})],
            request_timeout=max(1.0, deadline - time.monotonic()),
        )
        try:
            futures[self.topic].result(timeout=max(1.0, deadline - time.monotonic()))
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc) and "already exists" not in str(exc):
                raise StoreUnavailable(f"could not create {self.topic}: {exc}") from None

    def _end_offset(self, deadline: float) -> int:
        from confluent_kafka import KafkaException, TopicPartition

        while True:
            try:
                _low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self.topic, 0), timeout=max(0.5, min(5.0, deadline - time.monotonic()))
                )
                return int(high)
            except KafkaException as exc:
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(f"could not read the end offset of {self.topic}: {exc}") from None

    # -- reading -----------------------------------------------------------------------------------

    def _consume_loop(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._consumer.poll(0.2)
            except RuntimeError:  # consumer closed
                return
            if msg is None:
                continue
            if msg.error() is not None:
                log.warning("Error reading %s: %s", self.topic, msg.error())
                continue
            self.state.apply(msg.key(), msg.value())
            with self._cond:
                self._applied = msg.offset()
                self._cond.notify_all()

    def _wait_applied(self, offset: int, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._applied >= offset, timeout_s)

    # -- writing -----------------------------------------------------------------------------------

    def write(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        done = threading.Event()
        result: dict[str, Any] = {}

        def on_delivery(err: Any, msg: Any) -> None:
            result["err"] = err
            result["offset"] = None if msg is None else msg.offset()
            done.set()

        self._producer.produce(
            self.topic, key=encode(key), value=encode(value), partition=0, on_delivery=on_delivery
        )
        deadline = time.monotonic() + self.write_timeout_s
        while not done.is_set() and time.monotonic() < deadline:
            self._producer.poll(0.1)
        if not done.is_set():
            raise RegistryError(errors.STORE_TIMEOUT, f"Write to the Kafka store {self.topic} timed out")
        if result["err"] is not None:
            raise RegistryError(
                errors.STORE_ERROR, f"Error while writing to the Kafka store: {result['err']}"
            )
        if not self._wait_applied(result["offset"], max(0.0, deadline - time.monotonic())):
            raise RegistryError(
                errors.STORE_TIMEOUT, f"Timed out reading back offset {result['offset']} of {self.topic}"
            )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._producer is not None:
            self._producer.flush(5)
        if self._consumer is not None:
            self._consumer.close()
