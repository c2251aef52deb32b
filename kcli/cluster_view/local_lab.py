"""Is the cluster on screen the ``kcli local`` stack of this machine? Then the failure lab may stop
and start its brokers, and the log view may read their log dirs.

The TUI works against any cluster, read-only where it must be: stopping a broker is only offered
when every broker the metadata lists is a service recorded in ``$KCLI_HOME/run/local.json``, on
the same port (the TUI never signals a process it did not find there), and it goes through
:mod:`kcli.local`, the same code as ``kcli local kill-broker N`` and ``kcli local start --broker N``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kcli.cluster_view.bootstrap import bootstrap_addresses
from kcli.properties import load_properties


@dataclass(frozen=True)
class LocalBroker:
    node_id: int
    port: int
    pid: int | None  # None: recorded, not running
    log_dirs: list[str]
    config: str


def _log_dirs(config: Path) -> list[str]:
    try:
        props = load_properties(str(config))
    except Exception:
        return []
    raw = props.get("log.dirs") or props.get("log.dir") or ""
    return [d.strip() for d in raw.split(",") if d.strip()]


def recorded_brokers() -> dict[int, LocalBroker]:
    """The brokers of the recorded ``kcli local`` stack (node id -> broker), running or not."""
    from kcli.local.services import adopt, load_state

    out = {}
    for s in adopt(load_state(), save=False):
        if s.node_id is None or s.module != "kcli.server.start":
            continue
        config = s.config_path()
        out[s.node_id] = LocalBroker(s.node_id, s.port, s.live_pid(), _log_dirs(config), str(config))
    return out


def local_brokers(md: Any) -> dict[int, LocalBroker]:
    """The recorded brokers when they are this cluster (metadata ``md``): every live broker is one of
    them, same id, same port. Empty otherwise."""
    recorded = recorded_brokers()
    if not recorded or not md.brokers:
        return {}
    for broker_id, b in md.brokers.items():
        mine = recorded.get(broker_id)
        if mine is None or mine.port != b.port:
            return {}
    return recorded


def kill(node_id: int) -> str:
    """SIGKILL broker ``node_id`` of the local stack (``kcli local kill-broker``)."""
    from kcli.local import kill_broker

    return "; ".join(kill_broker(node_id))


def start(node_id: int) -> str:
    """Start broker ``node_id`` again with its config and data (``kcli local start --broker``)."""
    from kcli.local import start_broker

    return "; ".join(start_broker(node_id))


def local_registry_url(bootstrap: str) -> str | None:
    """The schema registry of the ``kcli local`` stack, when ``bootstrap`` names one of its brokers."""
    try:
        from kcli.local import load_state

        services = load_state()
        ports = {s.port for s in services if s.node_id is not None}
        if not any(port in ports for _host, port in bootstrap_addresses(bootstrap)):
            return None
        for s in services:
            if s.name == "schema-registry" and s.live_pid() is not None:
                return f"http://localhost:{s.port}"
    except Exception:
        return None
    return None
