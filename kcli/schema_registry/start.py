"""``schema-registry-start [-daemon] schema-registry.properties``: run the registry.

Foreground by default, logging to stdout in Confluent's style; ``-daemon`` detaches and logs to
``$KCLI_HOME/logs/schema-registry.log``. A pid file under ``$KCLI_HOME/run/`` lets
``schema-registry-stop`` find it. If the Kafka store cannot be reached within
``kafkastore.init.timeout.ms`` (default 60 s), one clear line is printed and the exit code is 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

USAGE = "USAGE: schema-registry-start [-daemon] schema-registry.properties"
STARTED = "Server started, listening for requests..."
log = logging.getLogger("io.confluent.kafka.schemaregistry.rest.SchemaRegistryMain")


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%d %H:%M:%S") + f",{int(record.msecs):03d}"
        return f"[{stamp}] {record.levelname} {record.getMessage()} ({record.name})"


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Format())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _daemonize(argv: list[str]) -> int:
    from kcli.daemons import detach
    from kcli.paths import logs_dir

    pid = detach("kcli.schema_registry.start", argv, "schema-registry.log")
    print(
        f"schema-registry started in the background (pid {pid}), logging to {logs_dir() / 'schema-registry.log'}"
    )
    return 0


async def _serve(props_path: Path) -> int:
    from aiohttp import web

    from kcli.cli_errors import ToolError
    from kcli.daemons import PidFile, stop_on_signals
    from kcli.properties import load_properties
    from kcli.schema_registry.config import from_properties
    from kcli.schema_registry.kafka_store import KafkaStore, StoreUnavailable
    from kcli.schema_registry.registry import Registry
    from kcli.schema_registry.rest import build_app
    from kcli.schema_registry.security import RegistrySecurityError, registry_security

    props = load_properties(props_path)
    try:
        security = registry_security(props)  # HTTPS and basic auth, checked before anything else
    except RegistrySecurityError as exc:
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        cfg = from_properties(props)
    except (ToolError, ValueError) as exc:  # e.g. kafkastore.ssl.keystore.type=JKS, a non-number
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    log.info("Starting the kcli schema registry (Kafka store %s, topic %s)", cfg.bootstrap, cfg.topic)
    store = KafkaStore(
        cfg.bootstrap, cfg.topic, cfg.timeout_s, cfg.kafka, cfg.replication_factor, cfg.write_timeout_s
    )
    try:
        await asyncio.to_thread(store.start)
    except StoreUnavailable as exc:
        print(f"ERROR: the schema registry cannot use its Kafka store: {exc}", file=sys.stderr, flush=True)
        store.close()
        return 1
    registry = Registry(store)
    if cfg.compatibility and registry.compatibility(None, True) != cfg.compatibility.upper():
        registry.set_compatibility(None, cfg.compatibility)
    app = build_app(registry)
    if security.basic_auth is not None:
        app.middlewares.insert(0, security.basic_auth.middleware())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port, ssl_context=security.ssl_context)
    try:
        await site.start()
    except OSError as exc:
        print(f"ERROR: cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}", file=sys.stderr, flush=True)
        await runner.cleanup()
        store.close()
        return 1
    pid_file = PidFile(f"schema-registry-{os.getpid()}")
    pid_file.write()
    stop = stop_on_signals()
    log.info("Listening on %s://%s:%d", security.scheme, cfg.host, cfg.port)
    log.info(STARTED)
    try:
        await stop.wait()
    finally:
        log.info("Shutting down")
        await runner.cleanup()
        store.close()
        pid_file.remove()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    daemon = bool(args) and args[0] == "-daemon"
    if daemon:
        args = args[1:]
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
        return 1
    path = Path(args[0])
    if not path.is_file():
        print(f"ERROR: properties file {path} not found", file=sys.stderr)
        return 1
    if daemon:
        return _daemonize([str(path.resolve())])
    _setup_logging()
    try:
        return asyncio.run(_serve(path))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
