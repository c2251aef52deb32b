"""v3 topics, partitions and topic configs: ``/v3/clusters/{cluster}/topics[/...]``."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.route_support import no_content, proxy, read_json, reply, require_type
from kcli.rest_proxy.v3_clusters import (
    cluster_metadata,
    config_body,
    describe_configs,
    listing,
    meta,
    related,
)

TOPIC_NOT_FOUND = "This server does not host this topic-partition."
TOPIC_EXISTS = 40002


def topic_body(url: str, cid: str, topic: Any) -> dict[str, Any]:
    self_url = f"{url}/topics/{topic.topic}"
    partitions = topic.partitions
    first = partitions[min(partitions)] if partitions else None
    return {
        "kind": "KafkaTopic",
        "metadata": meta(self_url, f"crn:///kafka={cid}/topic={topic.topic}"),
        "cluster_id": cid,
        "topic_name": topic.topic,
        "is_internal": topic.topic.startswith("__"),
        "replication_factor": len(first.replicas) if first else 0,
        "partitions_count": len(partitions),
        "partitions": related(f"{self_url}/partitions"),
        "configs": related(f"{self_url}/configs"),
        "partition_reassignments": related(f"{self_url}/partitions/-/reassignment"),
        "authorized_operations": [],
    }


def partition_body(url: str, cid: str, topic: str, p: Any) -> dict[str, Any]:
    self_url = f"{url}/topics/{topic}/partitions/{p.id}"
    return {
        "kind": "KafkaPartition",
        "metadata": meta(self_url, f"crn:///kafka={cid}/topic={topic}/partition={p.id}"),
        "cluster_id": cid,
        "topic_name": topic,
        "partition_id": p.id,
        "leader": related(f"{self_url}/replicas/{p.leader}") if p.leader >= 0 else None,
        "replicas": related(f"{self_url}/replicas"),
        "reassignment": related(f"{self_url}/reassignment"),
    }


async def _topic(request: web.Request) -> tuple[str, str, Any]:
    url, metadata = await cluster_metadata(request)
    name = request.match_info["topic"]
    found = metadata.topics.get(name)
    if found is None or found.error is not None:
        raise RestError(404, TOPIC_NOT_FOUND)
    return url, metadata.cluster_id, found


async def topics(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    data = [topic_body(url, metadata.cluster_id, metadata.topics[t]) for t in sorted(metadata.topics)]
    return reply(listing("KafkaTopicList", f"{url}/topics", data))


async def create_topic(request: web.Request) -> web.Response:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    require_type(request, "application/json")
    url, metadata = await cluster_metadata(request)
    body = await read_json(request)
    name = body.get("topic_name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise RestError(400, "topic_name is required")
    partitions = body.get("partitions_count", -1)
    replication = body.get("replication_factor", -1)
    configs = body.get("configs") or []
    if not isinstance(partitions, int) or not isinstance(replication, int) or not isinstance(configs, list):
        raise RestError(400, "partitions_count and replication_factor are numbers, configs a list")
    config = {c.get("name"): c.get("value") for c in configs if isinstance(c, dict)}
    state = proxy(request)
    new = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config)

    def create() -> None:
        future = state.kafka.admin.create_topics([new], validate_only=bool(body.get("validate_only")))[name]
        try:
            future.result(timeout=15)
        except KafkaException as exc:
            err = exc.args[0]
            if err.name() == "TOPIC_ALREADY_EXISTS":
                raise RestError(TOPIC_EXISTS, f"Topic '{name}' already exists.") from None
            raise RestError(400, err.str()) from None

    await asyncio.to_thread(create)
    if body.get("validate_only"):
        fake = type("T", (), {"topic": name, "partitions": {}})()
        return reply(topic_body(url, metadata.cluster_id, fake), 201)
    found = await _wait_for_topic(request, name)
    return reply(topic_body(url, metadata.cluster_id, found), 201)


async def _wait_for_topic(request: web.Request, name: str) -> Any:
    """The new topic's metadata, once the cluster reports its partitions (bounded wait)."""
    state = proxy(request)
    for _ in range(100):
        metadata = await asyncio.to_thread(state.kafka.metadata, name)
        found = metadata.topics.get(name)
        if found is not None and found.error is None and found.partitions:
            return found
        await asyncio.sleep(0.05)  # polling the cluster's metadata for the created topic
    raise RestError(500, f"Topic '{name}' was created but its metadata did not appear")


async def topic(request: web.Request) -> web.Response:
    url, cid, found = await _topic(request)
    return reply(topic_body(url, cid, found))


async def delete_topic(request: web.Request) -> web.Response:
    _url, _cid, found = await _topic(request)
    state = proxy(request)
    await asyncio.to_thread(
        lambda: state.kafka.wait(state.kafka.admin.delete_topics([found.topic])[found.topic])
    )
    return no_content()


async def partitions(request: web.Request) -> web.Response:
    url, cid, found = await _topic(request)
    data = [partition_body(url, cid, found.topic, found.partitions[p]) for p in sorted(found.partitions)]
    return reply(listing("KafkaPartitionList", f"{url}/topics/{found.topic}/partitions", data))


