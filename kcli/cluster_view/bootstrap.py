"""How the TUI reaches a cluster: client settings, bootstrap addresses, and whether they answer."""

from __future__ import annotations

import socket
from typing import Any


def client_conf(bootstrap: str, command_config: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """librdkafka settings (and the Java-only leftovers, e.g. ``schema.registry.url``).

    Uses the tools' translation table in ``kcli.client`` when it is available so that a
    ``--command-config`` file means the same to ``kcli tui`` as to ``kafka-topics``; otherwise
    passes the file's keys through to librdkafka as they are.
    """
    try:
        from kcli.client import client_settings
    except ImportError:  # pragma: no cover - only before the tools helper's module lands
        from kcli.properties import load_properties

        conf: dict[str, Any] = dict(load_properties(command_config)) if command_config else {}
        conf["bootstrap.servers"] = bootstrap
        extra = {k: conf.pop(k) for k in list(conf) if k.startswith(("schema.registry.", "basic.auth."))}
        return conf, extra
    settings = client_settings(bootstrap, command_config, None, "admin")
    return dict(settings.conf), dict(settings.java_only)


def bootstrap_addresses(bootstrap: str) -> list[tuple[str, int]]:
    """``h1:9092,PLAINTEXT://h2:9093`` -> [(host, port)]; unparsable entries are left out."""
    try:
        from kcli.client import split_bootstrap

        return split_bootstrap(bootstrap)
    except Exception:
        return []


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


def same_address(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """Whether two host:port pairs name the same listener (``localhost`` and 127.0.0.1 do)."""
    if a[1] != b[1]:
        return False
    return a[0] == b[0] or (a[0] in _LOOPBACK and b[0] in _LOOPBACK)


def tcp_answers(host: str, port: int, timeout_s: float) -> bool:
    """True when something accepts a TCP connection there: cheap, and the same for any protocol."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
