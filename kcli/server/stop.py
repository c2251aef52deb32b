"""``kafka-server-stop [--node-id=N | --process-role=ROLE]``: SIGTERM the brokers of this install.

Without options every broker and controller node started from this install stops (found by the pid
files they write). Kafka 3.7's script also takes ``--node-id=N`` and ``--process-role=ROLE``: it
reads each server's properties file (the last argument of its command line, ``--override``s
removed) and stops only those whose ``node.id`` (or ``process.roles``, compared as written, e.g.
``broker`` or ``broker,controller``) matches; with both, the node id wins and a line says so. kcli
does the same, reading the file relative to the server's own working directory (Kafka resolves it
from the caller's), and also matches a ZooKeeper-mode file's ``broker.id``, which is what
``node.id`` is there. Where Kafka silently exits 0 when nothing matches, kcli says so and exits 1.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

NOTHING = "No kafka server to stop"
MARKERS = ("kcli.server", "kafka-server-start")


def _option(argv: list[str], name: str) -> str | None:
    """``--name=value`` as the script greps it (``--name value`` is accepted too)."""
    for i, arg in enumerate(argv):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def server_config(pid: int) -> dict[str, str]:
    """The effective properties of the server ``pid``: its file, then its ``--override``s."""
    from kcli.properties import load_properties

    args = _command_line(pid)
    overrides: dict[str, str] = {}
    files: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--override" and i + 1 < len(args):
            key, _, value = args[i + 1].partition("=")
            overrides[key.strip()] = value.strip()
            i += 2
            continue
        if arg.startswith("--override="):
            key, _, value = arg.split("=", 1)[1].partition("=")
            overrides[key.strip()] = value.strip()
        elif i > 0 and not arg.startswith("-"):
            files.append(arg)
        i += 1
    props: dict[str, str] = {}
    if files:  # the last argument is the properties file, as Kafka's script takes it
        path = Path(files[-1])
        if not path.is_absolute():
            try:
                path = Path(os.readlink(f"/proc/{pid}/cwd")) / path
            except OSError:
                pass
        try:
            props = load_properties(str(path))
        except (OSError, ValueError):
            props = {}
    props.update(overrides)
    return props


def _matches(props: dict[str, str], node_id: str | None, role: str | None) -> bool:
    if node_id is not None:
        return props.get("node.id", props.get("broker.id", "")).strip() == node_id.strip()
    if role is not None:
        return props.get("process.roles", "").strip() == role.strip()
    return True


def main(argv: list[str] | None = None) -> int:
    from kcli.paths import pid_alive, process_cmdline, run_dir

    args = list(sys.argv[1:] if argv is None else argv)
    node_id = _option(args, "node-id")
    role = _option(args, "process-role")
    if node_id is not None and role is not None:
        print("When both node-id and process-role are provided, the value for node-id will take precedence")
    pids: list[int] = []
    for pid_file in sorted(run_dir().glob("kafka-server-*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        cmdline = process_cmdline(pid).replace("-", "_")
        if not pid_alive(pid) or not any(m.replace("-", "_") in cmdline for m in MARKERS):
            pid_file.unlink(missing_ok=True)  # stale: the process is gone or the pid was reused
            continue
        if pid not in pids:  # a server with two listeners writes two pid files
            pids.append(pid)
    if not pids:
        print(NOTHING, file=sys.stderr)
        return 1
    chosen = [pid for pid in pids if _matches(server_config(pid), node_id, role)]
    if not chosen:
        what = f"node.id={node_id}" if node_id is not None else f"process.roles={role}"
        print(f"{NOTHING} with {what}", file=sys.stderr)
        return 1
    for pid in chosen:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
