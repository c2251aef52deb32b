"""Building the tools' Kafka clients: settings from the command line, quiet logging, fast failure.

A tool's Java-style settings (files, ``--*-property`` items, ``--bootstrap-server``) are read here
(:func:`client_settings`) and translated by :mod:`kcli.java_settings`. Before building its client
every tool calls :func:`prepare`: it prints the translation's notes, waits for a broker to accept
connections within Kafka's own timeout (``default.api.timeout.ms``, or ``max.block.ms`` for
producers) so that a lab script may start the broker and a tool in one breath, and, when the
configuration asks for TLS or SASL, checks that the listener speaks it. :func:`build` turns
librdkafka's complaints into one line naming the key.

Nothing here imports confluent_kafka at module level, so that option parsing stays fast.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable
from typing import Any, Literal

from kcli.cli_errors import ToolError
from kcli.java_settings import (
    DEFAULT_API_TIMEOUT_MS,
    DEFAULT_MAX_BLOCK_MS,
    ClientConfig,
    Role,
    int_setting,
    translate,
)
from kcli.properties import load_properties


def load_config_file(path: str) -> dict[str, str]:
    """A ``.properties`` file; an unreadable file is a :class:`ToolError` naming it."""
    try:
        return load_properties(path)
    except FileNotFoundError:
        raise ToolError(f"{path} (No such file or directory)") from None
    except OSError as exc:
        raise ToolError(f"{path} ({exc.strerror or exc})") from None


def client_config(
    bootstrap: str | None,
    config_file: str | None,
    properties: Iterable[str] | dict[str, str] | None,
    role: Role,
) -> dict[str, Any]:
    """The librdkafka configuration for a tool: file, then ``k=v`` properties, then bootstrap.

    Later sources win, as in Kafka's tools (``--producer-property`` over ``--producer.config``).
    Java-only keys are dropped; use :func:`client_settings` to see them.
    """
    return client_settings(bootstrap, config_file, properties, role).conf


def client_settings(
    bootstrap: str | None,
    config_file: str | None,
    properties: Iterable[str] | dict[str, str] | None,
    role: Role,
) -> ClientConfig:
    """Like :func:`client_config` but also returns the Java-only settings for the tool to use."""
    from kcli.properties import parse_key_values

    java: dict[str, str] = {}
    if config_file:
        java.update(load_config_file(config_file))
    if isinstance(properties, dict):
        java.update(properties)
    else:
        java.update(parse_key_values(list(properties or ()), f"{role} property"))
    if bootstrap:
        java["bootstrap.servers"] = bootstrap
    if not java.get("bootstrap.servers"):
        raise ToolError("bootstrap.servers is not set: use --bootstrap-server HOST:PORT")
    result = translate(java, role)
    result.conf.update(quiet_settings())
    return result


# ---------------------------------------------------------------------------------------------
# Building clients: quiet logging, one-line errors, fast failure when nothing listens.


class _SilentLogger:
    """A ``logging.Logger`` look-alike for librdkafka's ``logger`` setting that discards everything."""

    def log(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return self.log


def quiet_settings() -> dict[str, Any]:
    """Settings that stop librdkafka from printing its own warnings to stderr."""
    return {"log_level": 0, "logger": _SilentLogger()}


def split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """``h1:9092,PLAINTEXT://h2:9093,[::1]:9092`` -> [(host, port)]."""
    out: list[tuple[str, int]] = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        if "://" in item:
            item = item.split("://", 1)[1]
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, "9092"
        host = host.strip("[]") or "localhost"
        try:
            out.append((host, int(port)))
        except ValueError:
            raise ToolError(f"Invalid url in bootstrap.servers: {item}") from None
    return out


def unreachable_message(bootstrap: str) -> str:
    return (
        f"Could not connect to any Kafka broker at {bootstrap}: "
        "connection refused or timed out. Is the broker running (kafka-server-start / kcli local start)?"
    )


#: Java's ``reconnect.backoff.ms`` and ``reconnect.backoff.max.ms``: the retry pace while waiting.
RECONNECT_BACKOFF_S = 0.05
RECONNECT_BACKOFF_MAX_S = 1.0


def broker_timeout(settings: ClientConfig, role: Role) -> tuple[int, str]:
    """(milliseconds, setting name): how long a Java client of ``role`` waits for a broker.

    A producer blocks in ``send()`` for its first metadata up to ``max.block.ms``; consumers and the
    admin client give each call ``default.api.timeout.ms``. Both default to 60 s.
    """
    key, default = (
        ("max.block.ms", DEFAULT_MAX_BLOCK_MS)
        if role == "producer"
        else (
            "default.api.timeout.ms",
            DEFAULT_API_TIMEOUT_MS,
        )
    )
    value = settings.java_only.get(key)
    return (int_setting(key, value) if value is not None else default), key


def check_reachable(bootstrap: str, timeout_s: float = 5.0) -> tuple[str, int]:
    """One pass over the bootstrap servers: the first that accepts TCP, or a one-line ToolError.

    For the ``confluent`` command, which answers at once as Confluent's CLI does; Kafka's tools,
    Connect and the Streams apps wait for a starting broker with :func:`wait_for_broker` instead.
    """
    addresses = split_bootstrap(bootstrap)
    if not addresses:
        raise ToolError("bootstrap.servers is empty: use --bootstrap-server HOST:PORT")
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return host, port
        except OSError:
            continue
    raise ToolError(unreachable_message(bootstrap))


def wait_for_broker(
    bootstrap: str, timeout_s: float = DEFAULT_API_TIMEOUT_MS / 1000, setting: str = "default.api.timeout.ms"
) -> tuple[str, int]:
    """Wait, within ``timeout_s``, until a bootstrap server accepts TCP; returns its (host, port).

    Java's clients keep retrying an unreachable bootstrap server until their timeout, so a lab
    script may run ``kafka-server-start -daemon ...; kafka-topics --create ...`` and the tool simply
    waits for the broker; kcli does the same, saying so once on stderr, with Java's backoff (50 ms
    doubling to 1 s). When the time is up the failure is one line naming the address. An address
    that does not resolve fails at once, as Java's ``ClientUtils`` does. This is only a TCP connect
    to the address the client will use, so it works for every security protocol.
    """
    import sys
    import time

    addresses = split_bootstrap(bootstrap)
    if not addresses:
        raise ToolError("bootstrap.servers is empty: use --bootstrap-server HOST:PORT")
    resolvable = []
    for host, port in addresses:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            resolvable.append((host, port))
        except (OSError, UnicodeError):
            continue
    if not resolvable:
        raise ToolError(f"No resolvable bootstrap urls given in bootstrap.servers: {bootstrap}")
    deadline = time.monotonic() + timeout_s
    backoff = RECONNECT_BACKOFF_S
    said = False
    while True:
        for host, port in resolvable:
            remaining = deadline - time.monotonic()
            try:
                with socket.create_connection((host, port), timeout=max(0.1, min(remaining, 10.0))):
                    return host, port
            except OSError:
                continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ToolError(unreachable_message(bootstrap))
        if not said:
            said = True
            print(
                f"WARN Connection to {bootstrap} could not be established. Broker may not be available: "
                f"retrying for up to {round(timeout_s * 1000)} ms ({setting}).",
                file=sys.stderr,
                flush=True,
            )
        time.sleep(min(backoff, remaining))  # the reconnect backoff, as Java's NetworkClient
        backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_S)


