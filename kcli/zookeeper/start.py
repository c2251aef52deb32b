"""``zookeeper-server-start [-daemon] zookeeper.properties``: the coordination service of ZooKeeper mode.

Reads ``clientPort``, ``clientPortAddress`` and ``dataDir`` (the keys of the ``zookeeper.properties``
Kafka ships), logs in ZooKeeper's style and writes ``$KCLI_HOME/run/zookeeper-<port>.pid`` so
``zookeeper-server-stop`` and ``kcli local`` find it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sys
from pathlib import Path

USAGE = "Usage: zookeeper-server-start [-daemon] zookeeper.properties"
log = logging.getLogger("org.apache.zookeeper.server.ServerCnxnFactory")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    daemon = bool(args) and args[0] == "-daemon"
    if daemon:
        args = args[1:]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 1
    from kcli.properties import load_properties

    path = args[0]
    try:
        settings = load_properties(path)
    except OSError as exc:
        print(
            f"Invalid config, exiting abnormally: cannot read {path}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    try:
        port = int(settings.get("clientPort", "2181").strip())
        tick_ms = int(settings.get("tickTime", "3000").strip())
    except ValueError as exc:
        print(f"Invalid config, exiting abnormally: {exc}", file=sys.stderr)
        return 1
    host = settings.get("clientPortAddress", "").strip() or "0.0.0.0"
    data_dir = Path(settings.get("dataDir", "/tmp/zookeeper").strip()).expanduser()
    if daemon:
        return _detach(path)
    from kcli.server.base.logging_setup import setup_logging

    setup_logging()
    logging.getLogger("org.apache.zookeeper.server.quorum.QuorumPeerConfig").info(
        "Reading configuration from: %s", path
    )
    # ZooKeeper's maximum session timeout is 20 ticks; a broker's default 18 s fits in it.
    return run(
        host, port, data_dir, session_timeout_s=20 * tick_ms / 1000, min_session_timeout_s=2 * tick_ms / 1000
    )


def run(
    host: str, port: int, data_dir: Path, session_timeout_s: float = 60.0, min_session_timeout_s: float = 6.0
) -> int:
    from kcli.daemons import PidFile, stop_on_signals
    from kcli.zookeeper.service import CoordinationService, serve

    service = CoordinationService(
        data_dir, session_timeout_s=session_timeout_s, min_session_timeout_s=min_session_timeout_s
    )
    pid = PidFile(f"zookeeper-{port}")

    async def body() -> None:
        stop = stop_on_signals()
        ready = asyncio.Event()
        log.info("binding to port %s/%s:%d", host, host, port)
        task = asyncio.create_task(serve(service, host, port, ready=ready, stop=stop))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiter.cancel()
            task.result()  # raises the bind error
        pid.write()
        logging.getLogger("org.apache.zookeeper.server.ZooKeeperServer").info(
            "ZooKeeper (kcli coordination service) started, snapshot dir %s, clientPort %d", data_dir, port
        )
        try:
            await task
        finally:
            logging.getLogger("org.apache.zookeeper.server.ZooKeeperServer").info("shutting down")

    try:
        asyncio.run(body())
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            log.error(
                "Unable to start ZooKeeper: port %d is already in use (is ZooKeeper already running? "
                "stop it with zookeeper-server-stop)",
                port,
            )
        else:
            log.error("Unable to start ZooKeeper on %s:%d: %s", host, port, exc.strerror or exc)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        pid.remove()
    return 0


def _detach(path: str) -> int:
    """Run in the background, logging to ``$KCLI_HOME/logs/zookeeper.out`` as ZooKeeper's script does."""
    from kcli.daemons import detach

    detach("kcli.zookeeper.start", [path], "zookeeper.out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
