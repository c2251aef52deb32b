"""Connect's exceptions and the HTTP status each maps to (Kafka's ``ConnectExceptionMapper``).

A REST error body is always ``{"error_code": <status>, "message": "..."}``: 404 for
``NotFoundException``, 409 for ``AlreadyExistsException`` and rebalances, 400 for bad requests,
and 500 for any other ``ConnectException`` (Kafka answers 500 for an unknown connector class too).
"""

from __future__ import annotations


class ConnectError(Exception):
    """``org.apache.kafka.connect.errors.ConnectException``: a failure answered with 500."""

    status = 500
    java_class = "org.apache.kafka.connect.errors.ConnectException"

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataError(ConnectError):
    """``DataException``: bytes a converter cannot turn into Connect data, or the reverse."""

    java_class = "org.apache.kafka.connect.errors.DataException"


class BadRequest(ConnectError):
    status = 400
    java_class = "org.apache.kafka.connect.runtime.rest.errors.BadRequestException"


class NotFound(ConnectError):
    status = 404
    java_class = "org.apache.kafka.connect.errors.NotFoundException"


class AlreadyExists(ConnectError):
    status = 409
    java_class = "org.apache.kafka.connect.errors.AlreadyExistsException"


class RebalanceNeeded(ConnectError):
    """A distributed worker is between group generations: clients retry (Kafka answers 409)."""

    status = 409
    java_class = "org.apache.kafka.connect.runtime.distributed.RebalanceNeededException"


class ConfigError(ConnectError):
    """``org.apache.kafka.common.config.ConfigException``: a worker property file kcli cannot run."""

    java_class = "org.apache.kafka.common.config.ConfigException"


def error_body(status: int, message: str) -> dict[str, object]:
    """Kafka's ``ErrorMessage`` entity."""
    return {"error_code": status, "message": message}
