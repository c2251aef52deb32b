"""``confluent local services ...``, ``confluent local current|destroy|version`` and the CP 5.x
spellings ``confluent local start|stop|status|log|top [service]``.

Output is Confluent Platform's: the development-only notice and ``Using CONFLUENT_CURRENT: <dir>``
(on stderr, so scripts reading stdout see only the service lines), then ``Starting Kafka`` /
``Kafka is [UP]`` pairs in dependency order; ``stop`` goes in reverse order with ``Stopping ...``
/ ``... is [DOWN]``; ``status`` lists every service alphabetically. A service already up is only
reported (``Kafka is [UP]``), as the Confluent CLI does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata

from kcli.confluent import current, services
from kcli.confluent.errors import CLIError
from kcli.confluent.framework import Args, CobraGroup, Flag, command, group

DEV_ONLY = (
    "The local commands are intended for a single-node development environment only, NOT for "
    "production usage. See more: https://docs.confluent.io/current/cli/index.html"
)


def notify_current() -> None:
    sys.stderr.write(f"{DEV_ONLY}\n\nUsing CONFLUENT_CURRENT: {current.get()}\n")
    sys.stderr.flush()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def print_status(name: str) -> None:
    spec = services.SPECS[name]
    say(f"{spec.display} is [{'UP' if services.is_running(name) else 'DOWN'}]")


def start_service(name: str, config: str | None = None) -> None:
    spec = services.SPECS[name]
    if services.is_running(name):
        print_status(name)
        return
    say(f"Starting {spec.display}")
    services.start(name, config)
    print_status(name)


def stop_service(name: str) -> None:
    if not services.is_running(name):
        if services.bundled(name) and services.available(name):
            print_status(name)
        return
    say(f"Stopping {services.SPECS[name].display}")
    services.stop(name)
    print_status(name)


def start_all() -> None:
    notify_current()
    for name in services.ORDER:
        if not services.available(name):
            spec = services.SPECS[name]
            reason = (
                "is not bundled with kcli"
                if spec.command is None
                else "is not available in this kcli install"
            )
            say(f"{spec.display} {reason}: skipped")
            continue
        start_service(name)


def stop_all() -> None:
    notify_current()
    for name in reversed(services.ORDER):
        stop_service(name)


def status_all() -> None:
    notify_current()
    for name in sorted(n for n in services.ORDER if services.available(n)):
        print_status(name)


def top(names: list[str]) -> None:
    pids = [services.read_pid(n) for n in names if services.is_running(n)]
    pids = [p for p in pids if p is not None]
    if not pids:
        raise CLIError("no services running")
    args = ["top", "-p", ",".join(str(p) for p in pids)]
    if not sys.stdout.isatty():
        args[1:1] = ["-b", "-n", "1"]
    if shutil.which("top") is None:
        raise CLIError("`top` is not installed", "Install procps, or look at the services with `ps`.")
    subprocess.run(args, check=False)


def show_log(name: str, follow: bool) -> None:
    log = services.log_file(name) if current.existing() else None
    if log is None or not log.exists():
        raise CLIError(
            f"no log found: to run {services.SPECS[name].display}, use `confluent local services {name} start`"
        )
    if follow:
        subprocess.run(["tail", "-f", str(log)], check=False)
    else:
        sys.stdout.write(log.read_text(errors="replace"))


def version_text() -> str:
    try:
        return metadata.version("kcli")
    except metadata.PackageNotFoundError:
        return "unknown"


def _require(name: str) -> None:
    if not services.available(name):
        raise services.unavailable_error(name)


def add_service_group(parent: CobraGroup, name: str) -> None:
    spec = services.SPECS[name]
    node = group(parent, name, f"Manage {spec.display}.", aliases=spec.aliases)

    def start(config: str | None, args: list[str], changed: set[str]) -> None:
        _require(name)
        notify_current()
        for dependency in spec.start_after:
            if services.available(dependency):
                start_service(dependency)
        start_service(name, config)

    def stop(args: list[str], changed: set[str]) -> None:
        _require(name)
        notify_current()
        for dependant in spec.stop_first:
            stop_service(dependant)
        stop_service(name)

    def status(args: list[str], changed: set[str]) -> None:
        _require(name)
        notify_current()
        print_status(name)

    def log(follow: bool, args: list[str], changed: set[str]) -> None:
        _require(name)
        show_log(name, follow)

    def top_one(args: list[str], changed: set[str]) -> None:
        _require(name)
        if not services.is_running(name):
            print_status(name)
            return
        top([name])

    def version(args: list[str], changed: set[str]) -> None:
        _require(name)
        say(version_text())

    config_flag = Flag("config", f"Configure {spec.display} with a specific properties file.", short="c")
    command(node, "start", f"Start {spec.display}.", start, [config_flag])
    command(node, "stop", f"Stop {spec.display}.", stop)
    command(node, "status", f"Check if {spec.display} is running.", status)
    command(
        node,
        "log",
        f"Print logs showing {spec.display} output.",
        log,
        [Flag("follow", "Log additional output until the command is interrupted.", "bool", short="f")],
    )
    command(node, "top", f"View resource usage for {spec.display}.", top_one)
    command(node, "version", f"Print the current version of {spec.display}.", version)


def build(local: CobraGroup) -> None:
    """Add ``services``, ``current``, ``destroy``, ``version`` and the CP 5.x spellings to ``local``."""
    svc = group(local, "services", "Manage Confluent Platform services.")
    for name in services.ORDER:
        add_service_group(svc, name)

    def list_services(args: list[str], changed: set[str]) -> None:
        say("Available Services:")
        for name in sorted(services.ORDER, key=lambda n: services.SPECS[n].display.lower()):
            if services.available(name):
                say(f"  {services.SPECS[name].display}")

    def top_all(args: list[str], changed: set[str]) -> None:
        top([n for n in services.ORDER if services.available(n)])

    command(svc, "list", "List all Confluent Platform services.", list_services)
    command(svc, "start", "Start all Confluent Platform services.", lambda args, changed: start_all())
    command(svc, "stop", "Stop all Confluent Platform services.", lambda args, changed: stop_all())
    command(
        svc,
        "status",
        "Check the status of all Confluent Platform services.",
        lambda args, changed: status_all(),
    )
    command(svc, "top", "View resource usage for all Confluent Platform services.", top_all)

    def show_current(args: list[str], changed: set[str]) -> None:
        say(str(current.get()))

    def destroy(args: list[str], changed: set[str]) -> None:
        found = current.existing()
        if found is None:
            raise CLIError("nothing to destroy")
        stop_all()
        say(f"Deleting: {found}")
        shutil.rmtree(found, ignore_errors=True)
        current.forget()

    command(local, "current", "Get the path of the current Confluent run.", show_current)
    command(local, "destroy", "Delete the data and logs for the current Confluent run.", destroy)
    command(
        local,
        "version",
        "Print the Confluent Platform version.",
        lambda args, changed: say(f"kcli: {version_text()}"),
    )

    # Confluent Platform 5.x: `confluent local start [service]` and friends.
    names = "|".join(services.ORDER)

    def pick(args: list[str]) -> str | None:
        if not args:
            return None
        name = {"sr": "schema-registry", "ksql": "ksql-server"}.get(args[0], args[0])
        if name not in services.SPECS:
            raise CLIError(f'unknown service "{args[0]}"', f"Use one of: {', '.join(services.ORDER)}.")
        if not services.available(name):
            raise services.unavailable_error(name)
        return name

    def old_start(args: list[str], changed: set[str]) -> None:
        name = pick(args)
        if name is None:
            start_all()
            return
        notify_current()
        for dependency in services.SPECS[name].start_after:
            if services.available(dependency):
                start_service(dependency)
        start_service(name)

    def old_stop(args: list[str], changed: set[str]) -> None:
        name = pick(args)
        if name is None:
            stop_all()
            return
        notify_current()
        for dependant in services.SPECS[name].stop_first:
            stop_service(dependant)
        stop_service(name)

    def old_status(args: list[str], changed: set[str]) -> None:
        name = pick(args)
        if name is None:
            status_all()
        else:
            notify_current()
            print_status(name)

    def old_log(follow: bool, args: list[str], changed: set[str]) -> None:
        name = pick(args)
        assert name is not None
        show_log(name, follow)

    one = Args(0, 1, f"[{names}]")
    command(
        local,
        "start",
        "Start all services, or one and what it needs (Confluent Platform 5.x spelling).",
        old_start,
        args=one,
    )
    command(
        local,
        "stop",
        "Stop all services, or one and what depends on it (Confluent Platform 5.x spelling).",
        old_stop,
        args=one,
    )
    command(
        local,
        "status",
        "Check the status of all services, or of one (Confluent Platform 5.x spelling).",
        old_status,
        args=one,
    )
    command(
        local,
        "log",
        "Print a service's log (Confluent Platform 5.x spelling).",
        old_log,
        [Flag("follow", "Log additional output until the command is interrupted.", "bool", short="f")],
        args=Args(1, 1, f"<{names}>"),
    )
    command(local, "top", "View resource usage for all services (Confluent Platform 5.x spelling).", top_all)
