"""v3 clusters and brokers: ``/v3/clusters[/{cluster}]``, ``.../brokers[/{id}[/configs[/{name}]]]``,
``.../broker-configs``; plus the resource shapes every v3 module shares (``kind``, ``metadata`` with
``self`` and ``resource_name``, ``related`` links, lists with ``metadata.next``)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.route_support import base_url, proxy, reply


def listing(kind: str, self_url: str, data: list[Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"self": self_url, "next": None}, "data": data}


def meta(self_url: str, crn: str) -> dict[str, Any]:
    return {"self": self_url, "resource_name": crn}


def related(url: str) -> dict[str, str]:
    return {"related": url}


async def cluster_metadata(request: web.Request) -> tuple[str, Any]:
    """(cluster URL, metadata) of the cluster in the path; 404 when it is not this cluster."""
    metadata = await asyncio.to_thread(proxy(request).kafka.metadata)
    wanted = request.match_info["cluster"]
    if wanted != (metadata.cluster_id or ""):
        raise RestError(404, f"Cluster {wanted} cannot be found.")
    return f"{base_url(request)}/v3/clusters/{wanted}", metadata


def cluster_body(root: str, metadata: Any) -> dict[str, Any]:
    cid = metadata.cluster_id or ""
    url = f"{root}/v3/clusters/{cid}"
    controller = metadata.controller_id
    return {
        "kind": "KafkaCluster",
        "metadata": meta(url, f"crn:///kafka={cid}"),
        "cluster_id": cid,
        "controller": related(f"{url}/brokers/{controller}")
        if controller is not None and controller >= 0
        else None,
        "acls": related(f"{url}/acls"),
        "brokers": related(f"{url}/brokers"),
        "broker_configs": related(f"{url}/broker-configs"),
        "consumer_groups": related(f"{url}/consumer-groups"),
        "topics": related(f"{url}/topics"),
        "partition_reassignments": related(f"{url}/topics/-/partitions/-/reassignment"),
    }


def broker_body(url: str, cid: str, broker: Any) -> dict[str, Any]:
    self_url = f"{url}/brokers/{broker.id}"
    return {
        "kind": "KafkaBroker",
        "metadata": meta(self_url, f"crn:///kafka={cid}/broker={broker.id}"),
        "cluster_id": cid,
        "broker_id": broker.id,
        "host": broker.host,
        "port": broker.port,
        "rack": None,
        "configs": related(f"{self_url}/configs"),
        "partition_replicas": related(f"{self_url}/partition-replicas"),
    }


def source_name(source: Any) -> str:
    """A config's source as Kafka names it (``DEFAULT_CONFIG``, ``DYNAMIC_TOPIC_CONFIG`` ...)."""
    from confluent_kafka.admin import ConfigSource

    if hasattr(source, "name"):
        return source.name
    try:
        return ConfigSource(int(source)).name
    except (ValueError, TypeError):
        return "UNKNOWN"


def config_body(kind: str, self_url: str, crn: str, ids: dict[str, Any], entry: Any) -> dict[str, Any]:
    source = source_name(entry.source)
    return {
        "kind": kind,
        "metadata": meta(self_url, crn),
        **ids,
        "name": entry.name,
        "value": None if entry.is_sensitive else entry.value,
        "is_default": bool(entry.is_default),
        "is_read_only": bool(entry.is_read_only),
        "is_sensitive": bool(entry.is_sensitive),
        "source": source,
        "synonyms": [
            {"name": s.name, "value": s.value, "source": source_name(s.source)}
            for s in (entry.synonyms or {}).values()
        ],
    }


async def describe_configs(request: web.Request, resource: Any) -> dict[str, Any]:
    state = proxy(request)
    return await asyncio.to_thread(
        lambda: state.kafka.wait(state.kafka.admin.describe_configs([resource])[resource])
    )


async def clusters(request: web.Request) -> web.Response:
    metadata = await asyncio.to_thread(proxy(request).kafka.metadata)
    root = base_url(request)
    return reply(listing("KafkaClusterList", f"{root}/v3/clusters", [cluster_body(root, metadata)]))


async def cluster(request: web.Request) -> web.Response:
    _url, metadata = await cluster_metadata(request)
    return reply(cluster_body(base_url(request), metadata))


async def brokers(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    cid = metadata.cluster_id
    data = [broker_body(url, cid, metadata.brokers[b]) for b in sorted(metadata.brokers)]
    return reply(listing("KafkaBrokerList", f"{url}/brokers", data))


def _broker_id(request: web.Request, metadata: Any) -> int:
    try:
        broker_id = int(request.match_info["broker"])
    except ValueError:
        raise RestError(404, f"Broker {request.match_info['broker']} cannot be found.") from None
    if broker_id not in metadata.brokers:
        raise RestError(404, f"Broker {broker_id} cannot be found.")
    return broker_id


async def broker(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    broker_id = _broker_id(request, metadata)
    return reply(broker_body(url, metadata.cluster_id, metadata.brokers[broker_id]))


async def _broker_configs(request: web.Request) -> tuple[str, str, int, dict[str, Any]]:
    from confluent_kafka.admin import ConfigResource

    url, metadata = await cluster_metadata(request)
    broker_id = _broker_id(request, metadata)
    configs = await describe_configs(request, ConfigResource(ConfigResource.Type.BROKER, str(broker_id)))
    return url, metadata.cluster_id, broker_id, configs


def _broker_config(url: str, cid: str, broker_id: int, entry: Any) -> dict[str, Any]:
    self_url = f"{url}/brokers/{broker_id}/configs/{entry.name}"
    crn = f"crn:///kafka={cid}/broker={broker_id}/config={entry.name}"
    return config_body("KafkaBrokerConfig", self_url, crn, {"cluster_id": cid, "broker_id": broker_id}, entry)


async def broker_configs(request: web.Request) -> web.Response:
    url, cid, broker_id, configs = await _broker_configs(request)
    data = [_broker_config(url, cid, broker_id, configs[name]) for name in sorted(configs)]
    return reply(listing("KafkaBrokerConfigList", f"{url}/brokers/{broker_id}/configs", data))


async def broker_config(request: web.Request) -> web.Response:
    url, cid, broker_id, configs = await _broker_configs(request)
    name = request.match_info["name"]
    if name not in configs:
        raise errors.not_found(f"Config {name} cannot be found for broker {broker_id}.")
    return reply(_broker_config(url, cid, broker_id, configs[name]))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v3/clusters", clusters)
    app.router.add_get("/v3/clusters/{cluster}", cluster)
    app.router.add_get("/v3/clusters/{cluster}/brokers", brokers)
    app.router.add_get("/v3/clusters/{cluster}/brokers/{broker}", broker)
    app.router.add_get("/v3/clusters/{cluster}/brokers/{broker}/configs", broker_configs)
    app.router.add_get("/v3/clusters/{cluster}/brokers/{broker}/configs/{name}", broker_config)
