"""kafka-configs: describe and alter dynamic configs of topics, brokers and groups.

Kafka's ConfigCommand with ``--bootstrap-server``: ``--describe [--all]`` prints
``Dynamic configs for topic T are:`` then ``  k=v sensitive=false synonyms={SOURCE:k=v, ...}``
sorted by name; ``--alter --add-config k=v,k2=[a,b] --delete-config k`` prints
``Completed updating config for topic T.``. Entities: ``--entity-type/--entity-name`` or the
``--topic``/``--broker``/``--group``/``--broker-defaults`` shortcuts.

``broker-loggers`` (Kafka's BROKER_LOGGER config resource, a broker's log4j levels) has no API in
librdkafka, so kcli sends those DescribeConfigs/IncrementalAlterConfigs requests itself, encoded by
kio, to the broker named (PLAINTEXT listeners only; a secured one gets one line saying so). As in
ConfigCommand, an alter naming a logger the broker does not list is refused with
``Invalid broker logger(s): ...``. An ``--add-config-file`` with nothing in it is an alter of
nothing, which Kafka completes (``Completed updating config for topic T.``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kcli.protocol.errors import error_code
from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-configs"
SUPPORTED_TYPES = ("topics", "brokers", "broker-loggers", "groups", "users")
ALL_TYPES = ("topics", "clients", "users", "brokers", "broker-loggers", "ips", "client-metrics", "groups")
#: ConfigEntry source codes -> Kafka's ConfigSource names.
SOURCE_NAMES = {
    0: "UNKNOWN",
    1: "DYNAMIC_TOPIC_CONFIG",
    2: "DYNAMIC_BROKER_CONFIG",
    3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
    4: "STATIC_BROKER_CONFIG",
    5: "DEFAULT_CONFIG",
    6: "DYNAMIC_BROKER_LOGGER_CONFIG",
    7: "DYNAMIC_CLIENT_METRICS_CONFIG",
    8: "DYNAMIC_GROUP_CONFIG",
}


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(
        PROG,
        "This tool helps to manipulate and describe entity config for a topic, client, user, broker, ip, "
        "client-metrics or group",
    )
    p.add_argument(
        "--bootstrap-server", metavar="server to connect to", help="The Kafka servers to connect to."
    )
    p.add_argument(
        "--bootstrap-controller",
        metavar="controller to connect to",
        help="The Kafka controllers to connect to.",
    )
    p.add_argument(
        "--zookeeper", metavar="urls", help="DEPRECATED: resolved to the brokers registered there."
    )
    p.add_argument(
        "--command-config", metavar="command config property file", help="Admin client properties file."
    )
    p.add_argument("--alter", action="store_true", help="Alter the configuration for the entity.")
    p.add_argument("--describe", action="store_true", help="List configs for the given entity.")
    p.add_argument(
        "--all", action="store_true", help="List all configs for the given entity, including static ones."
    )
    p.add_argument(
        "--entity-type",
        action="append",
        metavar="String",
        help="Type of entity (" + "/".join(ALL_TYPES) + ")",
    )
    p.add_argument("--entity-name", action="append", metavar="String", help="Name of entity.")
    p.add_argument("--entity-default", action="store_true", help="Default entity name for brokers.")
    p.add_argument("--add-config", metavar="String", help="Configs to add: 'k1=v1,k2=[v1,v2,v2],k3=v3'.")
    p.add_argument("--add-config-file", metavar="String", help="Properties file with configs to add.")
    p.add_argument(
        "--delete-config", action="append", metavar="String", help="Config keys to remove: 'k1,k2'."
    )
    p.add_argument("--force", action="store_true", help="Suppress console prompts.")
    p.add_argument("--topic", metavar="String", help="The topic's name.")
    p.add_argument("--broker", metavar="String", help="The broker's ID.")
    p.add_argument("--broker-defaults", action="store_true", help="The config defaults for all brokers.")
    p.add_argument("--broker-logger", metavar="String", help="The broker's ID for its logger config.")
    p.add_argument("--group", metavar="String", help="The group's ID.")
    p.add_argument("--client", metavar="String", help="The client's ID (not supported by kcli).")
    p.add_argument("--user", metavar="String", help="The user's principal name (not supported by kcli).")
    return p


def _split_outside_brackets(text: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is not inside ``[...]`` (list values such as ``[a,b]``)."""
    pieces: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch == sep and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += ch
    pieces.append(current)
    return pieces


