"""v2 metadata: ``GET /topics``, ``/topics/{topic}``, ``/topics/{topic}/partitions[/{p}]``, ``/brokers``."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.route_support import V2_TYPE, proxy, reply


def _partition(p: Any) -> dict[str, Any]:
    return {
        "partition": p.id,
        "leader": p.leader,
        "replicas": [{"broker": b, "leader": b == p.leader, "in_sync": b in p.isrs} for b in p.replicas],
    }


async def _topic_metadata(request: web.Request) -> Any:
    topic = request.match_info["topic"]
    metadata = await asyncio.to_thread(proxy(request).kafka.metadata)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        raise errors.topic_not_found()
    return found


async def topics(request: web.Request) -> web.Response:
    metadata = await asyncio.to_thread(proxy(request).kafka.metadata)
    return reply(sorted(metadata.topics), content_type=V2_TYPE)


async def topic(request: web.Request) -> web.Response:
    from confluent_kafka.admin import ConfigResource

    state = proxy(request)
    found = await _topic_metadata(request)
    resource = ConfigResource(ConfigResource.Type.TOPIC, found.topic)
    configs = await asyncio.to_thread(
        lambda: state.kafka.wait(state.kafka.admin.describe_configs([resource])[resource])
    )
    body = {
        "name": found.topic,
        "configs": {name: entry.value for name, entry in sorted(configs.items())},
        "partitions": [_partition(found.partitions[i]) for i in sorted(found.partitions)],
    }
    return reply(body, content_type=V2_TYPE)


async def partitions(request: web.Request) -> web.Response:
    found = await _topic_metadata(request)
    return reply([_partition(found.partitions[i]) for i in sorted(found.partitions)], content_type=V2_TYPE)


async def partition(request: web.Request) -> web.Response:
    found = await _topic_metadata(request)
    try:
        number = int(request.match_info["partition"])
    except ValueError:
        raise errors.partition_not_found() from None
    if number not in found.partitions:
        raise errors.partition_not_found()
    return reply(_partition(found.partitions[number]), content_type=V2_TYPE)


async def brokers(request: web.Request) -> web.Response:
    metadata = await asyncio.to_thread(proxy(request).kafka.metadata)
    return reply({"brokers": sorted(metadata.brokers)}, content_type=V2_TYPE)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/topics", topics)
    app.router.add_get("/topics/{topic}", topic)
    app.router.add_get("/topics/{topic}/partitions", partitions)
    app.router.add_get("/topics/{topic}/partitions/{partition}", partition)
    app.router.add_get("/brokers", brokers)
