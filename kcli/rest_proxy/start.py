"""``kafka-rest-start [-daemon] kafka-rest.properties``: run the REST Proxy.

Foreground by default, logging in Confluent's style; ``-daemon`` detaches and logs to
``$KCLI_HOME/logs/kafka-rest.log``. A pid file under ``$KCLI_HOME/run/`` lets ``kafka-rest-stop``
find it. Kafka must answer within 60 s at start (one clear line and exit 1 otherwise), and a port
already taken is named in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

USAGE = "USAGE: kafka-rest-start [-daemon] kafka-rest.properties"
STARTED = "Server started, listening for requests..."
log = logging.getLogger("io.confluent.kafkarest.KafkaRestMain")


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


def _wait_for_kafka(kafka: object, timeout_s: float = 60.0) -> str | None:
    """The cluster id once Kafka answers; None if it never does within ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return kafka.cluster_id()  # type: ignore[attr-defined]
        except Exception:
            time.sleep(0.5)  # retrying an unreachable cluster, not synchronising
    return None


async def _serve(props_path: Path) -> int:
    from aiohttp import web

    from kcli.daemons import PidFile, stop_on_signals
    from kcli.properties import load_properties
    from kcli.rest_proxy.app import build_app
    from kcli.rest_proxy.config import ConfigError, from_properties
    from kcli.rest_proxy.embedded import Schemas
    from kcli.rest_proxy.kafka import Kafka
    from kcli.rest_proxy.route_support import Proxy
    from kcli.rest_proxy.v2_consumers import Instances, expire

    try:
        cfg = from_properties(load_properties(props_path))
    except ConfigError as exc:
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    log.info(
        "Starting the kcli REST Proxy (Kafka %s, schema registry %s)", cfg.bootstrap, cfg.schema_registry_url
    )
    kafka = Kafka(cfg)
    cluster_id = await asyncio.to_thread(_wait_for_kafka, kafka)
    if cluster_id is None:
        print(f"ERROR: the REST Proxy cannot reach Kafka at {cfg.bootstrap}", file=sys.stderr, flush=True)
        kafka.close()
        return 1
    state = Proxy(cfg, kafka, Schemas(cfg.schema_registry_url), Instances())
    app = build_app(state)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port)
    try:
        await site.start()
    except OSError as exc:
        print(f"ERROR: cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}", file=sys.stderr, flush=True)
        await runner.cleanup()
        kafka.close()
        return 1
    pid_file = PidFile(f"kafka-rest-{os.getpid()}")
    pid_file.write()
    stop = stop_on_signals()
    sweeper = asyncio.create_task(expire(app))
    log.info("Cluster %s, listening on http://%s:%d", cluster_id, cfg.host, cfg.port)
    log.info(STARTED)
    try:
        await stop.wait()
    finally:
        log.info("Shutting down")
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await runner.cleanup()
        await asyncio.to_thread(state.consumers.close_all)
        await asyncio.to_thread(kafka.close)
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
        from kcli.daemons import detach
        from kcli.paths import logs_dir

        pid = detach("kcli.rest_proxy.start", [str(path.resolve())], "kafka-rest.log")
        print(f"kafka-rest started in the background (pid {pid}), logging to {logs_dir() / 'kafka-rest.log'}")
        return 0
    _setup_logging()
    try:
        return asyncio.run(_serve(path))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
