"""KIP-890 part 1: a partition leader checks with the transaction coordinator before it writes the
first transactional batch of a transaction (Kafka's AddPartitionsToTxnManager).

Without the check, a producer that keeps sending after its transaction was aborted (a timeout, a
fenced zombie, a lost AddPartitionsToTxn) would start a transaction in the partition that the
coordinator knows nothing about and that no marker would ever end: a hanging transaction that
pins the last stable offset. The leader asks the coordinator with AddPartitionsToTxn v4+
``verify_only`` (in-process when it is the coordinator itself); only partitions the coordinator
has in the producer's ongoing transaction may be written.

The answers are translated as Kafka translates them for the producing client: a partition not in
the transaction is INVALID_TXN_STATE (TRANSACTION_ABORTABLE from Produce v11 on), a fenced epoch
INVALID_PRODUCER_EPOCH, and a coordinator that cannot answer right now NOT_ENOUGH_REPLICAS,
which every client retries without refreshing metadata.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kcli.server.transaction import errors as E
from kcli.server.transaction.state import TopicPartition

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker
    from kcli.server.transaction.coordinator import TransactionCoordinator

log = logging.getLogger("kafka.server.AddPartitionsToTxnManager")

ADD_PARTITIONS_TO_TXN = 24
VERIFY_VERSION = 4
_RETRY_LATER = frozenset(
    {
        E.CONCURRENT_TRANSACTIONS,
        E.COORDINATOR_LOAD_IN_PROGRESS,
        E.COORDINATOR_NOT_AVAILABLE,
        E.NOT_COORDINATOR,
    }
)


def for_producer(code: int, produce_version: int) -> int:
    """A verification answer as the producing client must see it."""
    if code == E.PRODUCER_FENCED:
        return E.INVALID_PRODUCER_EPOCH
    if code == E.TRANSACTION_ABORTABLE and produce_version <= 10:
        return E.INVALID_TXN_STATE
    if code in _RETRY_LATER:
        return E.NOT_ENOUGH_REPLICAS
    return code


class TransactionVerifier:
    """Asks the coordinator of a transactional id whether partitions are in its transaction."""

    def __init__(self, broker: Broker, coordinator: TransactionCoordinator):
        self.broker = broker
        self.coordinator = coordinator
        self._conns: dict[int, tuple[Any, asyncio.Lock]] = {}

    async def verify(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: set[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """Coordinator error codes per partition (NONE = in the ongoing transaction)."""
        node = self.coordinator.coordinator_node(transactional_id)
        if node is None:
            return dict.fromkeys(partitions, E.COORDINATOR_NOT_AVAILABLE)
        if node.node_id == self.broker.node_id:
            return self.coordinator.verify_partitions(
                transactional_id, producer_id, producer_epoch, partitions
            )
        try:
            return await self._remote(node, transactional_id, producer_id, producer_epoch, partitions)
        except (OSError, ConnectionError, TimeoutError, EOFError, asyncio.IncompleteReadError) as exc:
            log.info("Verifying %s with broker %d failed: %s", transactional_id, node.node_id, exc)
            await self._drop(node.node_id)
            return dict.fromkeys(partitions, E.COORDINATOR_NOT_AVAILABLE)

    async def _remote(
        self, node: Any, transactional_id: str, producer_id: int, epoch: int, partitions: set[TopicPartition]
    ) -> dict[TopicPartition, int]:
        from kcli.server.cluster.kafka_connection import KafkaConnection
        from kcli.server.security import inter_broker_client

        conn, lock = self._conns.get(node.node_id, (None, None))
        if conn is None or lock is None:
            conn = KafkaConnection(
                node.host,
                node.port,
                f"broker-{self.broker.node_id}-txn-verifier",
                inter_broker_client(self.broker),
            )
            lock = asyncio.Lock()
            self._conns[node.node_id] = (conn, lock)
        by_topic: dict[str, list[int]] = {}
        for topic, partition in sorted(partitions):
            by_topic.setdefault(topic, []).append(partition)
        body = {
            "transactions": [
                {
                    "transactional_id": transactional_id,
                    "producer_id": producer_id,
                    "producer_epoch": epoch,
                    "verify_only": True,
                    "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
                }
            ]
        }
        async with lock:
            response = await conn.request(ADD_PARTITIONS_TO_TXN, VERIFY_VERSION, body, timeout_s=10)
        if response.error_code:
            code = int(response.error_code)
            return dict.fromkeys(
                partitions, E.INVALID_TXN_STATE if code == E.CLUSTER_AUTHORIZATION_FAILED else code
            )
        out = dict.fromkeys(partitions, E.NONE)
        for result in response.results_by_transaction:
            for topic in result.topic_results:
                for p in topic.results_by_partition:
                    out[(topic.name, int(p.partition_index))] = int(p.partition_error_code)
        return out

    async def _drop(self, node_id: int) -> None:
        conn, _ = self._conns.pop(node_id, (None, None))
        if conn is not None:
            await conn.close()

    async def close(self) -> None:
        for node_id in list(self._conns):
            await self._drop(node_id)
