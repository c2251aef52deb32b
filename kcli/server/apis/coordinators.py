"""Which coordinator answers a request: the group, consumer-group and transaction coordinators of
this broker, as the group, offset and transaction API families look them up.

The families share these lookups (and the two field conversions below) from here rather than
from each other, so ``groups``, ``consumer_groups`` and ``transactions`` do not import one another.
No handler is registered here.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from kcli.server.apis.registry import RequestContext
from kcli.server.coordinator import errors as E
from kcli.server.transaction import errors as TE

if TYPE_CHECKING:
    from kcli.server.base.broker_view import BrokerNode
    from kcli.server.coordinator.consumer_coordinator import ConsumerGroupCoordinator
    from kcli.server.coordinator.group_coordinator import GroupCoordinator
    from kcli.server.state.broker import Broker
    from kcli.server.transaction.coordinator import TransactionCoordinator


def coordinator(ctx: RequestContext) -> GroupCoordinator | None:
    return ctx.broker.coordinator  # type: ignore[return-value]


def coordinator_for(ctx: RequestContext, group_id: str) -> tuple[GroupCoordinator | None, int]:
    """(coordinator, 0) when this broker coordinates ``group_id``, else (None, error): in a cluster
    the coordinator of a group is the leader of its ``__consumer_offsets`` partition, and the
    others answer NOT_COORDINATOR so the client looks it up again."""
    coord = coordinator(ctx)
    if coord is None:
        return None, E.COORDINATOR_NOT_AVAILABLE
    if not coord.owns(group_id):
        return None, E.NOT_COORDINATOR
    return coord, E.NONE


def consumer_groups(ctx: RequestContext) -> ConsumerGroupCoordinator | None:
    """The KIP-848 consumer-group coordinator, which lives beside the classic one."""
    return getattr(coordinator(ctx), "consumer", None)


def routed_to_consumer_group(ctx: RequestContext, group_id: str) -> ConsumerGroupCoordinator | None:
    """The consumer coordinator when ``group_id`` is a consumer group (JoinGroup & co. go there)."""
    consumer = consumer_groups(ctx)
    if consumer is not None and consumer.is_consumer_group(group_id):
        return consumer
    return None


def txn_coordinator(broker: Broker) -> TransactionCoordinator | None:
    coordinator = getattr(broker, "transaction_coordinator", None)
    if coordinator is not None:
        coordinator.start()
    return coordinator


async def find_transaction_coordinator(
    broker: Broker, transactional_id: str, listener: str | None = None
) -> tuple[int, BrokerNode | None]:
    """(error, node) for FindCoordinator with key type TRANSACTION: the leader of the id's
    ``__transaction_state`` partition, creating the topic on first use as Kafka does."""
    coordinator = txn_coordinator(broker)
    if coordinator is None or not await coordinator.ensure_topic():
        return TE.COORDINATOR_NOT_AVAILABLE, None
    node = coordinator.coordinator_node(transactional_id, listener)
    if node is None:
        return TE.COORDINATOR_NOT_AVAILABLE, None
    return TE.NONE, node


def millis(value: Any) -> int:
    """kio decodes int32 millisecond fields as timedelta; the coordinators work in ms."""
    if isinstance(value, datetime.timedelta):
        return int(value / datetime.timedelta(milliseconds=1))
    return int(value)


def client_host(ctx: RequestContext) -> str:
    """Kafka reports hosts as ``InetAddress.toString()``, i.e. with a leading slash."""
    return f"/{ctx.client_host}"
