"""A blocking raw-protocol client for the transaction tests: one request, one decoded response.

The real clients never send the malformed or fenced requests these tests need (an old epoch, an
unknown producer id, a transactional batch nobody added), so the tests speak the protocol
themselves, through the broker's own inter-broker connection class and kio's schemas.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from kcli.protocol.records import build_batch
from kcli.server.cluster.kafka_connection import KafkaConnection


class Wire:
    def __init__(self, bootstrap: str):
        host, _, port = bootstrap.rpartition(":")
        self.loop = asyncio.new_event_loop()
        self.conn = KafkaConnection(host, int(port), "txn-wire-test")

    def __call__(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        return self.loop.run_until_complete(self.conn.request(api_key, version, body, timeout_s=30))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()

    # --- the requests the tests send most -------------------------------------------------------
    def init(
        self, txn_id: str | None, timeout_ms: int = 60_000, version: int = 4, pid: int = -1, epoch: int = -1
    ) -> Any:
        body = {
            "transactional_id": txn_id,
            "transaction_timeout": timeout_ms,
            "producer_id": pid,
            "producer_epoch": epoch,
        }
        deadline = time.monotonic() + 30
        while True:
            r = self(22, version, body)
            if r.error_code != 51 or time.monotonic() > deadline:  # CONCURRENT_TRANSACTIONS: retry
                return r
            time.sleep(0.05)

    def add_partitions(
        self, txn_id: str, pid: int, epoch: int, topic: str, partitions: list[int], version: int = 3
    ) -> dict:
        body = {
            "v3_and_below_transactional_id": txn_id,
            "v3_and_below_producer_id": pid,
            "v3_and_below_producer_epoch": epoch,
            "v3_and_below_topics": [{"name": topic, "partitions": partitions}],
        }
        r = self(24, version, body)
        return {
            (t.name, p.partition_index): p.partition_error_code
            for t in r.results_by_topic_v3_and_below
            for p in t.results_by_partition
        }

    def end(self, txn_id: str, pid: int, epoch: int, commit: bool, version: int = 3) -> int:
        deadline = time.monotonic() + 30
        while True:
            r = self(
                26,
                version,
                {
                    "transactional_id": txn_id,
                    "producer_id": pid,
                    "producer_epoch": epoch,
                    "committed": commit,
                },
            )
            if r.error_code != 51 or time.monotonic() > deadline:
                return r.error_code
            time.sleep(0.05)

    def produce(
        self, topic: str, partition: int, records: bytes, txn_id: str | None, version: int = 9
    ) -> Any:
        body = {
            "transactional_id": txn_id,
            "acks": -1,
            "timeout": 10_000,
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
        }
        r = self(0, version, body)
        return r.responses[0].partition_responses[0]

    def list_offsets(self, topic: str, partition: int, isolation: int) -> int:
        body = {
            "replica_id": -1,
            "isolation_level": isolation,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": partition, "current_leader_epoch": -1, "timestamp": -1}
                    ],
                }
            ],
        }
        return self(2, 5, body).topics[0].partitions[0].offset

    def describe(self, txn_id: str) -> Any:
        """DescribeTransactions, read as kafka-transactions reads it (the start time may be -1)."""
        from kcli.tools.admin_wire import Connection
        from kcli.tools.transactions_admin import decode_describe_transactions

        with Connection(self.conn.host, self.conn.port) as conn:
            frame, pos = conn.raw(65, 0, {"transactional_ids": [txn_id]})
        return SimpleNamespace(**decode_describe_transactions(frame, pos)[0])


def txn_batch(pid: int, epoch: int, seq: int, n: int = 1, value: bytes = b"v") -> bytes:
    return build_batch(
        [(b"k", value + b"%d" % i) for i in range(n)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        is_transactional=True,
    )
