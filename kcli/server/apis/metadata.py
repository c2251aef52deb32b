"""Metadata: brokers, cluster id, controller, and topics with partitions and topic ids.

A request naming an unknown topic auto-creates it when ``auto.create.topics.enable`` is on and the
client allows it (``allow_auto_topic_creation``, v4+). Topics are answered from the broker's
:class:`~kcli.server.state.metadata_response_cache.MetadataResponseCache` (each topic encoded once per
version until its metadata changes) and the response is assembled from those bytes by
:func:`~kcli.server.state.metadata_response_cache.encode_metadata_response`.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.state.broker import Broker, topic_name_problem
from kcli.server.state.metadata_response_cache import NOT_REQUESTED, encode_metadata_response, topic_dict


def topic_metadata(broker: Broker, name: str, private: bool = False) -> dict[str, Any]:
    """The topic's entry: its shared cached fragment, or a plain dict of it when ``private``
    (the caller will change it, as the authorizer does to add authorized operations) or while
    the broker has no metadata image yet."""
    cache = broker.metadata_responses
    if not cache.active:
        return topic_dict(broker, name)
    fragment = cache.topic(name)
    assert fragment is not None
    return dict(fragment) if private else fragment


def _error_topic(name: str | None, code: int, topic_id: Any = None) -> dict[str, Any]:
    return {"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": []}


@api(3, "Metadata", 0, 12, encoder=encode_metadata_response)
async def metadata(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    requested = request.topics
    if ctx.version == 0 and requested == ():
        requested = None  # v0: an empty list means every topic
    allow_auto = getattr(request, "allow_auto_topic_creation", True)
    private = getattr(request, "include_topic_authorized_operations", False)
    topics: list[Any] = []
    if requested is None:
        cache = broker.metadata_responses
        if cache.active and not private:
            topics = cache.all_topics()
        else:
            topics = [topic_metadata(broker, name, private) for name in sorted(broker.catalog.topics)]
    else:
        for item in requested:
            name = item.name
            topic_id = getattr(item, "topic_id", None)
            if name is None and topic_id is not None and topic_id.int != 0:
                record = broker.topics_by_id.get(topic_id)
                if record is None:
                    topics.append(_error_topic(None, ErrorCode.unknown_topic_id, topic_id))
                    continue
                name = record.name
            if name is None:
                continue
            if broker.topic(name) is not None:
                topics.append(topic_metadata(broker, name, private))
            elif topic_name_problem(name):
                topics.append(_error_topic(name, ErrorCode.invalid_topic_exception))
            elif allow_auto and await broker.auto_create(name) is not None:
                # Creation here is synchronous, so the new topic's leader is known at once and the
                # client need not retry after ErrorCode.leader_not_available as it would with Kafka.
                topics.append(topic_metadata(broker, name, private))
            else:
                topics.append(_error_topic(name, ErrorCode.unknown_topic_or_partition))
    return {
        "throttle_time": 0,
        "brokers": [
            {"node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
            for b in broker.live_brokers(ctx.listener)
        ],
        "cluster_id": broker.cluster_id,
        "controller_id": broker.controller_id,
        "topics": topics,
        "cluster_authorized_operations": NOT_REQUESTED,
    }