def prepare(settings: ClientConfig, role: Role) -> None:
    """What every tool does before it builds its client (see the module docstring)."""
    import sys

    for note in settings.notes:
        print(note, file=sys.stderr)
    timeout_ms, setting = broker_timeout(settings, role)
    bootstrap = str(settings.conf.get("bootstrap.servers", ""))
    host, port = wait_for_broker(bootstrap, timeout_ms / 1000, setting)
    protocol = str(settings.conf.get("security.protocol", "PLAINTEXT")).upper()
    if protocol != "PLAINTEXT":
        from kcli.protocol.listener_probe import protocol_mismatch

        mismatch = protocol_mismatch(
            host, port, protocol, str(settings.conf.get("sasl.mechanisms", "GSSAPI"))
        )
        if mismatch:
            raise ToolError(mismatch)


def build(kind: Literal["producer", "consumer", "admin"], conf: dict[str, Any]) -> Any:
    """Construct a confluent-kafka client, turning configuration errors into one-line ToolErrors."""
    from confluent_kafka import KafkaException

    try:
        if kind == "producer":
            from confluent_kafka import Producer

            return Producer(conf)
        if kind == "consumer":
            from confluent_kafka import Consumer

            return Consumer(conf)
        from confluent_kafka.admin import AdminClient

        return AdminClient(conf)
    except (KafkaException, ValueError, TypeError) as exc:
        raise ToolError(config_error_message(exc)) from None


def config_error_message(exc: BaseException) -> str:
    """librdkafka's configuration complaint as one line naming the offending key."""
    text = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
    match = re.search(r'No such configuration property: "([^"]+)"', text)
    if match:
        return f"Unknown configuration property '{match.group(1)}' (not a Kafka client setting kcli knows)"
    match = re.search(r'Invalid value "([^"]*)" for configuration property "([^"]+)"', text)
    if match:
        return f"Invalid value {match.group(1)} for configuration {match.group(2)}"
    return f"Invalid client configuration: {text}"


def kafka_error_text(exc: BaseException) -> str:
    """The human part of a KafkaException/KafkaError (``str()`` of those is a repr-like blob)."""
    err = exc.args[0] if exc.args else exc
    if hasattr(err, "str"):
        return str(err.str())
    return str(exc)


def wait(future: Any, timeout_s: float) -> Any:
    """Result of an admin future within ``timeout_s``; a timeout is a one-line ToolError."""
    import concurrent.futures

    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise ToolError(f"Timed out after {timeout_s:g} s waiting for the broker") from None
