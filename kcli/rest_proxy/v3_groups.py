"""v3 consumer groups, their consumers and lags: ``/v3/clusters/{cluster}/consumer-groups[/...]``.

Lag per partition is the log end offset (ListOffsets latest) minus the group's committed offset,
as Confluent's REST Proxy and ``kafka-consumer-groups --describe`` compute it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.route_support import proxy, reply
from kcli.rest_proxy.v3_clusters import cluster_metadata, listing, meta, related


def _state(group: Any) -> str:
    state = getattr(group.state, "name", str(group.state))
    return {"COMPLETING_REBALANCE": "COMPLETING_REBALANCE"}.get(state, state)


def group_body(url: str, cid: str, group: Any) -> dict[str, Any]:
    self_url = f"{url}/consumer-groups/{group.group_id}"
    coordinator = getattr(group, "coordinator", None)
    return {
        "kind": "KafkaConsumerGroup",
        "metadata": meta(self_url, f"crn:///kafka={cid}/consumer-group={group.group_id}"),
        "cluster_id": cid,
        "consumer_group_id": group.group_id,
        "is_simple": bool(group.is_simple_consumer_group),
        "partition_assignor": getattr(group, "partition_assignor", "") or "",
        "state": _state(group),
        "coordinator": related(f"{url}/brokers/{coordinator.id}") if coordinator is not None else None,
        "consumer": related(f"{self_url}/consumers"),
        "lag_summary": related(f"{self_url}/lag-summary"),
    }


def consumer_body(url: str, cid: str, group_id: str, member: Any) -> dict[str, Any]:
    self_url = f"{url}/consumer-groups/{group_id}/consumers/{member.member_id}"
    return {
        "kind": "KafkaConsumer",
        "metadata": meta(
            self_url, f"crn:///kafka={cid}/consumer-group={group_id}/consumer={member.member_id}"
        ),
        "cluster_id": cid,
        "consumer_group_id": group_id,
        "consumer_id": member.member_id,
        "instance_id": member.group_instance_id,
        "client_id": member.client_id,
        "host": member.host,
        "assignments": related(f"{self_url}/assignments"),
    }


async def _describe(request: web.Request, group_id: str) -> Any:
    state = proxy(request)
    found = await asyncio.to_thread(
        lambda: state.kafka.wait(state.kafka.admin.describe_consumer_groups([group_id])[group_id])
    )
    if _state(found) == "DEAD":
        raise RestError(404, f"Consumer Group {group_id} could not be found.")
    return found


async def groups(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    state = proxy(request)
    listed = await asyncio.to_thread(lambda: state.kafka.wait(state.kafka.admin.list_consumer_groups()))
    ids = sorted(g.group_id for g in listed.valid)
    described = []
    if ids:
        futures = await asyncio.to_thread(state.kafka.admin.describe_consumer_groups, ids)
        for group_id in ids:
            described.append(await asyncio.to_thread(state.kafka.wait, futures[group_id]))
    data = [group_body(url, metadata.cluster_id, g) for g in described]
    return reply(listing("KafkaConsumerGroupList", f"{url}/consumer-groups", data))


async def group(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    found = await _describe(request, request.match_info["group"])
    return reply(group_body(url, metadata.cluster_id, found))


async def consumers(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    found = await _describe(request, request.match_info["group"])
    data = [consumer_body(url, metadata.cluster_id, found.group_id, m) for m in found.members]
    return reply(listing("KafkaConsumerList", f"{url}/consumer-groups/{found.group_id}/consumers", data))


async def consumer(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    found = await _describe(request, request.match_info["group"])
    for member in found.members:
        if member.member_id == request.match_info["consumer"]:
            return reply(consumer_body(url, metadata.cluster_id, found.group_id, member))
    raise RestError(404, f"Consumer {request.match_info['consumer']} could not be found.")


async def assignments(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    found = await _describe(request, request.match_info["group"])
    cid, group_id, consumer_id = metadata.cluster_id, found.group_id, request.match_info["consumer"]
    member = next((m for m in found.members if m.member_id == consumer_id), None)
    if member is None:
        raise RestError(404, f"Consumer {consumer_id} could not be found.")
    base = f"{url}/consumer-groups/{group_id}/consumers/{consumer_id}/assignments"
    data = [
        {
            "kind": "KafkaConsumerAssignment",
            "metadata": meta(
                f"{base}/{tp.topic}/partitions/{tp.partition}",
                f"crn:///kafka={cid}/consumer-group={group_id}/consumer={consumer_id}"
                f"/assignment={tp.topic}/partition={tp.partition}",
            ),
            "cluster_id": cid,
            "consumer_group_id": group_id,
            "consumer_id": consumer_id,
            "topic_name": tp.topic,
            "partition_id": tp.partition,
            "partition": related(f"{url}/topics/{tp.topic}/partitions/{tp.partition}"),
            "lag": related(f"{url}/consumer-groups/{group_id}/lags/{tp.topic}/partitions/{tp.partition}"),
        }
        for tp in (member.assignment.topic_partitions if member.assignment else [])
    ]
    return reply(listing("KafkaConsumerAssignmentList", base, data))


async def group_lags(request: web.Request, group_id: str) -> list[dict[str, Any]]:
    """Per partition: committed offset, log end offset, lag, and the member that owns it."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    state = proxy(request)
    admin = state.kafka.admin
    found = await _describe(request, group_id)
    owners = {}
    for member in found.members:
        for tp in member.assignment.topic_partitions if member.assignment else []:
            owners[(tp.topic, tp.partition)] = member
    request_offsets = [ConsumerGroupTopicPartitions(group_id)]
    committed = await asyncio.to_thread(
        lambda: state.kafka.wait(admin.list_consumer_group_offsets(request_offsets)[group_id])
    )
    partitions = [tp for tp in committed.topic_partitions if tp.offset >= 0]
    if not partitions:
        return []
    ends = await asyncio.to_thread(
        lambda: {
            tp: state.kafka.wait(f)
            for tp, f in admin.list_offsets(
                {TopicPartition(tp.topic, tp.partition): OffsetSpec.latest() for tp in partitions}
            ).items()
        }
    )
    end_by = {(tp.topic, tp.partition): info.offset for tp, info in ends.items()}
    out = []
    for tp in sorted(partitions, key=lambda t: (t.topic, t.partition)):
        end = end_by.get((tp.topic, tp.partition), tp.offset)
        member = owners.get((tp.topic, tp.partition))
        out.append(
            {
                "topic_name": tp.topic,
                "partition_id": tp.partition,
                "current_offset": tp.offset,
                "log_end_offset": end,
                "lag": max(0, end - tp.offset),
                "consumer_id": member.member_id if member else "",
                "instance_id": member.group_instance_id if member else None,
                "client_id": member.client_id if member else "",
            }
        )
    return out