def _partition(request: web.Request, found: Any) -> Any:
    try:
        number = int(request.match_info["partition"])
    except ValueError:
        raise RestError(404, TOPIC_NOT_FOUND) from None
    if number not in found.partitions:
        raise RestError(404, TOPIC_NOT_FOUND)
    return found.partitions[number]


async def partition(request: web.Request) -> web.Response:
    url, cid, found = await _topic(request)
    return reply(partition_body(url, cid, found.topic, _partition(request, found)))


async def replicas(request: web.Request) -> web.Response:
    url, cid, found = await _topic(request)
    p = _partition(request, found)
    base = f"{url}/topics/{found.topic}/partitions/{p.id}/replicas"
    data = [
        {
            "kind": "KafkaReplica",
            "metadata": meta(
                f"{base}/{b}", f"crn:///kafka={cid}/topic={found.topic}/partition={p.id}/replica={b}"
            ),
            "cluster_id": cid,
            "topic_name": found.topic,
            "partition_id": p.id,
            "broker_id": b,
            "is_leader": b == p.leader,
            "is_in_sync": b in p.isrs,
            "broker": related(f"{url}/brokers/{b}"),
        }
        for b in p.replicas
    ]
    return reply(listing("KafkaReplicaList", base, data))


async def _configs(request: web.Request) -> tuple[str, str, str, dict[str, Any]]:
    from confluent_kafka.admin import ConfigResource

    url, cid, found = await _topic(request)
    configs = await describe_configs(request, ConfigResource(ConfigResource.Type.TOPIC, found.topic))
    return url, cid, found.topic, configs


def _config(url: str, cid: str, topic: str, entry: Any) -> dict[str, Any]:
    self_url = f"{url}/topics/{topic}/configs/{entry.name}"
    crn = f"crn:///kafka={cid}/topic={topic}/config={entry.name}"
    return config_body("KafkaTopicConfig", self_url, crn, {"cluster_id": cid, "topic_name": topic}, entry)


async def configs(request: web.Request) -> web.Response:
    url, cid, topic_name, found = await _configs(request)
    data = [_config(url, cid, topic_name, found[n]) for n in sorted(found)]
    return reply(listing("KafkaTopicConfigList", f"{url}/topics/{topic_name}/configs", data))


async def config(request: web.Request) -> web.Response:
    url, cid, topic_name, found = await _configs(request)
    name = request.match_info["name"]
    if name not in found:
        raise RestError(404, f"Config {name} cannot be found for topic {topic_name}.")
    return reply(_config(url, cid, topic_name, found[name]))


async def _alter(request: web.Request, topic_name: str, changes: list[tuple[str, str | None]]) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    entries = [
        ConfigEntry(
            name,
            value,
            incremental_operation=AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET,
        )
        for name, value in changes
    ]
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic_name, incremental_configs=entries)
    state = proxy(request)

    def alter() -> None:
        try:
            state.kafka.admin.incremental_alter_configs([resource])[resource].result(timeout=15)
        except KafkaException as exc:
            raise RestError(400, exc.args[0].str()) from None

    await asyncio.to_thread(alter)


async def update_config(request: web.Request) -> web.Response:
    require_type(request, "application/json")
    _url, _cid, found = await _topic(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("value"), str | int | float | bool):
        raise RestError(400, 'The request body needs a "value"')
    await _alter(request, found.topic, [(request.match_info["name"], str(body["value"]))])
    return no_content()


async def reset_config(request: web.Request) -> web.Response:
    _url, _cid, found = await _topic(request)
    await _alter(request, found.topic, [(request.match_info["name"], None)])
    return no_content()


async def alter_configs(request: web.Request) -> web.Response:
    require_type(request, "application/json")
    _url, _cid, found = await _topic(request)
    body = await read_json(request)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise RestError(400, 'The request body needs a "data" array')
    changes: list[tuple[str, str | None]] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RestError(400, 'Each of "data" needs a "name"')
        operation = str(item.get("operation", "SET")).upper()
        changes.append((item["name"], None if operation == "DELETE" else str(item.get("value"))))
    await _alter(request, found.topic, changes)
    return no_content()


def add_routes(app: web.Application) -> None:
    base = "/v3/clusters/{cluster}/topics"
    app.router.add_get(base, topics)
    app.router.add_post(base, create_topic)
    app.router.add_get(base + "/{topic}", topic)
    app.router.add_delete(base + "/{topic}", delete_topic)
    app.router.add_get(base + "/{topic}/partitions", partitions)
    app.router.add_get(base + "/{topic}/partitions/{partition}", partition)
    app.router.add_get(base + "/{topic}/partitions/{partition}/replicas", replicas)
    app.router.add_get(base + "/{topic}/configs", configs)
    app.router.add_post(base + "/{topic}/configs:alter", alter_configs)
    app.router.add_get(base + "/{topic}/configs/{name}", config)
    app.router.add_put(base + "/{topic}/configs/{name}", update_config)
    app.router.add_delete(base + "/{topic}/configs/{name}", reset_config)
