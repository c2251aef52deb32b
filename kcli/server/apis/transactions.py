"""Transactions: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn,
WriteTxnMarkers, DescribeTransactions, ListTransactions, DescribeProducers.

The handlers translate between the wire versions and :mod:`kcli.server.transaction` (the
coordinator) or the group coordinator (TxnOffsetCommit), with Kafka's per-version error rules:
clients before InitProducerId v4, AddPartitionsToTxn v2, AddOffsetsToTxn v2 and EndTxn v2 do not
know PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH instead. AddPartitionsToTxn v4+ is the
batched form brokers use to verify transactions (KIP-890); versions 0-3 come from producers.

Versions advertised are those of transaction version 1: EndTxn v5 and TxnOffsetCommit v5 (the
per-transaction epoch bump of KIP-890 part 2) and InitProducerId v6 (two-phase commit, KIP-939)
are left out, as a Kafka broker without those features leaves them to its clients' discretion;
so is ListTransactions v2 (a regular-expression filter, see :func:`list_transactions`).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from kcli.server.apis.coordinators import coordinator_for, millis, routed_to_consumer_group, txn_coordinator
from kcli.server.apis.registry import RequestContext, api
from kcli.server.coordinator.group_requests import CommitEntry
from kcli.server.transaction import errors as E
from kcli.server.transaction.config import TRANSACTION_STATE_TOPIC
from kcli.server.transaction.marker_writer import OFFSETS_TOPIC, write_markers
from kcli.server.transaction.markers import Marker
from kcli.server.transaction.verification import for_producer

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker
    from kcli.server.transaction.coordinator import TransactionCoordinator

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1


def _old_fenced(code: int, version: int, first_aware: int) -> int:
    """PRODUCER_FENCED is INVALID_PRODUCER_EPOCH for versions before ``first_aware``."""
    return E.INVALID_PRODUCER_EPOCH if code == E.PRODUCER_FENCED and version < first_aware else code


def _by_topic(partitions: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        out.setdefault(topic, []).append(partition)
    return out


def _partition_exists(broker: Broker, topic: str, partition: int) -> bool:
    record = broker.topic(topic)
    return record is not None and 0 <= partition < record.partitions


# --- InitProducerId -------------------------------------------------------------------------------


@api(22, "InitProducerId", 0, 5)
async def init_producer_id(ctx: RequestContext, request: Any) -> dict:
    """Idempotent producers get a fresh id; transactional ones go to their coordinator."""

    def answer(code: int, producer_id: int = NO_PRODUCER_ID, epoch: int = NO_PRODUCER_EPOCH) -> dict:
        return {
            "throttle_time": 0,
            "error_code": _old_fenced(code, ctx.version, 4),
            "producer_id": producer_id,
            "producer_epoch": epoch,
        }

    pid = getattr(request, "producer_id", NO_PRODUCER_ID)
    epoch = getattr(request, "producer_epoch", NO_PRODUCER_EPOCH)
    if (pid == NO_PRODUCER_ID) != (epoch == NO_PRODUCER_EPOCH):
        return answer(E.INVALID_REQUEST)
    expected = None if pid == NO_PRODUCER_ID else (int(pid), int(epoch))
    # Without a transactional id there is no state to check the id and epoch against: Kafka's
    # coordinator "blindly accepts" the request and hands out a new producer id with epoch 0, so
    # an id this cluster never issued is never bumped into use (issue 12).
    coordinator = txn_coordinator(ctx.broker)
    if coordinator is None:
        return answer(E.COORDINATOR_NOT_AVAILABLE)
    result = await coordinator.init_producer_id(
        request.transactional_id, millis(request.transaction_timeout), expected
    )
    return answer(result.error, result.producer_id, result.producer_epoch)


# --- AddPartitionsToTxn ---------------------------------------------------------------------------


async def _add_one(
    ctx: RequestContext,
    coordinator: TransactionCoordinator | None,
    transactional_id: str,
    producer_id: int,
    epoch: int,
    topics: Any,
    verify_only: bool,
) -> dict[tuple[str, int], int]:
    wanted = {(t.name, int(p)) for t in topics for p in t.partitions}
    if coordinator is None:
        return dict.fromkeys(wanted, E.COORDINATOR_NOT_AVAILABLE)
    missing = {tp for tp in wanted if not _partition_exists(ctx.broker, *tp)}
    if missing:
        # Kafka fails the whole transaction: the others were not attempted.
        return {
            tp: E.UNKNOWN_TOPIC_OR_PARTITION if tp in missing else E.OPERATION_NOT_ATTEMPTED for tp in wanted
        }
    if verify_only:
        return coordinator.verify_partitions(transactional_id, producer_id, epoch, wanted)
    code = await coordinator.add_partitions(transactional_id, producer_id, epoch, wanted)
    return dict.fromkeys(wanted, _old_fenced(code, ctx.version, 2))


def _topic_results(errors: dict[tuple[str, int], int]) -> list[dict[str, Any]]:
    by_topic: dict[str, list[dict[str, int]]] = {}
    for (topic, partition), code in sorted(errors.items()):
        by_topic.setdefault(topic, []).append({"partition_index": partition, "partition_error_code": code})
    return [{"name": t, "results_by_partition": ps} for t, ps in by_topic.items()]


@api(24, "AddPartitionsToTxn", 0, 5)
async def add_partitions_to_txn(ctx: RequestContext, request: Any) -> dict:
    coordinator = txn_coordinator(ctx.broker)
    if ctx.version < 4:
        errors = await _add_one(
            ctx,
            coordinator,
            request.v3_and_below_transactional_id,
            request.v3_and_below_producer_id,
            request.v3_and_below_producer_epoch,
            request.v3_and_below_topics,
            verify_only=False,
        )
        return {"throttle_time": 0, "results_by_topic_v3_and_below": _topic_results(errors)}
    results = []
    for txn in request.transactions:
        errors = await _add_one(
            ctx,
            coordinator,
            txn.transactional_id,
            txn.producer_id,
            txn.producer_epoch,
            txn.topics,
            txn.verify_only,
        )
        results.append({"transactional_id": txn.transactional_id, "topic_results": _topic_results(errors)})
    return {"throttle_time": 0, "error_code": E.NONE, "results_by_transaction": results}


# --- AddOffsetsToTxn ------------------------------------------------------------------------------


@api(25, "AddOffsetsToTxn", 0, 4)
async def add_offsets_to_txn(ctx: RequestContext, request: Any) -> dict:
    """The group's ``__consumer_offsets`` partition joins the transaction (KIP-98)."""
    coordinator = txn_coordinator(ctx.broker)
    groups = ctx.broker.coordinator
    if coordinator is None or groups is None or not await groups.ensure_offsets_topic():
        return {"throttle_time": 0, "error_code": E.COORDINATOR_NOT_AVAILABLE}
    partition = groups.partition_for(request.group_id)
    code = await coordinator.add_partitions(
        request.transactional_id, request.producer_id, request.producer_epoch, {(OFFSETS_TOPIC, partition)}
    )
    return {"throttle_time": 0, "error_code": _old_fenced(code, ctx.version, 2)}


