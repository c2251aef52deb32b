"""The REST Proxy's Kafka clients: one producer, one admin client, wrapped for asyncio.

confluent-kafka's calls block, so each runs in a worker thread (``asyncio.to_thread``); the
producer's delivery reports are collected by a polling thread and handed to the waiting request
as futures. Settings are translated from Java names by :mod:`kcli.client`, so ``client.*`` lines
written for Confluent's REST Proxy work unchanged.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from kcli.rest_proxy import errors
from kcli.rest_proxy.config import RestConfig
from kcli.rest_proxy.errors import RestError

ADMIN_TIMEOUT_S = 15.0


@dataclass
class Delivered:
    partition: int
    offset: int
    timestamp_ms: int


def client_conf(cfg: RestConfig, role: str, extra: dict[str, str]) -> dict[str, Any]:
    from kcli.client import quiet_settings
    from kcli.java_settings import translate

    java = {**cfg.client, **extra}
    conf = translate(java, role).conf  # type: ignore[arg-type]
    conf["bootstrap.servers"] = cfg.bootstrap
    conf.update(quiet_settings())
    return conf


def kafka_error(exc: BaseException) -> RestError:
    """A Kafka failure as REST Proxy reports it (50002, or 50003 when retriable)."""
    from kcli.client import kafka_error_text

    err = exc.args[0] if exc.args else None
    retriable = bool(getattr(err, "retriable", lambda: False)())
    code = errors.KAFKA_RETRIABLE_ERROR if retriable else errors.KAFKA_ERROR
    prefix = "Retriable Kafka error: " if retriable else "Kafka error: "
    return RestError(code, prefix + kafka_error_text(exc))


class Kafka:
    """The shared clients of one REST Proxy process."""

    def __init__(self, cfg: RestConfig):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient

        self.cfg = cfg
        self.admin = AdminClient(client_conf(cfg, "admin", cfg.admin))
        self.producer = Producer(client_conf(cfg, "producer", cfg.producer))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="rest-producer-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.1)

    def close(self) -> None:
        self._stop.set()
        self._poller.join(5)
        self.producer.flush(10)

    # -- metadata ----------------------------------------------------------------------------------

    def metadata(self, topic: str | None = None) -> Any:
        from confluent_kafka import KafkaException

        try:
            return self.admin.list_topics(topic=topic, timeout=ADMIN_TIMEOUT_S)
        except KafkaException as exc:
            raise kafka_error(exc) from None

    def cluster_id(self) -> str:
        return self.metadata().cluster_id or ""

    def wait(self, future: Any) -> Any:
        """Result of an admin future; Kafka errors become REST errors."""
        import concurrent.futures

        from confluent_kafka import KafkaException

        try:
            return future.result(timeout=ADMIN_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            raise RestError(errors.KAFKA_RETRIABLE_ERROR, "Retriable Kafka error: timed out") from None
        except KafkaException as exc:
            raise kafka_error(exc) from None

    # -- produce -----------------------------------------------------------------------------------

    async def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes | None]] | None = None,
        timestamp_ms: int | None = None,
    ) -> Delivered:
        """Produce one record and wait for its acknowledgement."""
        from confluent_kafka import KafkaException

        loop = asyncio.get_running_loop()
        done: asyncio.Future[Delivered] = loop.create_future()

        def report(err: Any, msg: Any) -> None:
            def settle() -> None:
                if done.done():
                    return
                if err is not None:
                    done.set_exception(kafka_error(KafkaException(err)))
                else:
                    done.set_result(Delivered(msg.partition(), msg.offset(), msg.timestamp()[1]))

            loop.call_soon_threadsafe(settle)

        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": report}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        while True:
            try:
                self.producer.produce(topic, **kwargs)
                break
            except BufferError:
                await asyncio.sleep(0.01)  # the local queue is full: the poller drains it
            except KafkaException as exc:
                raise kafka_error(exc) from None
        return await done
