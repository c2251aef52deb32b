"""Running a worker process: argument checks, logging, the REST server and a clean shutdown.

Shared by ``connect-standalone`` and ``connect-distributed``: both take the worker properties file
first (``-daemon`` detaches, as Kafka's scripts do), log in Connect's layout to stdout, serve the
REST API, and stop on SIGTERM/Ctrl-C by stopping every task (source offsets flushed, sink offsets
committed) before exiting. A bad file or setting is one ``ERROR`` line and exit code 1, never a
traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from kcli.connect.errors import ConnectError
from kcli.connect.herder import Herder
from kcli.connect.worker_config import WorkerConfig, load
from kcli.properties import load_properties

log = logging.getLogger("org.apache.kafka.connect.runtime.Connect")
cli_log = logging.getLogger("org.apache.kafka.connect.cli.AbstractConnectCli")


def read_worker_properties(path: str, distributed: bool) -> WorkerConfig:
    try:
        props = load_properties(path)
    except FileNotFoundError:
        raise ConnectError(f"{path} (No such file or directory)") from None
    except OSError as exc:
        raise ConnectError(f"{path} ({exc.strerror or exc})") from None
    from kcli.connect.plugin_path import add_plugin_path

    add_plugin_path(props.get("plugin.path"))
    return load(props, distributed)


def cluster_id(config: WorkerConfig) -> str:
    """The Kafka cluster's id, which ``GET /`` reports. A worker started before its broker waits
    for it within ``default.api.timeout.ms``, as Java's worker does while it looks the id up, so a
    lab script may start both at once; then it fails with one line naming the address."""
    from confluent_kafka.admin import AdminClient

    from kcli.client import wait_for_broker
    from kcli.tools.cli import ToolError

    try:
        wait_for_broker(config.bootstrap)
    except ToolError as exc:
        raise ConnectError(str(exc)) from None
    metadata = AdminClient(config.client_conf("admin")).list_topics(timeout=30)
    return str(metadata.cluster_id)


def run(
    prog: str,
    argv: list[str] | None,
    distributed: bool,
    build: Callable[[WorkerConfig, list[str]], Herder],
    after_start: Callable[[Herder], None] | None = None,
) -> int:
    from kcli.server.base.logging_setup import setup_logging

    args = list(sys.argv[1:] if argv is None else argv)
    usage = f"USAGE: {prog} [-daemon] connect-{'distributed' if distributed else 'standalone'}.properties"
    if not args or args[0] in ("-h", "--help"):
        print(usage, file=sys.stderr)
        return 1
    if args[0] == "-daemon":
        from kcli.daemons import detach

        rest = args[1:]
        if not rest:
            print(usage, file=sys.stderr)
            return 1
        module = "kcli.connect.distributed" if distributed else "kcli.connect.standalone"
        detach(module, [str(Path(a).resolve()) if Path(a).exists() else a for a in rest], "connect.log")
        return 0
    setup_logging()
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    try:
        config = read_worker_properties(args[0], distributed)
        log.info("Kafka Connect worker initializing ...")
        herder = build(config, args[1:])
    except ConnectError as exc:
        cli_log.error("Stopping due to error: %s", exc.message)
        return 1
    try:
        return asyncio.run(_serve(herder, config, after_start))
    except KeyboardInterrupt:
        return 0
    except ConnectError as exc:
        cli_log.error("Stopping due to error: %s", exc.message)
        return 1


async def _serve(herder: Herder, config: WorkerConfig, after_start: Callable[[Herder], None] | None) -> int:
    from kcli.connect.rest import serve
    from kcli.daemons import stop_on_signals

    stop = stop_on_signals()
    loop = asyncio.get_running_loop()
    log.info("Kafka Connect starting")
    try:
        runner = await serve(herder, config.rest_host, config.rest_port)
    except OSError as exc:
        raise ConnectError(f"Unable to initialize REST server: {exc}") from None
    rest_url = f"http://{config.rest_host or '0.0.0.0'}:{config.rest_port}/"
    logging.getLogger("org.apache.kafka.connect.runtime.rest.RestServer").info(
        "REST server listening at %s, advertising URL %s", rest_url, config.rest_url
    )
    try:
        await loop.run_in_executor(None, herder.start)
        if after_start is not None:
            await loop.run_in_executor(None, after_start, herder)
        log.info("Kafka Connect started")
        await stop.wait()
        log.info("Kafka Connect stopping")
    finally:
        await loop.run_in_executor(None, herder.stop)
        await runner.cleanup()
        log.info("Kafka Connect stopped")
    return 0
