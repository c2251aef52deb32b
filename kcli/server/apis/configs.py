"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and brokers.

Topic overrides are persisted in the catalog and pushed to the partitions' logs at once, so a
changed ``retention.ms`` or ``segment.bytes`` takes effect without a restart, as in Kafka.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.base.replication_quota import (
    BROKER_RATE_CONFIGS,
    QuotaConfigError,
    validate_broker_config,
)
from kcli.server.base.topic_configs import TOPIC_CONFIGS, InvalidConfigError, validate_topic_config
from kcli.server.state.broker import Broker, TopicError

TOPIC, BROKER, BROKER_LOGGER, GROUP = 2, 4, 8, 32
SOURCE_GROUP = 8
# Group configs (KIP-848, Kafka 4.0) with their broker-side defaults.
GROUP_CONFIGS = {
    "consumer.session.timeout.ms": "45000",
    "consumer.heartbeat.interval.ms": "5000",
    "share.session.timeout.ms": "45000",
    "share.heartbeat.interval.ms": "5000",
    "share.record.lock.duration.ms": "30000",
    "share.auto.offset.reset": "latest",
    "streams.session.timeout.ms": "45000",
    "streams.heartbeat.interval.ms": "5000",
    "streams.num.standby.replicas": "0",
}
SOURCE_TOPIC, SOURCE_DYNAMIC_BROKER, SOURCE_STATIC_BROKER, SOURCE_DEFAULT = 1, 2, 4, 5
CONFIG_TYPES = {"bool": 1, "string": 2, "int": 3, "long": 5, "double": 6, "list": 7, "class": 8}
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def _entry(name: str, value: str | None, source: int, kind: str = "string", read_only: bool = False) -> dict:
    return {
        "name": name,
        "value": value,
        "read_only": read_only,
        "config_source": source,
        "is_sensitive": False,
        "synonyms": [],
        "config_type": CONFIG_TYPES.get(kind, 2),
        "documentation": None,
        "is_default": source == SOURCE_DEFAULT,
    }


def _topic_configs(broker: Broker, name: str, include_synonyms: bool) -> list[dict]:
    """Every topic config; with synonyms, the chain Kafka reports: topic override, broker setting, default."""
    record = broker.topic(name)
    assert record is not None
    sources = {"topic": SOURCE_TOPIC, "broker": SOURCE_STATIC_BROKER, "default": SOURCE_DEFAULT}
    entries = []
    for key, value, source in broker.topic_config_entries(record):
        entry = _entry(key, value, sources[source], TOPIC_CONFIGS[key].kind)
        if include_synonyms:
            definition = TOPIC_CONFIGS[key]
            synonyms = []
            if key in record.configs:
                synonyms.append({"name": key, "value": record.configs[key], "source": SOURCE_TOPIC})
            broker_key = definition.broker_key or key
            if broker_key in broker.config.raw:
                synonyms.append(
                    {
                        "name": broker_key,
                        "value": broker.config.raw[broker_key],
                        "source": SOURCE_STATIC_BROKER,
                    }
                )
            synonyms.append({"name": broker_key, "value": definition.default, "source": SOURCE_DEFAULT})
            entry["synonyms"] = synonyms
        entries.append(entry)
    return entries


def _group_configs(broker: Broker, group: str, include_synonyms: bool) -> list[dict]:
    overrides = broker.catalog.group_configs.get(group, {})
    entries = []
    for key, default in GROUP_CONFIGS.items():
        kind = "string" if key.endswith("reset") else "int"
        if key in overrides:
            entry = _entry(key, overrides[key], SOURCE_GROUP, kind)
            if include_synonyms:
                entry["synonyms"] = [
                    {"name": key, "value": overrides[key], "source": SOURCE_GROUP},
                    {"name": "group." + key, "value": default, "source": SOURCE_DEFAULT},
                ]
        else:
            entry = _entry(key, default, SOURCE_DEFAULT, kind)
        entries.append(entry)
    return entries


def _broker_configs(broker: Broker, include_synonyms: bool = False) -> list[dict]:
    """Static settings, then the dynamic ones (this broker's, from its catalog) over them; with
    synonyms, a dynamic config lists itself and the static setting it overrides, as Kafka does."""
    entries = {k: _entry(k, v, SOURCE_STATIC_BROKER) for k, v in sorted(broker.config.raw.items())}
    for key, value in broker.catalog.broker_configs.items():
        entry = _entry(key, value, SOURCE_DYNAMIC_BROKER, "long" if key in BROKER_RATE_CONFIGS else "string")
        if include_synonyms:
            entry["synonyms"] = [{"name": key, "value": value, "source": SOURCE_DYNAMIC_BROKER}]
            if key in broker.config.raw:
                entry["synonyms"].append(
                    {"name": key, "value": broker.config.raw[key], "source": SOURCE_STATIC_BROKER}
                )
        entries[key] = entry
    return list(entries.values())


def _is_this_broker(broker: Broker, name: str) -> bool:
    return name == "" or name == str(broker.node_id)


