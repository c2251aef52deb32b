"""``max.connections``, ``max.connections.per.ip`` and their overrides, as Kafka's ConnectionQuotas.

Kafka's acceptor treats the two limits differently, and so does this broker:

* over ``max.connections.per.ip`` (or a ``max.connections.per.ip.overrides`` entry), the new
  connection is accepted and closed at once, logged as "Rejected connection from /IP, address
  already has the configured maximum of N connections.";
* at ``max.connections`` (broker-wide) or a listener's ``listener.name.X.max.connections``, the
  acceptor stops accepting until a connection closes: new connections wait in the listen backlog
  (``socket.listen.backlog.size``) instead of being refused. The inter-broker listener is exempt
  from the broker-wide limit when there are several listeners, so replication keeps working.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

log = logging.getLogger("kafka.network.ConnectionQuotas")

UNLIMITED = 2**31 - 1


class TooManyConnections(Exception):
    def __init__(self, ip: str, count: int):
        super().__init__(
            f"Rejected connection from /{ip}, address already has the configured maximum of {count} connections."
        )


class ConnectionQuotas:
    def __init__(
        self,
        max_connections: int = UNLIMITED,
        max_per_ip: int = UNLIMITED,
        per_ip_overrides: dict[str, int] | None = None,
        per_listener: dict[str, int] | None = None,
        inter_broker_listener: str | None = None,
    ):
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        self.per_ip_overrides = dict(per_ip_overrides or {})
        self.per_listener = dict(per_listener or {})
        self.inter_broker_listener = inter_broker_listener
        self.total = 0
        self.by_ip: Counter[str] = Counter()
        self.by_listener: Counter[str] = Counter()
        self.listeners: set[str] = set()
        self._blocked: dict[str, Callable[[], None]] = {}

    def _protected(self, listener: str) -> bool:
        return listener == self.inter_broker_listener and len(self.listeners) > 1

    def slot_available(self, listener: str) -> bool:
        if self.by_listener[listener] >= self.per_listener.get(listener, UNLIMITED):
            return False
        return self._protected(listener) or self.total < self.max_connections

    def block(self, listener: str, resume: Callable[[], None]) -> None:
        """``listener`` stopped accepting at its limit: call ``resume`` once it has a slot again."""
        if listener not in self._blocked:
            log.info(
                "Listener %s reached its connection limit (max.connections=%d, %d open): new "
                "connections wait in the listen backlog until one closes",
                listener,
                min(self.max_connections, self.per_listener.get(listener, UNLIMITED)),
                self.total,
            )
        self._blocked[listener] = resume

    def inc(self, listener: str, ip: str) -> None:
        """Count a new connection; raises TooManyConnections (counted anyway: call dec) over its IP's limit."""
        count = self.by_ip[ip]
        self.by_ip[ip] = count + 1
        self.by_listener[listener] += 1
        self.total += 1
        limit = self.per_ip_overrides.get(ip, self.max_per_ip)
        if count >= limit:
            raise TooManyConnections(ip, limit)

    def dec(self, listener: str, ip: str) -> None:
        self.by_ip[ip] -= 1
        if self.by_ip[ip] <= 0:
            del self.by_ip[ip]
        self.by_listener[listener] -= 1
        self.total -= 1
        for name in [n for n in self._blocked if self.slot_available(n)]:
            self._blocked.pop(name)()
