"""The services of ``confluent local services``: what each one is, and how it starts and stops.

The stack is Confluent Platform 5.x-7.x's: ZooKeeper, Kafka (ZooKeeper mode), Schema Registry,
Kafka REST, Connect, then ksqlDB Server and Control Center, which kcli does not bundle (they are
named and skipped, never a traceback). Like the Confluent CLI, each service's settings are its
properties file under ``$CONFLUENT_HOME/etc`` (the ports are read from there, so editing
``listeners`` moves a service), copied into ``$CONFLUENT_CURRENT/<service>/`` with the data
directory injected; ``--config FILE`` replaces the source file.

Processes are started and waited for with the project's own process management
(:func:`kcli.local.services.launch`: ``python -m <module> <properties>``, detached, up once its port
accepts connections) and stopped with :func:`kcli.local.services.stop_services` (SIGTERM, then SIGKILL
after a grace period). Each service's pid is in ``<current>/<service>/<service>.pid`` and is only
trusted when that process still runs the service's module.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kcli.confluent import current
from kcli.confluent.errors import CLIError
from kcli.paths import pid_alive, process_cmdline
from kcli.properties import load_properties


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # the command name: zookeeper, kafka, schema-registry, kafka-rest, connect ...
    display: str  # as the Confluent CLI writes it: "ZooKeeper", "Kafka REST" ...
    command: str | None  # kcli's command for it (from kcli.commands), None when not bundled
    configs: tuple[str, ...] = ()  # candidate properties files under $CONFLUENT_HOME
    default_port: int = 0
    start_after: tuple[str, ...] = ()  # Confluent's start dependencies
    stop_first: tuple[str, ...] = ()  # Confluent's stop dependencies (dependants)
    aliases: tuple[str, ...] = field(default=())


ORDER = ("zookeeper", "kafka", "schema-registry", "kafka-rest", "connect", "ksql-server", "control-center")

SPECS: dict[str, ServiceSpec] = {
    "zookeeper": ServiceSpec(
        "zookeeper",
        "ZooKeeper",
        "zookeeper-server-start",
        ("etc/kafka/zookeeper.properties",),
        2181,
        (),
        ("control-center", "ksql-server", "connect", "kafka-rest", "schema-registry", "kafka"),
    ),
    "kafka": ServiceSpec(
        "kafka",
        "Kafka",
        "kafka-server-start",
        ("etc/kafka/server.properties",),
        9092,
        ("zookeeper",),
        ("control-center", "ksql-server", "connect", "kafka-rest", "schema-registry"),
    ),
    "schema-registry": ServiceSpec(
        "schema-registry",
        "Schema Registry",
        "schema-registry-start",
        ("etc/schema-registry/schema-registry.properties",),
        8081,
        ("zookeeper", "kafka"),
        aliases=("sr",),
    ),
    "kafka-rest": ServiceSpec(
        "kafka-rest",
        "Kafka REST",
        "kafka-rest-start",
        ("etc/kafka-rest/kafka-rest.properties",),
        8082,
        ("zookeeper", "kafka", "schema-registry"),
    ),
    "connect": ServiceSpec(
        "connect",
        "Connect",
        "connect-distributed",
        (
            "etc/schema-registry/connect-avro-distributed.properties",
            "etc/kafka/connect-distributed.properties",
        ),
        8083,
        ("zookeeper", "kafka", "schema-registry"),
    ),
    "ksql-server": ServiceSpec(
        "ksql-server", "ksqlDB Server", None, (), 8088, ("zookeeper", "kafka", "schema-registry")
    ),
    "control-center": ServiceSpec(
        "control-center",
        "Control Center",
        None,
        (),
        9021,
        ("zookeeper", "kafka", "schema-registry", "connect", "ksql-server"),
    ),
}

NOT_BUNDLED_SUGGESTION = "kcli bundles ZooKeeper, Kafka, Schema Registry, Kafka REST and Connect."


def confluent_home() -> Path:
    """``$CONFLUENT_HOME``, else kcli's own Confluent-style home (laid out on first use)."""
    from kcli import home

    value = os.environ.get("CONFLUENT_HOME")
    if value:
        return Path(value).expanduser()
    return home.layout(home.default_home())


def module_of(spec: ServiceSpec) -> str | None:
    """The Python module that runs the service, when this kcli install has it."""
    from kcli.commands import COMMANDS

    module = COMMANDS.get(spec.command or "")
    if module is None:
        return None
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    return module if found is not None else None


def bundled(name: str) -> bool:
    return SPECS[name].command is not None


def available(name: str) -> bool:
    return module_of(SPECS[name]) is not None


def unavailable_error(name: str) -> CLIError:
    spec = SPECS[name]
    if spec.command is None:
        return CLIError(f"{spec.display} is not bundled with kcli", NOT_BUNDLED_SUGGESTION)
    return CLIError(
        f"{spec.display} is not available in this kcli install (its command {spec.command} is not installed)",
        NOT_BUNDLED_SUGGESTION,
    )