def split_add_config(text: str) -> dict[str, str]:
    """``k1=v1,k2=[a,b]`` -> {k1: v1, k2: "a,b"}: commas inside brackets do not split."""
    result: dict[str, str] = {}
    for pair in _split_outside_brackets(text, ","):
        pieces = _split_outside_brackets(pair, "=")
        if len(pieces) != 2:
            raise ToolError('Invalid entity config: all configs to be added must be in the format "key=val".')
        key = pieces[0].strip()
        if not all(c.isalnum() or c in "._-" for c in key):
            raise ToolError(f"Invalid character found for config key: {key}")
        result[key] = pieces[1].replace("[", "").replace("]", "").strip()
    return result


def entities(args: argparse.Namespace) -> tuple[str, str | None]:
    """(entity type, entity name or None for all / "" for the default) with Kafka's checks."""
    shortcuts = [
        (args.topic, "topics"),
        (args.broker, "brokers"),
        (args.broker_logger, "broker-loggers"),
        (args.group, "groups"),
        (args.client, "clients"),
        (args.user, "users"),
    ]
    types = list(args.entity_type or [])
    names: list[str] = list(args.entity_name or [])
    if args.entity_default:
        names.append("")
    for value, kind in shortcuts:
        if value is not None:
            types.append(kind)
            names.append(value)
    if args.broker_defaults:
        types.append("brokers")
        names.append("")
    if (args.entity_name or args.entity_type or args.entity_default) and (
        any(v is not None for v, _ in shortcuts) or args.broker_defaults
    ):
        raise ToolError(
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags"
        )
    if not types:
        raise ToolError("At least one entity type must be specified")
    if len(types) != len(set(types)):
        raise ToolError(
            "Duplicate entity type(s) specified: "
            + ",".join(sorted({t for t in types if types.count(t) > 1}))
        )
    if len(types) > 1:
        raise ToolError("Only 'users' and 'clients' entity types may be specified together")
    kind = types[0]
    if kind not in ALL_TYPES:
        raise ToolError(
            f"Invalid entity type {kind}, the entity type must be one of {', '.join(ALL_TYPES)} with a "
            "--bootstrap-server or --bootstrap-controller argument"
        )
    if kind not in SUPPORTED_TYPES:
        raise ToolError(
            f"Entity type {kind} (quotas, SCRAM credentials, client metrics) is not supported by kcli"
        )
    name = names[0] if names else None
    if name and kind in ("brokers", "broker-loggers"):
        try:
            int(name)
        except ValueError:
            raise ToolError(
                f"The entity name for {kind} must be a valid integer broker id, but it is: {name}"
            ) from None
    if args.alter and kind == "brokers" and name == "":
        raise ToolError(
            "Altering the cluster-wide broker defaults (--entity-default) is not supported by kcli"
        )
    if args.alter:
        if name is None or (name == "" and kind not in ("brokers",)):
            raise ToolError(f"An entity name must be specified with --alter of {kind}")
        if args.add_config and args.add_config_file:
            raise ToolError("Only one of --add-config or --add-config-file must be specified")
        if not (args.add_config or args.add_config_file or args.delete_config):
            raise ToolError(
                "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter"
            )
    return kind, name


def _resource(kind: str, name: str) -> Any:
    from confluent_kafka.admin import ConfigResource, ResourceType

    restype = {
        "topics": ResourceType.TOPIC,
        "brokers": ResourceType.BROKER,
        "groups": ResourceType.GROUP,
    }.get(kind)
    if restype is None:
        return ConfigResource(8, name)  # BROKER_LOGGER
    return ConfigResource(restype, name)


def _source(entry: Any) -> int:
    return int(getattr(entry.source, "value", entry.source))


DYNAMIC_SOURCE = {"topics": 1, "brokers": 2, "groups": 8}


BROKER_LOGGER = 8  # ConfigResource.Type.BROKER_LOGGER
DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 44


class LoggerEntry:
    """A broker logger's level, shaped like confluent-kafka's ConfigEntry for :func:`entry_line`."""

    def __init__(self, raw: Any):
        self.name = raw.name
        self.value = raw.value
        self.is_sensitive = bool(raw.is_sensitive)
        self.source = int(raw.config_source)
        self.synonyms = {s.name: _LoggerSynonym(s) for s in raw.synonyms}


class _LoggerSynonym:
    def __init__(self, raw: Any):
        self.name, self.value, self.source = raw.name, raw.value, int(raw.source)


