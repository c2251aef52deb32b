"""v2 consumer instances: ``/consumers/{group}[/instances/{instance}/...]``.

Each instance is one confluent-kafka Consumer in the named group, used from its own worker thread
(librdkafka consumers are not for concurrent calls), with the embedded format chosen at creation
(``binary``, ``json``, ``avro``, ``jsonschema``, ``protobuf``); a records request whose Accept type
names another format is REST Proxy's 406/40601. Instances idle longer than
``consumer.instance.timeout.ms`` are closed, as in Confluent's proxy. Committing offsets
``{"offset": n}`` commits n + 1 (the next record to read), as Confluent's v2 API does; a commit
without offsets (and auto-commit) covers exactly the records returned so far, and a record that
cannot be shown in the instance's format is an error that leaves the position on it.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.embedded import PLAIN_FORMATS, decode_plain
from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.kafka import client_conf, kafka_error
from kcli.rest_proxy.route_support import (
    PROXY_KEY,
    V2_TYPE,
    base_url,
    no_content,
    proxy,
    read_json,
    reply,
    require_type,
)

FORMATS = ("binary", "json", "avro", "jsonschema", "protobuf")
BODY_TYPES = (V2_TYPE, "application/vnd.kafka+json", "application/json")
_ACCEPT = re.compile(r"application/vnd\.kafka\.(json|binary|avro|jsonschema|protobuf)\.v2\+json")
_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class Instance:
    group: str
    name: str
    fmt: str
    consumer: Any
    timeout_ms: int
    request_timeout_ms: int = 1000
    subscription: list[str] = field(default_factory=list)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    last_used: float = field(default_factory=time.monotonic)

    async def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on this instance's own thread; Kafka errors become REST errors."""
        from confluent_kafka import KafkaException

        self.last_used = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, lambda: fn(*args))
        except KafkaException as exc:
            raise kafka_error(exc) from None
        finally:
            self.last_used = time.monotonic()

    def close(self) -> None:
        def shut() -> None:
            try:
                self.consumer.close()
            except Exception:
                pass

        self.executor.submit(shut).result(timeout=30)
        self.executor.shutdown(wait=False)


