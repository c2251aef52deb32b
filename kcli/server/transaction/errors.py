"""The protocol error codes the transaction coordinator and the log answer with, from kio's table
(Kafka's ``Errors``), as plain ints for the response dicts."""

from kio.schema.errors import ErrorCode

NONE = ErrorCode.none.value
UNKNOWN_SERVER_ERROR = ErrorCode.unknown_server_error.value
UNKNOWN_TOPIC_OR_PARTITION = ErrorCode.unknown_topic_or_partition.value
NOT_LEADER_OR_FOLLOWER = ErrorCode.not_leader_or_follower.value
REQUEST_TIMED_OUT = ErrorCode.request_timed_out.value
MESSAGE_TOO_LARGE = ErrorCode.message_too_large.value
COORDINATOR_LOAD_IN_PROGRESS = ErrorCode.coordinator_load_in_progress.value
COORDINATOR_NOT_AVAILABLE = ErrorCode.coordinator_not_available.value
NOT_COORDINATOR = ErrorCode.not_coordinator.value
NOT_ENOUGH_REPLICAS = ErrorCode.not_enough_replicas.value
NOT_ENOUGH_REPLICAS_AFTER_APPEND = ErrorCode.not_enough_replicas_after_append.value
INVALID_REQUEST = ErrorCode.invalid_request.value
INVALID_PRODUCER_EPOCH = ErrorCode.invalid_producer_epoch.value
INVALID_TXN_STATE = ErrorCode.invalid_txn_state.value
INVALID_PRODUCER_ID_MAPPING = ErrorCode.invalid_producer_id_mapping.value
INVALID_TRANSACTION_TIMEOUT = ErrorCode.invalid_transaction_timeout.value
CONCURRENT_TRANSACTIONS = ErrorCode.concurrent_transactions.value
TRANSACTION_COORDINATOR_FENCED = ErrorCode.transaction_coordinator_fenced.value
OPERATION_NOT_ATTEMPTED = ErrorCode.operation_not_attempted.value
UNKNOWN_PRODUCER_ID = ErrorCode.unknown_producer_id.value
UNSTABLE_OFFSET_COMMIT = ErrorCode.unstable_offset_commit.value
PRODUCER_FENCED = ErrorCode.producer_fenced.value
TRANSACTIONAL_ID_NOT_FOUND = ErrorCode.transactional_id_not_found.value
TRANSACTION_ABORTABLE = ErrorCode.transaction_abortable.value
KAFKA_STORAGE_ERROR = ErrorCode.kafka_storage_error.value
CORRUPT_MESSAGE = ErrorCode.corrupt_message.value
INVALID_RECORD = ErrorCode.invalid_record.value
INVALID_TOPIC_EXCEPTION = ErrorCode.invalid_topic_exception.value
ILLEGAL_GENERATION = ErrorCode.illegal_generation.value
UNKNOWN_MEMBER_ID = ErrorCode.unknown_member_id.value
STALE_MEMBER_EPOCH = ErrorCode.stale_member_epoch.value
FENCED_INSTANCE_ID = ErrorCode.fenced_instance_id.value
INVALID_GROUP_ID = ErrorCode.invalid_group_id.value
OFFSET_METADATA_TOO_LARGE = ErrorCode.offset_metadata_too_large.value
RECORD_LIST_TOO_LARGE = ErrorCode.record_list_too_large.value
CLUSTER_AUTHORIZATION_FAILED = ErrorCode.cluster_authorization_failed.value
UNSUPPORTED_VERSION = ErrorCode.unsupported_version.value


def name(code: int) -> str:
    """Kafka's constant name for ``code`` (``PRODUCER_FENCED``), for logs and messages."""
    try:
        return ErrorCode(code).name.upper()
    except ValueError:
        return f"error {code}"