async def lags(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    cid, group_id = metadata.cluster_id, request.match_info["group"]
    base = f"{url}/consumer-groups/{group_id}/lags"
    data = [
        {
            "kind": "KafkaConsumerLag",
            "metadata": meta(
                f"{base}/{lag['topic_name']}/partitions/{lag['partition_id']}",
                f"crn:///kafka={cid}/consumer-group={group_id}/lag={lag['topic_name']}/partition={lag['partition_id']}",
            ),
            "cluster_id": cid,
            "consumer_group_id": group_id,
            **lag,
        }
        for lag in await group_lags(request, group_id)
    ]
    return reply(listing("KafkaConsumerLagList", base, data))


async def lag_summary(request: web.Request) -> web.Response:
    url, metadata = await cluster_metadata(request)
    cid, group_id = metadata.cluster_id, request.match_info["group"]
    found = await group_lags(request, group_id)
    top = max(found, key=lambda lag: lag["lag"], default=None)
    self_url = f"{url}/consumer-groups/{group_id}/lag-summary"
    body = {
        "kind": "KafkaConsumerGroupLagSummary",
        "metadata": meta(self_url, f"crn:///kafka={cid}/consumer-group={group_id}/lag-summary"),
        "cluster_id": cid,
        "consumer_group_id": group_id,
        "max_lag_consumer_id": top["consumer_id"] if top else "",
        "max_lag_instance_id": top["instance_id"] if top else None,
        "max_lag_client_id": top["client_id"] if top else "",
        "max_lag_topic_name": top["topic_name"] if top else "",
        "max_lag_partition_id": top["partition_id"] if top else 0,
        "max_lag": top["lag"] if top else 0,
        "total_lag": sum(lag["lag"] for lag in found),
        "max_lag_consumer": related(f"{url}/consumer-groups/{group_id}/consumers/{top['consumer_id']}")
        if top
        else None,
        "max_lag_partition": related(f"{url}/topics/{top['topic_name']}/partitions/{top['partition_id']}")
        if top
        else None,
    }
    return reply(body)


def add_routes(app: web.Application) -> None:
    base = "/v3/clusters/{cluster}/consumer-groups"
    app.router.add_get(base, groups)
    app.router.add_get(base + "/{group}", group)
    app.router.add_get(base + "/{group}/consumers", consumers)
    app.router.add_get(base + "/{group}/consumers/{consumer}", consumer)
    app.router.add_get(base + "/{group}/consumers/{consumer}/assignments", assignments)
    app.router.add_get(base + "/{group}/lags", lags)
    app.router.add_get(base + "/{group}/lag-summary", lag_summary)
