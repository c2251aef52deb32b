"""A connector's configuration: Kafka's ``ConnectorConfig`` keys, validation and ``ConfigInfos``.

Validation is what ``PUT /connector-plugins/{plugin}/config/validate`` shows and what creating a
connector checks first: the common keys (``name``, ``connector.class``, ``tasks.max``, converters,
error handling), the sink's ``topics``/``topics.regex`` rule, then the connector's own
``config_def``. A config with errors is refused with Kafka's 400 message listing them; the worker
keeps running. Transformations (``transforms``) and predicates are not run by kcli: a config that
names any is refused with a message saying so rather than run without them.
"""

from __future__ import annotations

import re
from typing import Any

from kcli.connect.api import NO_DEFAULT, ConfigDef, ConfigKey, at_least, validate_value
from kcli.connect.errors import BadRequest

COMMON_GROUP = "Common"
TRANSFORMS_GROUP = "Transforms"
PREDICATES_GROUP = "Predicates"
ERROR_GROUP = "Error Handling"


def _name_validator(name: str, value: Any) -> str | None:
    """``NonEmptyStringWithoutControlChars``."""
    if value is None:
        return None
    if value == "":
        return f"Invalid value  for configuration {name}: String may not be empty"
    bad = [str(ord(c)) for c in value if ord(c) < 32 or 127 <= ord(c) < 160]
    if bad:
        return (
            f"Invalid value {value} for configuration {name}: String may not contain control sequences but had "
            f"the following ASCII chars: {', '.join(bad)}"
        )
    return None


