"""``kafka-server-start [-daemon] server.properties [--override key=value]...``

Runs the broker in the foreground, logging to stdout as Kafka does; ``-daemon`` detaches it and
logs to ``$KCLI_HOME/logs/server.log`` (Kafka's ``logs/server.log``).
"""

from __future__ import annotations

import sys

USAGE = "USAGE: kafka-server-start [-daemon] server.properties [--override property=value]*"


def parse_args(argv: list[str]) -> tuple[bool, str, list[str]] | str:
    """(daemon, properties file, overrides), or an error message."""
    daemon = False
    args = list(argv)
    if args and args[0] == "-daemon":
        daemon = True
        args = args[1:]
    if not args or "--help" in args or args[0] == "-h":
        return "help"
    if "--version" in args:  # as Kafka.scala: printed before the properties file is looked at
        return "version"
    path, rest = args[0], args[1:]
    overrides: list[str] = []
    while rest:
        opt = rest.pop(0)
        if opt == "--override" and rest:
            overrides.append(rest.pop(0))
        elif opt.startswith("--override="):
            overrides.append(opt.split("=", 1)[1])
        else:
            return f"Found non argument parameters: {opt}"
    return daemon, path, overrides


def main(argv: list[str] | None = None) -> int:
    parsed = parse_args(sys.argv[1:] if argv is None else argv)
    if parsed == "help":
        print(USAGE, file=sys.stderr)
        return 1
    if parsed == "version":
        from kcli.versions import kafka_version

        print(kafka_version())
        return 0
    if isinstance(parsed, str):
        print(parsed, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 1
    daemon, path, overrides = parsed
    # kio registers property-testing strategies whenever hypothesis is importable, which costs the
    # broker about 0.3 s of start-up; the broker process never needs them.
    sys.modules.setdefault("hypothesis", None)  # type: ignore[arg-type]
    from kcli.server.base.config import BrokerConfig, ConfigError

    try:
        config = BrokerConfig.load(path, overrides)
        if "broker" in config.process_roles or not config.process_roles:
            # TLS stores, JAAS logins, the authorizer: read before anything listens, so a bad
            # security setting stops the start with one line naming it.
            from kcli.server.daemon import controller_address
            from kcli.server.security.setup import resolve

            config.security = resolve(config, cluster=controller_address(config) is not None)
    except ConfigError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    if daemon:
        return _detach(path, overrides)
    from kcli.server.base.logging_setup import setup_logging
    from kcli.server.daemon import run

    setup_logging()
    try:
        return run(config)
    except KeyboardInterrupt:
        return 0
    except ConfigError as exc:  # a topology this broker cannot run, found while starting
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        import logging

        logging.getLogger("kafka.server.KafkaServer").error("Fatal error during KafkaServer startup: %s", exc)
        return 1


def _detach(path: str, overrides: list[str]) -> int:
    from kcli.daemons import detach

    args = [path]
    for item in overrides:
        args += ["--override", item]
    detach("kcli.server.start", args, "server.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
