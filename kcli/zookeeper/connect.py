"""ZooKeeper's addressing as kcli's coordination service uses it: connect strings
(``host:port[,host:port...][/chroot]``, as ``zookeeper.connect``) and znode paths.

The service's wire format is :mod:`kcli.protocol.json_lines`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PORT = 2181
START_HINT = "zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties"


@dataclass(frozen=True)
class ConnectString:
    """``host:port[,host:port...][/chroot]`` as in ``zookeeper.connect``."""

    hosts: tuple[tuple[str, int], ...]
    chroot: str

    @property
    def display(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in self.hosts) + self.chroot


def parse_connect(value: str) -> ConnectString:
    """Parse a connect string; a host without a port gets ZooKeeper's 2181."""
    value = value.strip()
    hosts_part, slash, chroot = value.partition("/")
    chroot = ("/" + chroot).rstrip("/") if slash else ""
    hosts: list[tuple[str, int]] = []
    for item in (h.strip() for h in hosts_part.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(DEFAULT_PORT)
        if not port.isdigit():
            raise ValueError(f"Invalid ZooKeeper address '{item}': expected host:port")
        hosts.append((host.strip("[]") or "localhost", int(port)))
    if not hosts:
        raise ValueError(f"Invalid ZooKeeper connect string '{value}': expected host:port")
    return ConnectString(tuple(hosts), chroot)


def normalize_path(path: str) -> str:
    """``/a//b/`` -> ``/a/b``; paths must be absolute, as in ZooKeeper."""
    if not path.startswith("/"):
        raise ValueError(f"Path must start with / character: {path}")
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts)
