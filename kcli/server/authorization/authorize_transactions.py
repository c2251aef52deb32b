"""The authorization of the transaction APIs (KIP-98), as KafkaApis checks them."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext
from kcli.server.authorization.authorization_base import (
    CLUSTER_DENIED,
    GROUP_DENIED,
    TOPIC_DENIED,
    TXN_DENIED,
    AuthorizationRules,
    Handler,
    Op,
    Res,
    as_dict,
    partition_errors,
)


class TransactionRules(AuthorizationRules):
    """AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, WriteTxnMarkers, TxnOffsetCommit and the
    transaction and producer descriptions."""

    # --- transactions (KIP-98), as KafkaApis checks them ---------------------------------------
    async def _add_partitions_to_txn(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if ctx.version >= 4:  # brokers verifying a transaction (KIP-890): CLUSTER_ACTION
            if self._cluster(ctx, Op.CLUSTER_ACTION):
                return await handler(ctx, request)
            return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "results_by_transaction": []}
        txn, topics = request.v3_and_below_transactional_id, request.v3_and_below_topics

        def result(codes: dict[str, int], default: int | None = None) -> dict[str, Any]:
            return {"throttle_time": 0, "results_by_topic_v3_and_below": [
                {"name": t.name, "results_by_partition": [
                    {"partition_index": p, "partition_error_code": codes.get(t.name, default)} for p in t.partitions]}
                for t in topics]}  # fmt: skip

        if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, txn):
            return result({}, TXN_DENIED)
        # internal topics are never authorised here (Kafka leaves them out of the WRITE check)
        names = [t.name for t in topics if not t.name.startswith("__")]
        allowed = self._allowed(ctx, Op.WRITE, Res.TOPIC, names)
        denied = {t.name for t in topics if t.name not in allowed}
        if not denied:
            return await handler(ctx, request)
        codes = {
            t.name: TOPIC_DENIED
            if t.name in denied
            else (
                ErrorCode.unknown_topic_or_partition.value
                if ctx.broker.topic(t.name) is None
                else ErrorCode.operation_not_attempted.value
            )
            for t in topics
        }
        return result(codes)

    async def _add_offsets_to_txn(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, request.transactional_id):
            return {"throttle_time": 0, "error_code": TXN_DENIED}
        if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            return {"throttle_time": 0, "error_code": GROUP_DENIED}
        return await handler(ctx, request)

    async def _end_txn(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, request.transactional_id):
            return await handler(ctx, request)
        return {"throttle_time": 0, "error_code": TXN_DENIED}

    async def _write_txn_markers(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if self._cluster(ctx, Op.ALTER, log_denied=False) or self._cluster(ctx, Op.CLUSTER_ACTION):
            return await handler(ctx, request)
        return {"markers": [
            {"producer_id": m.producer_id, "topics": [
                {"name": t.name, "partitions": [{"partition_index": p, "error_code": CLUSTER_DENIED} for p in t.partition_indexes]}
                for t in m.topics]}
            for m in request.markers]}  # fmt: skip

    async def _txn_offset_commit(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        whole = None
        if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, request.transactional_id):
            whole = TXN_DENIED
        elif not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            whole = GROUP_DENIED
        allowed = set() if whole else self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics])
        code = whole or TOPIC_DENIED
        return await self._answer_allowed_topics(
            ctx, request, handler, allowed, lambda t: partition_errors(t, code)
        )

    async def _describe_producers(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics])
        return await self._answer_allowed_topics(ctx, request, handler, allowed, lambda t: {
            "name": t.name, "partitions": [
                {"partition_index": p, "error_code": TOPIC_DENIED, "error_message": None, "active_producers": []}
                for p in t.partition_indexes]})  # fmt: skip

    async def _describe_transactions(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        ids = list(request.transactional_ids)
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, ids)
        kept = dataclasses.replace(request, transactional_ids=tuple(i for i in ids if i in allowed))
        data = (
            as_dict(await handler(ctx, kept))
            if kept.transactional_ids
            else {"throttle_time": 0, "transaction_states": []}
        )
        for state in data["transaction_states"]:  # only the partitions of topics it may describe
            if isinstance(state, dict):
                state["topics"] = [
                    t for t in state.get("topics") or []
                    if ctx.authorize(Op.DESCRIBE, Res.TOPIC, t["topic"] if isinstance(t, dict) else t.topic)
                ]  # fmt: skip
        data["transaction_states"] = list(data["transaction_states"]) + [
            {"error_code": TXN_DENIED, "transactional_id": i, "transaction_state": "", "transaction_timeout": 0,
             "transaction_start_time": datetime.datetime.fromtimestamp(-0.001, tz=datetime.UTC),
             "producer_id": -1, "producer_epoch": -1, "topics": []}
            for i in ids if i not in allowed
        ]  # fmt: skip
        return data

    async def _list_transactions(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        data = as_dict(await handler(ctx, request))
        data["transaction_states"] = [
            s for s in data["transaction_states"]
            if ctx.authorize(Op.DESCRIBE, Res.TRANSACTIONAL_ID, s["transactional_id"] if isinstance(s, dict) else s.transactional_id, log_denied=False)
        ]  # fmt: skip
        return data
