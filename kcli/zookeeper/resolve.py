"""``--zookeeper HOST:2181`` -> the brokers registered there, for tools removed from Kafka 3.0.

Lectures written before 2022 type ``kafka-topics --list --zookeeper localhost:2181``; kcli asks the
coordination service which brokers registered and talks to them over the Kafka protocol.
"""

from __future__ import annotations

from kcli.zookeeper.client import NotListening, RequestFailed, SyncClient
from kcli.zookeeper.connect import START_HINT, parse_connect
from kcli.zookeeper.registration import ZooKeeperUnavailable

__all__ = ["ZooKeeperUnavailable", "bootstrap_servers"]


def bootstrap_servers(zookeeper: str, timeout_s: float) -> str:
    """Comma-separated ``host:port`` of the live brokers; ZooKeeperUnavailable with one line if none."""
    try:
        connect = parse_connect(zookeeper)
    except ValueError as exc:
        raise ZooKeeperUnavailable(str(exc)) from None
    try:
        with SyncClient(connect, min(timeout_s, 3.0)) as client:
            brokers = client.request("brokers")["brokers"]
    except NotListening:
        raise ZooKeeperUnavailable(
            f"Nothing listens at {connect.display} (ZooKeeper is not running there): start it first with "
            f"{START_HINT}, or use --bootstrap-server localhost:9092"
        ) from None
    except (OSError, RequestFailed, KeyError, ValueError) as exc:
        raise ZooKeeperUnavailable(f"ZooKeeper at {connect.display} did not answer: {exc}") from None
    if not brokers:
        raise ZooKeeperUnavailable(
            f"No broker is registered with ZooKeeper at {connect.display}: start one with "
            "kafka-server-start $CONFLUENT_HOME/etc/kafka/server.properties"
        )
    return ",".join(f"{b['host']}:{b['port']}" for b in sorted(brokers, key=lambda b: b["id"]))