def _class_validator(kind: str):
    def check(name: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if kind == "converter":
            from kcli.connect.converters import converter_class

            found = converter_class(value) is not None
        elif kind == "header":
            from kcli.connect.converters import HEADER_CONVERTERS

            found = value in HEADER_CONVERTERS or value.rsplit(".", 1)[-1] in {
                h.rsplit(".", 1)[1] for h in HEADER_CONVERTERS
            }
        else:
            found = True
        if not found:
            return f"Invalid value {value} for configuration {name}: Class {value} could not be found."
        return None

    return check


def _unsupported(feature: str):
    def check(name: str, value: Any) -> str | None:
        if value:
            return (
                f"Invalid value {','.join(value)} for configuration {name}: kcli's Connect does not run {feature}; "
                f"remove '{name}' (it would not be applied)"
            )
        return None

    return check


def _one_of(*options: str):
    def check(name: str, value: Any) -> str | None:
        if value is not None and str(value).lower() not in options:
            return (
                f"Invalid value {value} for configuration {name}: String must be one of: {', '.join(options)}"
            )
        return None

    return check


def common_config_def(kind: str) -> ConfigDef:
    """Kafka's ``ConnectorConfig`` (plus ``SinkConnectorConfig``/``SourceConnectorConfig`` keys)."""
    cfg = (
        ConfigDef()
        .define(
            "name",
            "string",
            doc="Globally unique name to use for this connector.",
            validator=_name_validator,
            group=COMMON_GROUP,
            display_name="Connector name",
        )
        .define(
            "connector.class",
            "string",
            doc="Name or alias of the class for this connector. Must be a subclass of "
            "org.apache.kafka.connect.connector.Connector.",
            group=COMMON_GROUP,
            display_name="Connector class",
        )
        .define(
            "tasks.max",
            "int",
            1,
            doc="Maximum number of tasks to use for this connector.",
            validator=at_least(1),
            group=COMMON_GROUP,
            display_name="Tasks max",
        )
        .define(
            "tasks.max.enforce",
            "boolean",
            True,
            "LOW",
            "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector.",
            group=COMMON_GROUP,
            display_name="Enforce tasks max",
        )
        .define(
            "key.converter",
            "class",
            None,
            "LOW",
            "Converter class used to convert between Kafka Connect format "
            "and the serialized form that is written to Kafka.",
            _class_validator("converter"),
            COMMON_GROUP,
            "Key converter class",
        )
        .define(
            "value.converter",
            "class",
            None,
            "LOW",
            "Converter class used to convert between Kafka Connect "
            "format and the serialized form that is written to Kafka.",
            _class_validator("converter"),
            COMMON_GROUP,
            "Value converter class",
        )
        .define(
            "header.converter",
            "class",
            None,
            "LOW",
            "HeaderConverter class used to convert between Kafka "
            "Connect format and the serialized form that is written to Kafka.",
            _class_validator("header"),
            COMMON_GROUP,
            "Header converter class",
        )
        .define(
            "config.action.reload",
            "string",
            "restart",
            "LOW",
            "The action that Connect should take on the "
            "connector when changes in external configuration providers result in a change in the connector's "
            "configuration properties.",
            _one_of("none", "restart"),
            COMMON_GROUP,
            "Reload Action",
        )
        .define(
            "transforms",
            "list",
            "",
            "LOW",
            "Aliases for the transformations to be applied to records.",
            _unsupported("transformations (SMTs)"),
            TRANSFORMS_GROUP,
            "Transforms",
        )
        .define(
            "predicates",
            "list",
            "",
            "LOW",
            "Aliases for the predicates used by transformations.",
            _unsupported("predicates"),
            PREDICATES_GROUP,
            "Predicates",
        )
        .define(
            "errors.retry.timeout",
            "long",
            0,
            "MEDIUM",
            "The maximum duration in milliseconds that a failed operation will be reattempted.",
            group=ERROR_GROUP,
            display_name="Retry Timeout for Errors",
        )
        .define(
            "errors.retry.delay.max.ms",
            "long",
            60000,
            "MEDIUM",
            "The maximum duration in milliseconds between consecutive retry attempts.",
            group=ERROR_GROUP,
            display_name="Maximum Delay Between Retries for Errors",
        )
        .define(
            "errors.tolerance",
            "string",
            "none",
            "MEDIUM",
            "Behavior for tolerating errors during connector "
            "operation. 'none' is the default value and signals that any error will result in an immediate "
            "connector task failure; 'all' changes the behavior to skip over problematic records.",
            _one_of("none", "all"),
            ERROR_GROUP,
            "Error Tolerance",
        )
        .define(
            "errors.log.enable",
            "boolean",
            False,
            "MEDIUM",
            "If true, write each error and the details of the "
            "failed operation and problematic record to the Connect application log.",
            group=ERROR_GROUP,
            display_name="Log Errors",
        )
        .define(
            "errors.log.include.messages",
            "boolean",
            False,
            "MEDIUM",
            "Whether to include in the log the Connect record that resulted in a failure.",
            group=ERROR_GROUP,
            display_name="Log Error Details",
        )
    )
    if kind == "sink":
        cfg.define(
            "topics",
            "list",
            "",
            doc="List of topics to consume, separated by commas",
            group=COMMON_GROUP,
            display_name="Topics",
        )
        cfg.define(
            "topics.regex",
            "string",
            "",
            doc="Regular expression giving topics to consume. Under the hood, "
            "the regex is compiled to a java.util.regex.Pattern. Only one of topics or topics.regex should be "
            "specified.",
            group=COMMON_GROUP,
            display_name="Topics regex",
        )
        cfg.define(
            "errors.deadletterqueue.topic.name",
            "string",
            "",
            "MEDIUM",
            "The name of the topic to be used as "
            "the dead letter queue (DLQ) for messages that result in an error when processed by this sink "
            "connector, or its transformations or converters.",
            group=ERROR_GROUP,
            display_name="Dead Letter Queue Topic Name",
        )
    return cfg


def _sink_topic_errors(props: dict[str, str]) -> dict[str, str]:
    topics = [t.strip() for t in props.get("topics", "").split(",") if t.strip()]
    regex = props.get("topics.regex", "").strip()
    if topics and regex:
        message = "topics and topics.regex are mutually exclusive options, but both are set."
        return {"topics": message, "topics.regex": message}
    if not topics and not regex:
        message = "Must configure one of topics or topics.regex"
        return {"topics": message, "topics.regex": message}
    if regex:
        try:
            re.compile(regex)
        except re.error as exc:
            return {"topics.regex": f"Invalid value {regex} for configuration topics.regex: {exc}"}
    dlq = props.get("errors.deadletterqueue.topic.name", "").strip()
    if dlq:
        return {
            "errors.deadletterqueue.topic.name": "kcli's Connect has no dead letter queue: remove "
            "errors.deadletterqueue.topic.name (records would not be sent there)"
        }
    return {}


def _definition(key: ConfigKey, order: int) -> dict[str, Any]:
    """Kafka's ``ConfigKeyInfo``."""
    default = None if key.default is NO_DEFAULT or key.default is None else key.default
    if isinstance(default, bool):
        default = "true" if default else "false"
    elif isinstance(default, list):
        default = ",".join(default)
    elif default is not None:
        default = str(default)
    return {
        "name": key.name,
        "type": key.type,
        "required": key.required,
        "default_value": default,
        "importance": key.importance,
        "documentation": key.doc,
        "group": key.group,
        "width": "NONE",
        "display_name": key.display_name or key.name,
        "dependents": [],
        "order": key.order_in_group if key.group else -1,
    }


def validate(props: dict[str, str]) -> dict[str, Any]:
    """``ConfigInfos`` for a connector config; raises BadRequest without ``connector.class``.

    An unknown ``connector.class`` raises ConnectError (Kafka answers 500 with its message).
    """
    from kcli.connect import plugins

    connector_class_name = props.get("connector.class")
    if connector_class_name is None:
        raise BadRequest(f"Connector config {java_map(props)} contains no connector type")
    cls = plugins.connector_class(connector_class_name)
    connector = cls()
    kind = connector.type
    common = common_config_def(kind)
    own = connector.config_def()
    values: dict[str, list[str]] = {}
    for key in common.keys.values():
        values[key.name] = validate_value(key, props)
    if kind == "sink":
        for name, message in _sink_topic_errors(props).items():
            values.setdefault(name, []).append(message)
    for name, errors in connector.validate(dict(props)).items():
        values.setdefault(name, [])
        values[name].extend(e for e in errors if e not in values[name])
    for name, value in props.items():
        if value is None:
            values.setdefault(name, []).append("Null value can not be supplied as the configuration value.")
    definitions = common.merged(own)
    groups: list[str] = []
    configs = []
    for order, key in enumerate(definitions.keys.values(), start=1):
        if key.group and key.group not in groups:
            groups.append(key.group)
        raw = props.get(key.name)
        configs.append(
            {
                "definition": _definition(key, order),
                "value": {
                    "name": key.name,
                    "value": raw if raw is not None else _definition(key, order)["default_value"],
                    "recommended_values": [],
                    "errors": values.get(key.name, []),
                    "visible": True,
                },
            }
        )
    error_count = sum(len(c["value"]["errors"]) for c in configs)
    return {
        "name": plugins.class_name(connector_class_name),
        "error_count": error_count,
        "groups": groups,
        "configs": configs,
    }


def invalid_message(infos: dict[str, Any]) -> str | None:
    """Kafka's 400 message for a config with errors (None when there are none)."""
    count = infos["error_count"]
    if not count:
        return None
    lines = [f"Connector configuration is invalid and contains the following {count} error(s):"]
    for config in infos["configs"]:
        lines.extend(config["value"]["errors"])
    lines.append(
        "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
    )
    return "\n".join(lines)


def java_map(props: dict[str, Any]) -> str:
    """``HashMap.toString`` (insertion order here)."""
    return "{" + ", ".join(f"{k}={v}" for k, v in props.items()) + "}"


def tasks_max(props: dict[str, str]) -> int:
    try:
        return max(1, int(props.get("tasks.max", "1")))
    except ValueError:
        return 1


def sink_topics(props: dict[str, str]) -> tuple[list[str], str]:
    """(topics, regex) of a sink config."""
    return [t.strip() for t in props.get("topics", "").split(",") if t.strip()], props.get(
        "topics.regex", ""
    ).strip()