@api(32, "DescribeConfigs", 1, 4)
async def describe_configs(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    results = []
    for res in request.resources:
        entry: dict[str, Any] = {
            "error_code": ErrorCode.none,
            "error_message": None,
            "resource_type": res.resource_type,
            "resource_name": res.resource_name,
            "configs": [],
        }
        if res.resource_type == TOPIC:
            if broker.topic(res.resource_name) is None:
                entry["error_code"] = ErrorCode.unknown_topic_or_partition
                entry["error_message"] = f"Topic '{res.resource_name}' does not exist."
            else:
                entry["configs"] = _topic_configs(broker, res.resource_name, request.include_synonyms)
        elif res.resource_type in (BROKER, BROKER_LOGGER):
            if not _is_this_broker(broker, res.resource_name):
                entry["error_code"] = ErrorCode.invalid_request
                entry["error_message"] = f"Unexpected broker id, expected {broker.node_id}"
            elif res.resource_type == BROKER:
                entry["configs"] = _broker_configs(broker, getattr(request, "include_synonyms", False))
        elif res.resource_type == GROUP:
            entry["configs"] = _group_configs(
                broker, res.resource_name, getattr(request, "include_synonyms", False)
            )
        else:
            entry["error_code"] = ErrorCode.invalid_request
            entry["error_message"] = f"Unsupported resource type {res.resource_type}"
        keys = res.configuration_keys
        if keys:
            entry["configs"] = [c for c in entry["configs"] if c["name"] in keys]
        results.append(entry)
    return {"throttle_time": 0, "results": results}


async def _apply_topic(broker: Broker, name: str, new_configs: dict[str, str], validate_only: bool) -> None:
    for key, value in new_configs.items():
        validate_topic_config(key, value)
    if not validate_only:
        await broker.alter_topic_configs(name, new_configs)


async def _alter(broker: Broker, res: Any, new_values: dict[str, str] | None, validate_only: bool) -> dict:
    """Apply ``new_values`` (the resource's complete new override set) or report the error."""
    entry: dict[str, Any] = {
        "error_code": ErrorCode.none,
        "error_message": None,
        "resource_type": res.resource_type,
        "resource_name": res.resource_name,
    }
    try:
        if res.resource_type == TOPIC:
            if broker.topic(res.resource_name) is None:
                entry["error_code"] = ErrorCode.unknown_topic_or_partition
                entry["error_message"] = f"Topic '{res.resource_name}' does not exist."
            elif new_values is not None:
                await _apply_topic(broker, res.resource_name, new_values, validate_only)
        elif res.resource_type == BROKER:
            if not _is_this_broker(broker, res.resource_name):
                entry["error_code"] = ErrorCode.invalid_request
                entry["error_message"] = f"Unexpected broker id, expected {broker.node_id}"
            elif new_values is not None:
                _validate_broker(new_values)
                if not validate_only:
                    broker.catalog.broker_configs = new_values
                    broker.catalog.save()
        elif res.resource_type == GROUP:
            if new_values is not None:
                for key, value in new_values.items():
                    if key not in GROUP_CONFIGS:
                        raise InvalidConfigError(f"Unknown group config name: {key}")
                    if not key.endswith("reset"):
                        validate_int(key, value)
                if not validate_only:
                    broker.catalog.group_configs[res.resource_name] = new_values
                    broker.catalog.save()
        elif res.resource_type == BROKER_LOGGER:
            pass  # log levels are accepted and have no effect on this broker
        else:
            entry["error_code"] = ErrorCode.invalid_request
            entry["error_message"] = f"Unsupported resource type {res.resource_type}"
    except InvalidConfigError as exc:
        entry["error_code"], entry["error_message"] = ErrorCode.invalid_config, str(exc)
    except TopicError as exc:  # the controller refused or could not be reached
        entry["error_code"], entry["error_message"] = exc.error_code, exc.message
    return entry


def _validate_broker(values: dict[str, str]) -> None:
    """The replication throttle rates (KIP-73) are checked as Kafka's DynamicConfig.Broker does."""
    for key, value in values.items():
        try:
            validate_broker_config(key, value)
        except QuotaConfigError as exc:
            raise InvalidConfigError(str(exc)) from None


def _current(broker: Broker, res: Any) -> dict[str, str]:
    if res.resource_type == TOPIC:
        record = broker.topic(res.resource_name)
        return dict(record.configs) if record else {}
    if res.resource_type == BROKER:
        return dict(broker.catalog.broker_configs)
    if res.resource_type == GROUP:
        return dict(broker.catalog.group_configs.get(res.resource_name, {}))
    return {}


def validate_int(key: str, value: str) -> None:
    try:
        int(value)
    except ValueError:
        raise InvalidConfigError(
            f"Invalid value {value} for configuration {key}: Not a number of type INT"
        ) from None


@api(33, "AlterConfigs", 0, 2)
async def alter_configs(ctx: RequestContext, request: Any) -> dict:
    """AlterConfigs replaces the whole override set of each resource (that is its contract)."""
    responses = []
    for res in request.resources:
        values = {c.name: c.value for c in res.configs if c.value is not None}
        responses.append(await _alter(ctx.broker, res, values, request.validate_only))
    return {"throttle_time": 0, "responses": responses}


@api(44, "IncrementalAlterConfigs", 0, 1)
async def incremental_alter_configs(ctx: RequestContext, request: Any) -> dict:
    responses = []
    for res in request.resources:
        values = _current(ctx.broker, res)
        error = None
        for c in res.configs:
            if c.config_operation == SET:
                values[c.name] = c.value or ""
            elif c.config_operation == DELETE:
                values.pop(c.name, None)
            elif c.config_operation in (APPEND, SUBTRACT):
                items = [v for v in values.get(c.name, "").split(",") if v]
                change = [v for v in (c.value or "").split(",") if v]
                if c.config_operation == APPEND:
                    items += [v for v in change if v not in items]
                else:
                    items = [v for v in items if v not in change]
                values[c.name] = ",".join(items)
            else:
                error = f"Unknown config operation {c.config_operation}"
        if error:
            responses.append(
                {
                    "error_code": ErrorCode.invalid_request,
                    "error_message": error,
                    "resource_type": res.resource_type,
                    "resource_name": res.resource_name,
                }
            )
            continue
        responses.append(await _alter(ctx.broker, res, values, request.validate_only))
    return {"throttle_time": 0, "responses": responses}