class Instances:
    """The consumer instances of this proxy, by (group, name)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Instance] = {}
        self.lock = threading.Lock()

    def get(self, request: web.Request) -> Instance:
        key = (request.match_info["group"], request.match_info["instance"])
        with self.lock:
            found = self.by_key.get(key)
        if found is None:
            raise errors.instance_not_found()
        return found

    def expired(self) -> list[Instance]:
        now = time.monotonic()
        with self.lock:
            gone = [i for i in self.by_key.values() if (now - i.last_used) * 1000 > i.timeout_ms]
            for instance in gone:
                self.by_key.pop((instance.group, instance.name), None)
        return gone

    def close_all(self) -> None:
        with self.lock:
            every = list(self.by_key.values())
            self.by_key.clear()
        for instance in every:
            instance.close()


def _partitions(body: Any, key: str = "partitions") -> list[Any]:
    from confluent_kafka import TopicPartition

    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise RestError(422, f'The request body needs a "{key}" array')
    out = []
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("topic"), str)
            or not isinstance(item.get("partition"), int)
        ):
            raise RestError(422, f'Each of "{key}" needs a "topic" and a "partition"')
        if "offset" in item:
            if not isinstance(item["offset"], int):
                raise RestError(422, '"offset" must be a number')
            out.append(TopicPartition(item["topic"], item["partition"], item["offset"]))
        else:
            out.append(TopicPartition(item["topic"], item["partition"]))
    return out


async def create(request: web.Request) -> web.Response:
    from confluent_kafka import Consumer, KafkaException

    require_type(request, *BODY_TYPES)
    state = proxy(request)
    group = request.match_info["group"]
    body = await read_json(request, empty={})
    if not isinstance(body, dict):
        raise RestError(422, "The request body must be a JSON object")
    name = body.get("name") or f"rest-consumer-{uuid.uuid4()}"
    fmt = str(body.get("format", "binary")).lower()
    if fmt not in FORMATS:
        raise RestError(
            errors.INVALID_CONSUMER_CONFIG,
            f"Invalid consumer configuration: format {fmt} is not one of {', '.join(FORMATS)}",
        )
    java = dict(state.cfg.consumer)
    java["group.id"] = group
    java["enable.auto.offset.store"] = "false"  # offsets advance only for records returned
    java["client.id"] = str(body.get("id") or name)
    reset = body.get("auto.offset.reset")
    if reset is not None:
        if reset not in ("earliest", "latest", "none", "smallest", "largest"):
            raise RestError(
                errors.INVALID_CONSUMER_CONFIG, f"Invalid consumer configuration: auto.offset.reset={reset}"
            )
        java["auto.offset.reset"] = {"smallest": "earliest", "largest": "latest"}.get(reset, reset)
    commit = body.get("auto.commit.enable")
    if commit is not None:
        java["enable.auto.commit"] = str(commit).lower()
    for key in ("fetch.min.bytes",):
        if body.get(key) is not None:
            java[key] = str(body[key])
    timeout_ms = state.cfg.instance_timeout_ms
    with state.consumers.lock:
        if (group, name) in state.consumers.by_key:
            raise RestError(
                errors.CONSUMER_ALREADY_EXISTS,
                "Consumer with specified consumer ID already exists in the specified consumer group.",
            )
    try:
        consumer = await asyncio.to_thread(Consumer, client_conf(state.cfg, "consumer", java))
    except (KafkaException, ValueError, TypeError) as exc:
        raise RestError(errors.INVALID_CONSUMER_CONFIG, f"Invalid consumer configuration: {exc}") from None
    request_timeout = int(body.get("consumer.request.timeout.ms") or state.cfg.request_timeout_ms)
    instance = Instance(group, name, fmt, consumer, timeout_ms, request_timeout)
    with state.consumers.lock:
        state.consumers.by_key[(group, name)] = instance
    uri = f"{base_url(request)}/consumers/{group}/instances/{name}"
    return reply({"instance_id": name, "base_uri": uri}, content_type=V2_TYPE)


async def delete(request: web.Request) -> web.Response:
    state = proxy(request)
    instance = state.consumers.get(request)
    with state.consumers.lock:
        state.consumers.by_key.pop((instance.group, instance.name), None)
    await asyncio.to_thread(instance.close)
    return no_content()


async def subscribe(request: web.Request) -> web.Response:
    require_type(request, *BODY_TYPES)
    instance = proxy(request).consumers.get(request)
    body = await read_json(request)
    topics = body.get("topics") if isinstance(body, dict) else None
    pattern = body.get("topic_pattern") if isinstance(body, dict) else None
    if pattern:
        targets = [f"^{pattern}" if not str(pattern).startswith("^") else str(pattern)]
    elif isinstance(topics, list) and topics and all(isinstance(t, str) for t in topics):
        targets = list(topics)
    else:
        raise RestError(422, 'The request body needs "topics" (a list of names) or "topic_pattern"')
    instance.subscription = targets
    await instance.run(instance.consumer.subscribe, targets)
    return no_content()


async def subscription(request: web.Request) -> web.Response:
    instance = proxy(request).consumers.get(request)
    return reply({"topics": list(instance.subscription)}, content_type=V2_TYPE)


async def unsubscribe(request: web.Request) -> web.Response:
    instance = proxy(request).consumers.get(request)
    instance.subscription = []
    await instance.run(instance.consumer.unsubscribe)
    return no_content()


async def assign(request: web.Request) -> web.Response:
    require_type(request, *BODY_TYPES)
    instance = proxy(request).consumers.get(request)
    if instance.subscription:
        raise RestError(
            errors.CONSUMER_ALREADY_SUBSCRIBED,
            "Consumer cannot subscribe the the specified target because it has already subscribed to other topics.",
        )
    partitions = _partitions(await read_json(request))
    await instance.run(instance.consumer.assign, partitions)
    return no_content()


async def assignments(request: web.Request) -> web.Response:
    instance = proxy(request).consumers.get(request)
    found = await instance.run(instance.consumer.assignment)
    return reply(
        {"partitions": [{"topic": p.topic, "partition": p.partition} for p in found]}, content_type=V2_TYPE
    )


async def seek(request: web.Request) -> web.Response:
    require_type(request, *BODY_TYPES)
    instance = proxy(request).consumers.get(request)
    targets = _partitions(await read_json(request), "offsets")
    await _seek(instance, targets)
    return no_content()


async def _seek(instance: Instance, targets: list[Any]) -> None:
    def go() -> None:
        assigned = {(p.topic, p.partition) for p in instance.consumer.assignment()}
        for tp in targets:
            if (tp.topic, tp.partition) not in assigned:
                raise RestError(
                    errors.ILLEGAL_STATE,
                    f"Illegal state: No current assignment for partition {tp.topic}-{tp.partition}",
                )
            instance.consumer.seek(tp)

    await instance.run(go)


async def seek_edge(request: web.Request) -> web.Response:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

    require_type(request, *BODY_TYPES)
    instance = proxy(request).consumers.get(request)
    offset = OFFSET_BEGINNING if request.match_info["edge"] == "beginning" else OFFSET_END
    targets = _partitions(await read_json(request))
    for tp in targets:
        tp.offset = offset
    await _seek(instance, targets)
    return no_content()


async def records(request: web.Request) -> web.Response:
    state = proxy(request)
    instance = state.consumers.get(request)
    accept = request.headers.get("Accept", "")
    match = _ACCEPT.search(accept)
    if (
        match is None
        and accept
        and "*/*" not in accept
        and V2_TYPE not in accept
        and "application/json" not in accept
    ):
        raise errors.not_acceptable()
    if match is not None and match.group(1) != instance.fmt:
        raise RestError(
            errors.CONSUMER_FORMAT_MISMATCH,
            "The requested embedded data format does not match the deserializer for this consumer instance",
        )
    try:
        timeout_ms = int(request.query.get("timeout", instance.request_timeout_ms))
        max_bytes = int(request.query.get("max_bytes", _MAX_BYTES))
    except ValueError:
        raise RestError(400, "timeout and max_bytes must be numbers") from None

    def fetch() -> list[Any]:
        out: list[Any] = []
        size = 0
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            batch = instance.consumer.consume(num_messages=500, timeout=remaining if not out else 0)
            for msg in batch:
                if msg.error() is not None:
                    if msg.error().code() == -191:  # _PARTITION_EOF
                        continue
                    raise RestError(errors.KAFKA_ERROR, f"Kafka error: {msg.error().str()}")
                out.append(msg)
                size += len(msg.value() or b"") + len(msg.key() or b"")
            if not batch or size >= max_bytes or time.monotonic() >= deadline:
                return out

    messages = await instance.run(fetch)
    fmt = instance.fmt
    body = []
    try:
        for msg in messages:
            body.append(await _record(state, fmt, msg))
    except RestError:
        await instance.run(_rewind, instance.consumer, messages)
        raise
    if messages:
        await instance.run(_store, instance.consumer, messages)
    return reply(body, content_type=f"application/vnd.kafka.{fmt}.v2+json")


async def _record(state: Any, fmt: str, msg: Any) -> dict[str, Any]:
    if fmt in PLAIN_FORMATS:
        key, value = decode_plain(fmt, msg.key()), decode_plain(fmt, msg.value())
    else:
        key = None if msg.key() is None else await asyncio.to_thread(_decode_key, state, msg.key())
        value = None if msg.value() is None else await asyncio.to_thread(state.schemas.decode, msg.value())
    return {
        "topic": msg.topic(),
        "key": key,
        "value": value,
        "partition": msg.partition(),
        "offset": msg.offset(),
    }


def _store(consumer: Any, messages: list[Any]) -> None:
    """Mark the returned records consumed: the next offset of each partition is what a commit takes."""
    from confluent_kafka import TopicPartition

    last: dict[tuple[str, int], int] = {}
    for msg in messages:
        last[(msg.topic(), msg.partition())] = msg.offset()
    consumer.store_offsets(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()])


def _rewind(consumer: Any, messages: list[Any]) -> None:
    """Put the fetch position back to the first record not returned, so a record that cannot be
    shown in this consumer's format is not skipped (as a Java consumer stops at it)."""
    from confluent_kafka import TopicPartition

    first: dict[tuple[str, int], int] = {}
    for msg in messages:
        first.setdefault((msg.topic(), msg.partition()), msg.offset())
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))