# -- files and ports --------------------------------------------------------------------------------


def source_config(name: str, override: str | None = None) -> Path:
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise CLIError(f"open {override}: no such file or directory")
        return path
    home = confluent_home()
    for relative in SPECS[name].configs:
        if (home / relative).is_file():
            return home / relative
    raise CLIError(
        f"no configuration for {SPECS[name].display} in {home}",
        f"Create {home / SPECS[name].configs[0]}, or run `kcli env` to lay out $CONFLUENT_HOME.",
    )


def _listener_port(value: str | None) -> int | None:
    if not value:
        return None
    first = value.split(",")[0].strip()
    parsed = urlsplit(first if "://" in first else f"http://{first}")
    try:
        return parsed.port
    except ValueError:
        return None


def port_of(name: str, props: dict[str, str]) -> int:
    """The port the service will listen on, read from its settings as the Confluent CLI does."""
    spec = SPECS[name]
    if name == "zookeeper":
        return int(props.get("clientPort", spec.default_port))
    if name == "connect":
        return _listener_port(props.get("listeners")) or int(props.get("rest.port", spec.default_port))
    return _listener_port(props.get("listeners")) or int(props.get("port", spec.default_port))


def inject(text: str, values: dict[str, str]) -> str:
    """Set ``key=value`` lines in properties text, replacing (commented) ones: Confluent's injectConfig."""
    if values and text and not text.endswith("\n"):
        text += "\n"
    for key, value in values.items():
        pattern = re.compile(rf"(?m)^(#\s?)?{re.escape(key)}\s*=.*\n")
        line = f"{key}={value}\n"
        matches = pattern.findall(text)
        if not matches:
            text += line
        elif len(matches) == 1:
            text = pattern.sub(lambda _m, line=line: line, text)
        else:
            text = re.sub(rf"(?m)^{re.escape(key)}\s*=.*\n", lambda _m, line=line: line, text)
    return text


def injected(name: str) -> dict[str, str]:
    """What ``confluent local`` sets in each service's copy of its properties."""
    data = current.service_dir(name) / "data"
    if name == "zookeeper":
        return {"dataDir": str(data)}
    if name == "kafka":
        return {"log.dirs": str(data)}
    if name == "kafka-rest":
        return {"schema.registry.url": f"http://localhost:{port('schema-registry')}"}
    if name == "connect":
        return {"bootstrap.servers": f"localhost:{port('kafka')}"}
    return {}


def port(name: str) -> int:
    """The configured port of a service (its default when it has no properties file)."""
    try:
        return port_of(name, load_properties(source_config(name)))
    except (CLIError, ValueError):
        return SPECS[name].default_port


def prepare(name: str, override: str | None = None) -> tuple[Path, int]:
    """Write ``<current>/<service>/<service>.properties``; returns it and the service's port."""
    source = source_config(name, override)
    text = inject(source.read_text(), injected(name))
    target = current.service_dir(name) / f"{name}.properties"
    target.write_text(text)
    return target, port_of(name, load_properties(target))


# -- state --------------------------------------------------------------------------------------------


def pid_file(name: str) -> Path:
    return current.get() / name / f"{name}.pid"


def log_file(name: str) -> Path:
    return current.get() / name / f"{name}.stdout"


def read_pid(name: str) -> int | None:
    if current.existing() is None:
        return None
    try:
        return int(pid_file(name).read_text().strip())
    except (OSError, ValueError):
        return None


def is_running(name: str) -> bool:
    pid = read_pid(name)
    if pid is None or not pid_alive(pid):
        return False
    module = module_of(SPECS[name])
    return module is not None and module in process_cmdline(pid)


def start(name: str, override: str | None = None) -> None:
    """Start one service and wait until its port accepts connections (CLIError on failure)."""
    from kcli.confluent import ports
    from kcli.local.services import LocalError, launch, port_in_use

    spec = SPECS[name]
    module = module_of(spec)
    if module is None:
        raise unavailable_error(name)
    config, service_port = prepare(name, override)
    if port_in_use(service_port):
        raise CLIError(
            f"{spec.display} cannot start: {ports.describe(service_port)}",
            f"Stop that process, or give {spec.display} another port in {source_config(name, override)}.",
        )
    logs = current.service_dir(name) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ["LOG_DIR"] = str(logs)
    try:
        launched = launch(spec.display, module, config, service_port, log_file(name))
    except LocalError as exc:
        raise CLIError(
            f"{spec.display} failed to start: {exc}",
            f"See its output with `confluent local services {name} log`.",
        ) from None
    pid_file(name).write_text(f"{launched.pid}\n")


def stop(name: str) -> None:
    """Stop one service (SIGTERM, SIGKILL after the grace period) and remove its pid file."""
    from kcli.local.services import Service, stop_services

    pid = read_pid(name)
    module = module_of(SPECS[name]) or ""
    if pid is not None:
        stop_services([Service(name, module, pid, port(name), str(log_file(name)))])
    pid_file(name).unlink(missing_ok=True)
