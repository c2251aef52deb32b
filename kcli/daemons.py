"""Background services of this install (broker, ZooKeeper, schema registry): how the ``-daemon``
form detaches them and how the ``*-stop`` commands find and stop them again by pid file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys

from kcli.paths import logs_dir, pid_alive, process_cmdline, run_dir


class PidFile:
    """``$KCLI_HOME/run/<name>.pid`` holding this process's pid, so the ``*-stop`` commands and
    ``kcli local`` find the services of this install."""

    def __init__(self, name: str):
        self.path = run_dir() / f"{name}.pid"

    def write(self) -> None:
        self.path.write_text(f"{os.getpid()}\n")

    def remove(self) -> None:
        """Remove the file if it is still ours (a newer process may have taken the name)."""
        with contextlib.suppress(OSError):
            if self.path.read_text().strip() == str(os.getpid()):
                self.path.unlink()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, which every service awaits to shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def detach(module: str, args: list[str], log_name: str) -> int:
    """Start ``python -m module args`` in its own session, output appended to logs/``log_name``
    (as Kafka's scripts do with ``-daemon``); returns its pid."""
    with open(logs_dir() / log_name, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    return proc.pid


def terminate_from_pid_files(pattern: str, *markers: str) -> int:
    """SIGTERM each process named by a pid file in run/ matching ``pattern`` whose command line
    holds one of ``markers`` (so a reused pid is never signalled); stale files are removed.
    Returns how many processes were signalled, for the ``*-stop`` commands' "nothing to stop"."""
    signalled = 0
    for pid_file in sorted(run_dir().glob(pattern)):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        cmdline = process_cmdline(pid).replace("-", "_")
        if not pid_alive(pid) or not any(m.replace("-", "_") in cmdline for m in markers):
            pid_file.unlink(missing_ok=True)  # stale: the process is gone or the pid was reused
            continue
        os.kill(pid, signal.SIGTERM)
        signalled += 1
    return signalled
