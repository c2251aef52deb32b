"""Saved connection settings (``confluent context create|use|list|describe|delete``) and how a
command finds its cluster and registry.

A context names a bootstrap server, optionally a schema registry URL and a client properties
file (``--config-file``, for SASL/SSL clusters). Contexts live in ``$KCLI_HOME/confluent/
config.json``, like the Confluent CLI's ``~/.confluent/config.json``. A command uses, in order:
its flag (``--bootstrap``, ``--schema-registry-endpoint``), the current context, then the local
stack (``localhost:9092`` / ``http://localhost:8081`` or the ports in ``$CONFLUENT_HOME``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kcli.confluent.errors import CLIError
from kcli.paths import kcli_home


def config_path() -> Path:
    return kcli_home() / "confluent" / "config.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(config_path().read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("contexts", {})
    data.setdefault("current_context", "")
    return data


def save(data: dict[str, Any]) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def current_context() -> dict[str, Any] | None:
    data = load()
    name = data.get("current_context")
    return data["contexts"].get(name) if name else None


def local_bootstrap() -> str:
    from kcli.confluent import services

    return f"localhost:{services.port('kafka')}"


def local_registry() -> str:
    from kcli.confluent import services

    return f"http://localhost:{services.port('schema-registry')}"


def bootstrap(flag: str | None) -> str:
    if flag:
        return flag
    ctx = current_context()
    if ctx and ctx.get("bootstrap"):
        return str(ctx["bootstrap"])
    return local_bootstrap()


def registry(flag: str | None) -> str:
    if flag:
        return flag
    ctx = current_context()
    if ctx and ctx.get("schema_registry_endpoint"):
        return str(ctx["schema_registry_endpoint"])
    return local_registry()


def client_settings(
    bootstrap_server: str, config_file: str | None, configs: list[str] | None, role: str
) -> dict[str, Any]:
    """librdkafka settings for a command: the context's or flag's properties file, ``--config k=v``."""
    from kcli.client import client_settings as settings
    from kcli.tools.cli import ToolError

    ctx = current_context()
    file = config_file or (ctx or {}).get("config_file")
    try:
        conf = settings(bootstrap_server, file, list(configs or []), role).conf  # type: ignore[arg-type]
    except ToolError as exc:
        raise CLIError(str(exc)) from None
    from kcli.client import quiet_settings

    conf.update(quiet_settings())
    return conf


def check_reachable(bootstrap_server: str) -> None:
    from kcli.client import check_reachable as check
    from kcli.tools.cli import ToolError

    try:
        check(bootstrap_server)
    except ToolError as exc:
        raise CLIError(
            str(exc), "Start the local stack with `confluent local services start`, or pass --bootstrap."
        ) from None
