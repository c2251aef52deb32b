"""``kcli local snapshot|restore|reset``: save the whole stack's data, return to it, or empty it."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

from kcli.local.services import (
    LocalError,
    Service,
    adopt,
    launch,
    load_state,
    local_dir,
    save_state,
    stop_services,
)
from kcli.paths import kcli_home

SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def snapshots_dir() -> Path:
    return kcli_home() / "snapshots"


def _snapshot_path(name: str) -> Path:
    if not SNAPSHOT_NAME.fullmatch(name):
        raise LocalError(
            f"'{name}' is not a snapshot name: use letters, digits, '.', '_' and '-' (at most 64)"
        )
    return snapshots_dir() / name


def _port_of(config: Path, scheme: str) -> int | None:
    """The port of the first ``scheme://`` listener in a properties file kcli local wrote."""
    try:
        text = config.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("listeners="):
            match = re.search(re.escape(scheme) + r"://[^:,]*:(\d+)", line)
            if match:
                return int(match.group(1))
    return None


def _topology() -> list[Service]:
    """The services of the local stack: as recorded, else from the configs ``kcli local start``
    wrote (``kcli local stop`` forgets the pids, not the stack's shape)."""
    services = load_state()
    if services:
        return services
    etc, logs = local_dir() / "etc", local_dir() / "logs"
    found: list[Service] = []
    single = etc / "server.properties"
    if single.exists():
        port = _port_of(single, "PLAINTEXT")
        if port is not None:
            found.append(
                Service("kafka", "kcli.server.start", 0, port, str(logs / "server.log"), str(single), 1)
            )
    else:
        controller = etc / "controller.properties"
        port = _port_of(controller, "CONTROLLER")
        if port is not None:
            found.append(
                Service(
                    "controller", "kcli.server.start", 0, port, str(logs / "controller.log"), str(controller)
                )
            )
        brokers = sorted(
            (int(p.stem.removeprefix("server-")), p)
            for p in etc.glob("server-*.properties")
            if p.stem.removeprefix("server-").isdigit()
        )
        for node_id, props in brokers:
            port = _port_of(props, "PLAINTEXT")
            if port is not None:
                log = str(logs / f"server-{node_id}.log")
                found.append(
                    Service(f"kafka-{node_id}", "kcli.server.start", 0, port, log, str(props), node_id)
                )
    registry = etc / "schema-registry.properties"
    port = _port_of(registry, "http")
    if found and port is not None:
        log = str(logs / "schema-registry.log")
        found.append(Service("schema-registry", "kcli.schema_registry.start", 0, port, log, str(registry)))
    return found


def _stop_running() -> list[str]:
    running = [s for s in adopt(load_state()) if s.live_pid() is not None]
    return stop_services(running) if running else []


def _launch_all(services: list[Service]) -> list[str]:
    lines: list[str] = []
    fresh: list[Service] = []
    try:
        for s in services:
            fresh.append(launch(s.name, s.module, s.config_path(), s.port, Path(s.log), s.node_id))
            save_state(fresh)
            lines.append(f"{s.name} is [UP] on localhost:{s.port}")
    except LocalError:
        stop_services(fresh)
        save_state([])
        raise
    return lines


def snapshot(name: str) -> list[str]:
    """Save the whole local stack - topics, records, committed offsets, groups, schemas (all in the
    brokers' and controller's log dirs) - under ``$KCLI_HOME/snapshots/NAME``.

    The services are stopped for the copy (a clean shutdown flushes every log and writes its
    checkpoints, so the copy is consistent) and started again as they were.
    """
    target = _snapshot_path(name)
    if target.exists():
        raise LocalError(f"Snapshot {name} already exists ({target}): choose another name or delete it")
    data = local_dir() / "data"
    services = _topology()
    if not services or not data.exists():
        raise LocalError("Nothing to snapshot: start the stack first with kcli local start")
    was_running = any(s.live_pid() is not None for s in load_state())
    started = time.monotonic()
    lines = _stop_running()
    tmp = target.with_name(f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(data, tmp / "data", symlinks=True)
        shutil.copytree(local_dir() / "etc", tmp / "etc", symlinks=True)
        (tmp / "services.json").write_text(
            json.dumps({"services": [asdict(replace(s, pid=0)) for s in services]}, indent=2)
        )
        tmp.rename(target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LocalError(f"Cannot write snapshot {name} to {target}: {exc.strerror or exc}") from None
    finally:
        if was_running:
            lines += _launch_all(services)
    size = sum(f.stat().st_size for f in (target / "data").rglob("*") if f.is_file())
    lines.append(
        f"Saved snapshot {name} ({size / 1024:,.0f} KiB) in {time.monotonic() - started:.1f} s: "
        f"kcli local restore {name} returns to it"
    )
    return lines


def restore(name: str) -> list[str]:
    """Return the local stack to snapshot ``name``: stop it, put the snapshot's data and configs
    in place, start the snapshot's services on their ports."""
    source = _snapshot_path(name)
    if not (source / "services.json").exists():
        known = sorted(p.name for p in snapshots_dir().glob("*") if (p / "services.json").exists())
        hint = f" (snapshots: {', '.join(known)})" if known else " (there are none: kcli local snapshot NAME)"
        raise LocalError(f"No snapshot named {name}{hint}")
    try:
        services = [Service(**s) for s in json.loads((source / "services.json").read_text())["services"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalError(f"Snapshot {name} is damaged ({source / 'services.json'}: {exc})") from None
    started = time.monotonic()
    lines = _stop_running()
    save_state([])
    base = local_dir()
    for part in ("data", "etc"):
        shutil.rmtree(base / part, ignore_errors=True)
        shutil.copytree(source / part, base / part, symlinks=True)
    lines += _launch_all(services)
    lines.append(f"Restored snapshot {name} in {time.monotonic() - started:.1f} s")
    return lines


def reset() -> list[str]:
    """An empty stack of the same shape: every topic, record, offset, group and schema deleted,
    the same services started again on the same ports (a new cluster id)."""
    services = _topology()
    if not services:
        raise LocalError("Nothing to reset: start the stack first with kcli local start")
    started = time.monotonic()
    lines = _stop_running()
    save_state([])
    shutil.rmtree(local_dir() / "data", ignore_errors=True)
    lines += _launch_all(services)
    lines.append(f"Reset the local stack to empty in {time.monotonic() - started:.1f} s")
    return lines
