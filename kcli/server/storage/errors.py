"""The storage layer's typed errors, each carrying the Kafka error code an API answers with.

API handlers map any exception with an ``error_code`` attribute to that code (Produce, Fetch), so
raising one of these is all the storage layer needs to do for a client to get Kafka's answer.
"""

from __future__ import annotations

from kio.schema.errors import ErrorCode


class KafkaStorageError(OSError):
    """A log directory could not be written (disk full, I/O error): Kafka's KafkaStorageException.

    Producers treat KAFKA_STORAGE_ERROR as retriable and keep the record, where the
    UNKNOWN_SERVER_ERROR an unmapped OSError gave made them drop it at once. It subclasses OSError
    so the callers that already turned an OSError into an error answer keep doing so.
    """

    error_code = int(ErrorCode.kafka_storage_error.value)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CorruptBatchError(Exception):
    """A stored batch fails its CRC or framing: a fetch at it answers CORRUPT_MESSAGE.

    The Java consumer raises "Encountered corrupt message when fetching offset ..." for that code
    and librdkafka hands the application a consumer error, where serving the bytes would let a
    consumer that does not check CRCs (librdkafka's default) take the damaged payload as valid.
    """

    error_code = int(ErrorCode.corrupt_message.value)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StorageStartupError(Exception):
    """Log directories the broker cannot use as they are: it refuses to start with this one line.

    Raised for what Kafka also refuses (unreadable or inconsistent meta.properties, duplicate
    partition directories) and for what kcli refuses instead of guessing (a topic catalog that is
    missing or damaged while partition data is on disk): never a start that deletes or hides data.
    ``what`` is the problem alone, for tools that name the file themselves.
    """

    def __init__(self, message: str, what: str | None = None):
        super().__init__(message)
        self.what = what or message


class OffsetOutOfRangeError(Exception):
    """A read or DeleteRecords outside the log's offsets: OFFSET_OUT_OF_RANGE."""

    error_code = int(ErrorCode.offset_out_of_range)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