# --- TxnOffsetCommit ------------------------------------------------------------------------------


@api(28, "TxnOffsetCommit", 0, 4)
async def txn_offset_commit(ctx: RequestContext, request: Any) -> dict:
    """Offsets committed in the transaction: written now, visible once it commits (KIP-447)."""
    results: dict[tuple[str, int], int] = {}
    entries: list[CommitEntry] = []
    for topic in request.topics:
        for p in topic.partitions:
            if _partition_exists(ctx.broker, topic.name, p.partition_index):
                entries.append(
                    CommitEntry(
                        topic.name,
                        p.partition_index,
                        p.committed_offset,
                        getattr(p, "committed_leader_epoch", -1),
                        p.committed_metadata,
                    )
                )
            else:
                results[(topic.name, p.partition_index)] = E.UNKNOWN_TOPIC_OR_PARTITION
    if entries:
        results.update(await _commit_txn_offsets(ctx, request, entries))
    topics: dict[str, list[dict[str, int]]] = {}
    for (topic, partition), code in results.items():
        if ctx.version < 2 and code == E.COORDINATOR_LOAD_IN_PROGRESS:
            code = E.COORDINATOR_NOT_AVAILABLE  # clients before 2.0 could not take it (KAFKA-7296)
        topics.setdefault(topic, []).append({"partition_index": partition, "error_code": code})
    return {"throttle_time": 0, "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()]}


async def _commit_txn_offsets(
    ctx: RequestContext, request: Any, entries: list[CommitEntry]
) -> dict[tuple[str, int], int]:
    keys = [(e.topic, e.partition) for e in entries]
    groups, unavailable = coordinator_for(ctx, request.group_id)
    if groups is None:
        return dict.fromkeys(keys, unavailable)
    # KIP-890: the offsets partition must be part of the producer's transaction (AddOffsetsToTxn).
    guard = None
    coordinator = txn_coordinator(ctx.broker)
    offsets_partition = groups.partition_for(request.group_id)
    if coordinator is not None and coordinator.config.partition_verification:
        target, code = ctx.broker.leader_partition(OFFSETS_TOPIC, offsets_partition)
        if target is None:
            return dict.fromkeys(keys, E.NOT_COORDINATOR)
        guard = target.log.start_transaction_verification(request.producer_id)
        if guard is not None:
            verdict = await ctx.broker.transaction_verifier.verify(
                request.transactional_id,
                request.producer_id,
                request.producer_epoch,
                {(OFFSETS_TOPIC, offsets_partition)},
            )
            code = verdict.get((OFFSETS_TOPIC, offsets_partition), E.NONE)
            if code:
                # TxnOffsetCommit v4 knows TRANSACTION_ABORTABLE; older versions get INVALID_TXN_STATE.
                return dict.fromkeys(keys, for_producer(code, 11 if ctx.version >= 4 else 10))
    generation = getattr(request, "generation_id", -1)
    member_id = getattr(request, "member_id", "")
    instance_id = getattr(request, "group_instance_id", None)
    consumer = routed_to_consumer_group(ctx, request.group_id)
    if consumer is not None:
        # A KIP-848 consumer group: its members (and their epochs) live in the consumer
        # coordinator, the classic coordinator only holds the group's offsets. Validated as
        # Kafka's OffsetMetadataManager.validateTransactionalOffsetCommit does, then committed
        # as the holder's, as OffsetCommit does for these groups.
        code = consumer.validate_commit(
            request.group_id, member_id, generation, ctx.version, transactional=True, instance_id=instance_id
        )
        if code:
            return dict.fromkeys(keys, E.ILLEGAL_GENERATION if code == E.STALE_MEMBER_EPOCH else int(code))
        generation, member_id, instance_id = -1, "", None
    return await groups.commit_transactional_offsets(
        request.group_id,
        request.producer_id,
        request.producer_epoch,
        generation,
        member_id,
        instance_id,
        entries,
        guard,
    )


# --- EndTxn ---------------------------------------------------------------------------------------


@api(26, "EndTxn", 0, 4)
async def end_txn(ctx: RequestContext, request: Any) -> dict:
    coordinator = txn_coordinator(ctx.broker)
    if coordinator is None:
        code = E.COORDINATOR_NOT_AVAILABLE
    else:
        code = await coordinator.end_transaction(
            request.transactional_id, request.producer_id, request.producer_epoch, bool(request.committed)
        )
    return {"throttle_time": 0, "error_code": _old_fenced(code, ctx.version, 2)}


# --- WriteTxnMarkers ------------------------------------------------------------------------------


@api(27, "WriteTxnMarkers", 1, 2)
async def write_txn_markers(ctx: RequestContext, request: Any) -> dict:
    """Another broker's transaction coordinator asks this partition leader to write markers."""
    markers = [
        Marker(
            int(m.producer_id),
            int(m.producer_epoch),
            int(m.coordinator_epoch),
            bool(m.transaction_result),
            frozenset((t.name, int(p)) for t in m.topics for p in t.partition_indexes),
        )
        for m in request.markers
    ]
    coordinator = txn_coordinator(ctx.broker)
    timeout_s = coordinator.config.request_timeout_ms / 1000 if coordinator is not None else 30.0
    results = await write_markers(ctx.broker, markers, timeout_s)
    return {
        "markers": [
            {
                "producer_id": pid,
                "topics": [
                    {
                        "name": topic,
                        "partitions": [
                            {"partition_index": p, "error_code": errors[(topic, p)]} for p in partitions
                        ],
                    }
                    for topic, partitions in _by_topic(errors).items()
                ],
            }
            for pid, errors in results.items()
        ]
    }


# --- DescribeTransactions / ListTransactions --------------------------------------------------------


def _start_time(ms: int) -> datetime.datetime:
    """TransactionStartTimeMs is a plain int64 that is -1 when there is none; kio's field is a
    datetime, so -1 goes as the instant one millisecond before the epoch (the same bytes)."""
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


@api(65, "DescribeTransactions", 0, 0)
async def describe_transactions(ctx: RequestContext, request: Any) -> dict:
    coordinator = txn_coordinator(ctx.broker)
    states = []
    for transactional_id in request.transactional_ids:
        if coordinator is None:
            states.append(
                {
                    "error_code": E.COORDINATOR_NOT_AVAILABLE,
                    "transactional_id": transactional_id,
                    "transaction_state": "",
                    "transaction_timeout": 0,
                    "transaction_start_time": -1,
                    "producer_id": NO_PRODUCER_ID,
                    "producer_epoch": NO_PRODUCER_EPOCH,
                    "topics": [],
                }
            )
        else:
            states.append(coordinator.describe(transactional_id))
    for state in states:
        state["transaction_start_time"] = _start_time(state["transaction_start_time"])
    return {"throttle_time": 0, "transaction_states": states}


@api(66, "ListTransactions", 0, 1)
async def list_transactions(ctx: RequestContext, request: Any) -> dict:
    """Version 2's TransactionalIdPattern (a Java regular expression) is not served: matched with
    a backtracking engine on the event loop, a hostile pattern could stall the broker."""
    coordinator = txn_coordinator(ctx.broker)
    if coordinator is None:
        return {
            "throttle_time": 0,
            "error_code": E.COORDINATOR_NOT_AVAILABLE,
            "unknown_state_filters": [],
            "transaction_states": [],
        }
    code, found, unknown = coordinator.list_transactions(
        {int(p) for p in request.producer_id_filters},
        set(request.state_filters),
        int(getattr(request, "duration_filter", -1)),
    )
    return {
        "throttle_time": 0,
        "error_code": code,
        "unknown_state_filters": unknown,
        "transaction_states": found,
    }


# --- DescribeProducers ----------------------------------------------------------------------------


@api(61, "DescribeProducers", 0, 0)
async def describe_producers(ctx: RequestContext, request: Any) -> dict:
    """The active producers of partitions this broker has a replica of, leader or follower (what
    ``kafka-transactions describe-producers [--broker-id]`` and ``find-hanging`` read)."""
    topics = []
    for topic in request.topics:
        parts = []
        for index in topic.partition_indexes:
            partition = ctx.broker.partition(topic.name, index)
            code = E.NONE
            if partition is None:
                _, code = ctx.broker.leader_partition(topic.name, index)
            entry: dict[str, Any] = {"partition_index": index, "error_code": code, "error_message": None}
            if partition is None:
                entry["active_producers"] = []
            else:
                entry["active_producers"] = [
                    {
                        "producer_id": e.producer_id,
                        "producer_epoch": e.epoch,
                        "last_sequence": e.last_seq,
                        "last_timestamp": e.last_timestamp,
                        "coordinator_epoch": e.coordinator_epoch,
                        "current_txn_start_offset": e.current_txn_first_offset,
                    }
                    for e in list(partition.log.producer_state.producers.values())
                ]
            parts.append(entry)
        topics.append({"name": topic.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}


__all__ = ["TRANSACTION_STATE_TOPIC"]


# --- Produce: KIP-890 verification of a transaction's first write to a partition ------------------

Key = tuple[str, int]


async def verify_produce(
    ctx: RequestContext, request: Any
) -> tuple[dict[Key, Any], dict[Key, tuple[int, str]]]:
    """Before a transactional produce: (verification guards, errors) by partition.

    A partition where the producer's transaction is already open needs nothing; for the others
    the coordinator is asked once for all of them (Kafka's ReplicaManager.handleProduceAppend)."""
    from kcli.protocol.records import BATCH_HEADER_SIZE, parse_header

    broker = ctx.broker
    guards: dict[Key, Any] = {}
    errors: dict[Key, tuple[int, str]] = {}
    producer: tuple[int, int] | None = None
    for topic in request.topic_data:
        for pd in topic.partition_data:
            records = pd.records
            if not records or len(records) < BATCH_HEADER_SIZE:
                continue
            header = parse_header(records, 0)
            if not header.is_transactional or header.producer_id < 0:
                continue
            partition, _ = broker.leader_partition(topic.name, pd.index)
            if partition is None:
                continue  # the append path answers the leadership error
            guard = partition.log.start_transaction_verification(header.producer_id)
            if guard is not None:
                guards[(topic.name, pd.index)] = guard
                producer = producer or (header.producer_id, header.producer_epoch)
    if not guards or producer is None:
        return guards, errors
    verdict = await broker.transaction_verifier.verify(
        request.transactional_id, producer[0], producer[1], set(guards)
    )
    for key, code in verdict.items():
        if code == E.NONE:
            continue
        final = for_producer(code, ctx.version)
        if final == E.INVALID_TXN_STATE:
            message = "Partition was not added to the transaction"
        elif final == E.NOT_ENOUGH_REPLICAS:
            message = f"Unable to verify the partition has been added to the transaction. Underlying error: {E.name(code)}"
        else:
            message = E.name(final)
        errors[key] = (final, message)
    return guards, errors
