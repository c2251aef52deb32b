"""The protocol errors the group coordinator answers with, taken from kio's copy of Kafka's
``Errors`` table, and how an append's error becomes the coordinator's answer."""

from kio.schema.errors import ErrorCode

NONE = ErrorCode.none
UNKNOWN_SERVER_ERROR = ErrorCode.unknown_server_error
UNKNOWN_TOPIC_OR_PARTITION = ErrorCode.unknown_topic_or_partition
OFFSET_METADATA_TOO_LARGE = ErrorCode.offset_metadata_too_large
COORDINATOR_LOAD_IN_PROGRESS = ErrorCode.coordinator_load_in_progress
COORDINATOR_NOT_AVAILABLE = ErrorCode.coordinator_not_available
NOT_COORDINATOR = ErrorCode.not_coordinator
ILLEGAL_GENERATION = ErrorCode.illegal_generation
INCONSISTENT_GROUP_PROTOCOL = ErrorCode.inconsistent_group_protocol
INVALID_GROUP_ID = ErrorCode.invalid_group_id
UNKNOWN_MEMBER_ID = ErrorCode.unknown_member_id
INVALID_SESSION_TIMEOUT = ErrorCode.invalid_session_timeout
REBALANCE_IN_PROGRESS = ErrorCode.rebalance_in_progress
INVALID_COMMIT_OFFSET_SIZE = ErrorCode.invalid_commit_offset_size
INVALID_REQUEST = ErrorCode.invalid_request
NON_EMPTY_GROUP = ErrorCode.non_empty_group
GROUP_ID_NOT_FOUND = ErrorCode.group_id_not_found
MEMBER_ID_REQUIRED = ErrorCode.member_id_required
FENCED_INSTANCE_ID = ErrorCode.fenced_instance_id
GROUP_SUBSCRIBED_TO_TOPIC = ErrorCode.group_subscribed_to_topic
UNSTABLE_OFFSET_COMMIT = ErrorCode.unstable_offset_commit  # KIP-447
UNKNOWN_TOPIC_ID = ErrorCode.unknown_topic_id


def from_append_error(code: ErrorCode, offset_commit: bool = False) -> ErrorCode:
    """What the coordinator answers when its ``__consumer_offsets`` append failed, as Kafka's
    coordinator maps it (GroupMetadataManager.appendGroupMetadataErrorToResponseError and
    CoordinatorOperationExceptionHelper): the replicas being unavailable means the coordinator
    is not available (the client retries), leadership having moved means it is not the
    coordinator any more (the client looks it up again)."""
    if code in (
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.not_enough_replicas,
        ErrorCode.not_enough_replicas_after_append,
        ErrorCode.request_timed_out,
    ):
        return COORDINATOR_NOT_AVAILABLE
    if code in (ErrorCode.not_leader_or_follower, ErrorCode.kafka_storage_error):
        return NOT_COORDINATOR
    if code in (ErrorCode.message_too_large, ErrorCode.record_list_too_large, ErrorCode.invalid_fetch_size):
        return INVALID_COMMIT_OFFSET_SIZE if offset_commit else UNKNOWN_SERVER_ERROR
    return code


class GroupError(Exception):
    """A request refused with Kafka's error code and message."""

    def __init__(self, code: ErrorCode, message: str | None = None):
        super().__init__(message or code.name)
        self.code = code
        self.message = message
