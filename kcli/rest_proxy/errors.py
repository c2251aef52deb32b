"""REST Proxy's errors: ``{"error_code": N, "message": "..."}`` with Confluent's codes.

The HTTP status is the code's first three digits (40401 -> 404), as in Confluent's REST Proxy; v3
mostly uses plain HTTP codes (404, 400). Messages are Confluent's own where clients match on them.
"""

from __future__ import annotations

TOPIC_NOT_FOUND = 40401
PARTITION_NOT_FOUND = 40402
CONSUMER_INSTANCE_NOT_FOUND = 40403
CONSUMER_FORMAT_MISMATCH = 40601
CONSUMER_ALREADY_SUBSCRIBED = 40901
CONSUMER_ALREADY_EXISTS = 40902
ILLEGAL_STATE = 40903
KEY_SCHEMA_MISSING = 42201
VALUE_SCHEMA_MISSING = 42202
JSON_CONVERSION = 42203
INVALID_CONSUMER_CONFIG = 42204
INVALID_SCHEMA = 42205
KAFKA_ERROR = 50002
KAFKA_RETRIABLE_ERROR = 50003


class RestError(Exception):
    def __init__(self, error_code: int, message: str):
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def status(self) -> int:
        code = self.error_code
        return code if code < 1000 else int(str(code)[:3])

    def body(self) -> dict[str, object]:
        return {"error_code": self.error_code, "message": self.message}


def topic_not_found() -> RestError:
    return RestError(TOPIC_NOT_FOUND, "Topic not found.")


def partition_not_found() -> RestError:
    return RestError(PARTITION_NOT_FOUND, "Partition not found.")


def instance_not_found() -> RestError:
    return RestError(CONSUMER_INSTANCE_NOT_FOUND, "Consumer instance not found.")


def not_found(what: str) -> RestError:
    return RestError(404, what)


def bad_request(message: str) -> RestError:
    return RestError(400, message)


def unprocessable(message: str, code: int = 422) -> RestError:
    return RestError(code, message)


def unsupported_media_type() -> RestError:
    return RestError(415, "HTTP 415 Unsupported Media Type")


def not_acceptable() -> RestError:
    return RestError(406, "HTTP 406 Not Acceptable")