class BrokerLoggers:
    """DescribeConfigs / IncrementalAlterConfigs of BROKER_LOGGER resources, sent by kcli itself."""

    def __init__(self, admin: Any, conf: dict[str, Any]):
        from kcli.tools.admin import list_topic_metadata

        if str(conf.get("security.protocol", "PLAINTEXT")).upper() != "PLAINTEXT":
            raise ToolError(
                "--entity-type broker-loggers needs a PLAINTEXT listener: librdkafka, kcli's client, has no "
                "BROKER_LOGGER config resource and kcli sends those requests itself, without TLS or SASL"
            )
        metadata = list_topic_metadata(admin)
        self.brokers = {b.id: (b.host, b.port) for b in metadata.brokers.values()}
        self.any = next(iter(self.brokers.values()), None)

    def _address(self, name: str) -> tuple[str, int]:
        address = self.brokers.get(int(name)) if name else self.any
        if address is None:
            raise ToolError(f"Broker {name} is not part of the cluster")
        return address

    def _request(self, name: str, api_key: int, version: int, body: dict[str, Any]) -> Any:
        """One request to broker ``name`` over PLAINTEXT (librdkafka has no BROKER_LOGGER resource)."""
        from kcli.protocol.connection import BrokerConnection, WireError

        host, port = self._address(name)
        try:
            with BrokerConnection(host, port, 30.0) as conn:
                return conn.request(api_key, version, body)
        except WireError as exc:
            raise ToolError(str(exc)) from None

    def describe(self, name: str) -> list[LoggerEntry]:
        body = {
            "resources": [
                {"resource_type": BROKER_LOGGER, "resource_name": name, "configuration_keys": None}
            ],
            "include_synonyms": True,
        }
        response = self._request(name, DESCRIBE_CONFIGS, 1, body)
        result = response.results[0]
        if error_code(result.error_code):
            raise ToolError(result.error_message or f"Error code {error_code(result.error_code)}")
        return sorted((LoggerEntry(c) for c in result.configs), key=lambda e: e.name)

    def alter(self, name: str, to_add: dict[str, str], to_delete: list[str]) -> None:
        valid = {e.name for e in self.describe(name)}
        invalid = [k for k in to_delete if k not in valid] + [k for k in to_add if k not in valid]
        if invalid:
            raise ToolError(f"Invalid broker logger(s): {','.join(invalid)}")
        ops = [{"name": k, "config_operation": 0, "value": v} for k, v in to_add.items()]
        ops += [{"name": k, "config_operation": 1, "value": ""} for k in to_delete]
        body = {
            "resources": [{"resource_type": BROKER_LOGGER, "resource_name": name, "configs": ops}],
            "validate_only": False,
        }
        response = self._request(name, INCREMENTAL_ALTER_CONFIGS, 0, body)
        result = response.responses[0]
        if error_code(result.error_code):
            raise ToolError(result.error_message or f"Error code {error_code(result.error_code)}")


def describe_entity(admin: Any, kind: str, name: str, describe_all: bool) -> list[Any]:
    """Config entries of one entity, filtered as ConfigCommand does and sorted by name."""
    from kcli.tools.admin import future_result

    resource = _resource(kind, name)
    futures = admin.describe_configs([resource], request_timeout=30)
    config = future_result(next(iter(futures.values())))
    wanted: int | None
    if describe_all or kind == "broker-loggers":
        wanted = None
    elif kind == "brokers" and name == "":
        wanted = 3
    else:
        wanted = DYNAMIC_SOURCE[kind]
    entries = [e for e in config.values() if wanted is None or _source(e) == wanted]
    return sorted(entries, key=lambda e: e.name)


def entry_line(entry: Any) -> str:
    synonyms = ", ".join(
        f"{SOURCE_NAMES.get(_source(s), 'UNKNOWN')}:{s.name}={_text(s.value)}"
        for s in (entry.synonyms or {}).values()
    )
    sensitive = "true" if entry.is_sensitive else "false"
    return f"  {entry.name}={_text(entry.value)} sensitive={sensitive} synonyms={{{synonyms}}}"


def _text(value: str | None) -> str:
    return "null" if value is None else value


