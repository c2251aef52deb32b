"""What the broker's own parts see of the broker: a typing protocol and the address type.

The replica manager and the replica fetchers are built by and for
:class:`kcli.server.state.broker.Broker`, and it calls into them; they in turn need a few of its
answers (which partitions it leads or follows, where another broker listens). Declaring those
here, below both, keeps the two modules from importing each other (issue 17).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kio.schema.errors import ErrorCode

    from kcli.server.base.partition import Partition


@dataclass
class BrokerNode:
    """A live broker's address on one listener, as Metadata and FindCoordinator report it."""

    node_id: int
    host: str
    port: int
    rack: str | None = None


class BrokerView(Protocol):
    """The broker as the replica manager and the replica fetchers use it."""

    node_id: int
    partitions: dict[tuple[str, int], Partition]
    security: Any  # listeners' security (the inter-broker client settings), or None

    def broker_node(self, node_id: int, listener: str | None = None) -> BrokerNode | None: ...

    def leader_partition(self, topic: str | None, index: int) -> tuple[Partition | None, ErrorCode]: ...