def _decode_key(state: Any, data: bytes) -> Any:
    if len(data) < 5 or data[0] != 0:
        return data.decode("utf-8", errors="replace")  # a plain key beside schema values
    return state.schemas.decode(data)


async def commit(request: web.Request) -> web.Response:
    from confluent_kafka import TopicPartition

    instance = proxy(request).consumers.get(request)
    body = await read_json(request, empty={})
    if isinstance(body, dict) and body.get("offsets"):
        targets = [
            TopicPartition(tp.topic, tp.partition, tp.offset + 1) for tp in _partitions(body, "offsets")
        ]
        await instance.run(lambda: instance.consumer.commit(offsets=targets, asynchronous=False))
    else:
        await instance.run(lambda: _commit_all(instance.consumer))
    return web.Response(status=200, content_type=V2_TYPE)


def _commit_all(consumer: Any) -> None:
    from confluent_kafka import KafkaException

    try:
        consumer.commit(asynchronous=False)
    except KafkaException as exc:
        if exc.args and getattr(exc.args[0], "code", lambda: None)() == -168:  # _NO_OFFSET: nothing to commit
            return
        raise


async def committed(request: web.Request) -> web.Response:
    instance = proxy(request).consumers.get(request)
    body = await read_json(request)
    targets = _partitions(body)
    found = await instance.run(lambda: instance.consumer.committed(targets, timeout=15))
    offsets = [
        {
            "topic": tp.topic,
            "partition": tp.partition,
            "offset": tp.offset if tp.offset >= 0 else -1,
            "metadata": "",
        }
        for tp in found
    ]
    return reply({"offsets": offsets}, content_type=V2_TYPE)


async def expire(app: web.Application) -> None:
    """Close idle instances now and then (a background task of the application)."""
    state = app[PROXY_KEY]
    while True:
        await asyncio.sleep(5)  # a periodic sweep, not a synchronisation
        for instance in state.consumers.expired():
            await asyncio.to_thread(instance.close)


def add_routes(app: web.Application) -> None:
    base = "/consumers/{group}/instances/{instance}"
    app.router.add_post("/consumers/{group}", create)
    app.router.add_delete(base, delete)
    app.router.add_post(f"{base}/subscription", subscribe)
    app.router.add_get(f"{base}/subscription", subscription)
    app.router.add_delete(f"{base}/subscription", unsubscribe)
    app.router.add_post(f"{base}/assignments", assign)
    app.router.add_get(f"{base}/assignments", assignments)
    app.router.add_post(f"{base}/positions", seek)
    app.router.add_post(base + "/positions/{edge:beginning|end}", seek_edge)
    app.router.add_get(f"{base}/records", records)
    app.router.add_post(f"{base}/offsets", commit)
    app.router.add_get(f"{base}/offsets", committed)