def describe(
    admin: Any, kind: str, name: str | None, describe_all: bool, loggers: BrokerLoggers | None = None
) -> None:
    from kcli.tools.admin import future_result, list_topic_metadata

    if name is not None:
        names = [name]
    elif kind == "topics":
        names = list(list_topic_metadata(admin).topics)
    elif kind in ("brokers", "broker-loggers"):
        cluster = future_result(admin.describe_cluster(request_timeout=30))
        names = [str(n.id) for n in cluster.nodes] + [""]
    elif kind == "groups":
        listing = future_result(admin.list_consumer_groups(request_timeout=30))
        names = [g.group_id for g in listing.valid]
    else:
        names = []
    for entity in names:
        if loggers is not None:
            if entity == "":
                print(f"Default configs for {kind} in the cluster are:")
            else:
                print(f"{'All' if describe_all else 'Dynamic'} configs for {kind[:-1]} {entity} are:")
            for entry in loggers.describe(entity):
                print(entry_line(entry))
            continue
        if kind == "brokers" and entity == "":
            # librdkafka cannot name the cluster-default broker resource (an empty name), so kcli
            # prints the header without entries (what Kafka shows unless defaults were set dynamically)
            print(f"Default configs for {kind} in the cluster are:")
            continue
        else:
            print(f"{'All' if describe_all else 'Dynamic'} configs for {kind[:-1]} {entity} are:")
        for entry in describe_entity(admin, kind, entity, describe_all):
            print(entry_line(entry))


def alter(
    admin: Any, args: argparse.Namespace, kind: str, name: str, loggers: BrokerLoggers | None = None
) -> None:
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    from kcli.client import load_config_file
    from kcli.tools.admin import future_result

    to_add: dict[str, str] = {}
    if args.add_config_file:
        to_add.update(load_config_file(args.add_config_file))
        for key in to_add:
            if not all(c.isalnum() or c in "._-" for c in key):
                raise ToolError(f"Invalid character found for config key: {key}")
    if args.add_config:
        to_add.update(split_add_config(args.add_config))
    to_delete = [k.strip() for item in args.delete_config or () for k in item.split(",") if k.strip()]
    if loggers is not None:
        loggers.alter(name, to_add, to_delete)
        print(f"Completed updating config for {kind[:-1]} {name}.")
        return
    if not to_add and not to_delete:
        # an empty --add-config-file: Kafka sends an alter of nothing and completes it; librdkafka
        # refuses an empty request, so only the entity is checked (a missing topic still fails)
        describe_entity(admin, kind, name, False)
        _completed(kind, name)
        return
    if to_delete:
        current = {e.name for e in describe_entity(admin, kind, name, False)}
        missing = [k for k in to_delete if k not in current]
        if missing:
            raise ToolError(f"Invalid config(s): {','.join(missing)}")
    resource = _resource(kind, name)
    for key, value in to_add.items():
        resource.add_incremental_config(ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET))
    for key in to_delete:
        resource.add_incremental_config(
            ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE)
        )
    futures = admin.incremental_alter_configs([resource], request_timeout=30)
    future_result(next(iter(futures.values())))
    _completed(kind, name)


def _completed(kind: str, name: str) -> None:
    if name:
        print(f"Completed updating config for {kind[:-1]} {name}.")
    else:
        print(f"Completed updating default config for {kind} in the cluster.")


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if int(args.alter) + int(args.describe) != 1:
        raise UsageError("Command must include exactly one action: --describe, --alter")
    if args.describe and (args.add_config or args.delete_config):
        raise UsageError('Option "describe" can\'t be used with option "add-config"')
    connect = [x for x in (args.bootstrap_server, args.bootstrap_controller, args.zookeeper) if x]
    if not connect:
        raise ToolError(
            "One of the required --bootstrap-server, --boostrap-controller, or --zookeeper arguments must be specified"
        )
    if len(connect) > 1:
        raise ToolError(
            "Only one of --bootstrap-server, --boostrap-controller, and --zookeeper can be specified"
        )
    kind, name = entities(args)
    bootstrap = (
        args.bootstrap_server or args.bootstrap_controller or cli.bootstrap_from_zookeeper(args.zookeeper)
    )
    from kcli import client

    settings = client.client_settings(bootstrap, args.command_config, [], "admin")
    client.prepare(settings, "admin")
    admin = client.build("admin", settings.conf)
    loggers = BrokerLoggers(admin, settings.conf) if kind == "broker-loggers" else None
    if kind == "users":  # SCRAM credentials
        from kcli.tools import user_configs

        if args.describe:
            user_configs.describe(admin, name)
        else:
            assert name is not None
            to_add = split_add_config(args.add_config) if args.add_config else {}
            to_delete = [k.strip() for item in args.delete_config or () for k in item.split(",") if k.strip()]
            user_configs.alter(admin, name, to_add, to_delete)
        return 0
    if args.describe:
        describe(admin, kind, name, args.all, loggers)
    else:
        assert name is not None
        alter(admin, args, kind, name, loggers)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
