"""The Kafka source's clients: one AdminClient, short-lived consumers, what the metadata says of the brokers.

The first layer of :class:`kcli.cluster_view.kafka.KafkaSource`: it owns every confluent-kafka client and
the state learnt from metadata answers (live and down brokers, who answered, bootstrap addresses
that do not answer), which the status bar and the probe read. The layers above ask the cluster
through :meth:`KafkaClients._metadata` and :meth:`KafkaClients._wait`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from kcli.cluster_view.bootstrap import bootstrap_addresses, client_conf, same_address, tcp_answers
from kcli.cluster_view.model import (
    ConnectionInfo,
)
from kcli.cluster_view.source import (
    KafkaDataError,
    error_text,
)


class KafkaClients:
    """The clients of one cluster and what its metadata said last (see :class:`kcli.cluster_view.kafka.KafkaSource`)."""

    def __init__(
        self,
        bootstrap: str,
        command_config: str | None = None,
        timeout_s: float = 5.0,
        conf: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        if conf is None:
            conf, extra = client_conf(bootstrap, command_config)
        else:
            extra = {}
        self.conf = conf
        self.extra = extra
        self._admin: Any = None
        self._group_admin: Any = None
        self._producer: Any = None
        self._sizes_retry_at = 0.0
        self._brokers: dict[int, tuple[str, int]] = {}
        self._connection = ConnectionInfo()
        self._bootstrap_checked: dict[tuple[str, int], tuple[float, bool]] = {}
        #: groups seen in an earlier listing: kept (with an error) while a broker cannot list its own
        self._known_groups: set[str] = set()
        self._simple: dict[str, bool] = {}

    # -- clients ---------------------------------------------------------------------------

    @property
    def admin(self) -> Any:
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient(self._base_conf())
        return self._admin

    @property
    def group_admin(self) -> Any:
        """The AdminClient for group calls on secured listeners (see :meth:`reset_group_admin`)."""
        if self._group_admin is None:
            from confluent_kafka.admin import AdminClient

            self._group_admin = AdminClient(self._base_conf())
        return self._group_admin

    def reset_group_admin(self) -> None:
        """Forget the group AdminClient: librdkafka keeps a coordinator it was told is wrong for as
        long as it is used, so after such an answer only a new client asks again."""
        self._group_admin = None

    def _base_conf(self) -> dict[str, Any]:
        conf = dict(self.conf)
        conf.setdefault("socket.timeout.ms", int(self.timeout_s * 1000))
        # librdkafka retries a lost broker after 100 ms doubling up to this: keep it short, so a
        # broker that comes back is used within a second (the default maximum is 10 s).
        conf.setdefault("reconnect.backoff.max.ms", 1000)
        if "logger" not in conf:
            conf.setdefault("log_level", 0)
        return conf

    def _consumer(self) -> Any:
        from confluent_kafka import Consumer

        conf = self._base_conf()
        conf.update(
            {
                "group.id": f"kcli-tui-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": False,
                "fetch.wait.max.ms": 100,
            }
        )
        return Consumer(conf)

    def _wait(self, future: Any) -> Any:
        try:
            return future.result(timeout=self.timeout_s + 1.0)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc

    # -- reaching the cluster ----------------------------------------------------------------

    def _metadata(self, topic: str | None = None) -> Any:
        try:
            md = self.admin.list_topics(topic=topic, timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(f"no broker answers ({self.bootstrap}): {error_text(exc)}", True) from exc
        self._learn(md, full=topic is None)
        return md

    def _learn(self, md: Any, full: bool) -> None:
        """Remember the live brokers and who answered, for the status bar and the group reader."""
        self._brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
        name = str(getattr(md, "orig_broker_name", "") or "")
        answered = None
        if name:
            address, _, broker = name.rpartition("/")
            answered = f"broker {broker} at {address}" if broker.isdigit() else name
        replicas = {r for t in md.topics.values() for p in t.partitions.values() for r in p.replicas}
        if full:
            down = set(replicas - set(md.brokers))
        else:  # one topic's metadata: keep what the last full one said, less brokers back since
            down = (set(self._connection.down) | replicas) - set(md.brokers)
        self._connection = ConnectionInfo(
            answered_by=answered,
            cluster_id=getattr(md, "cluster_id", None),
            live=tuple(sorted(md.brokers)),
            down=tuple(sorted(down)),
            bootstrap_down=self._bootstrap_down(),
        )

    def _bootstrap_down(self) -> tuple[str, ...]:
        """Bootstrap addresses that are not a live broker and do not accept a connection."""
        out = []
        now = time.monotonic()
        for address in bootstrap_addresses(self.bootstrap):
            if any(same_address(address, live) for live in self._brokers.values()):
                continue
            checked = self._bootstrap_checked.get(address)
            if checked is None or now - checked[0] > 5.0:
                checked = (now, tcp_answers(*address, min(0.5, self.timeout_s)))
                self._bootstrap_checked[address] = checked
            if not checked[1]:
                out.append(f"{address[0]}:{address[1]}")
        return tuple(out)

    def connection(self) -> ConnectionInfo:
        return self._connection

    def probe(self) -> str | None:
        """The first known broker address that accepts a TCP connection now, or None.

        Used while the cluster is unreachable: a connect costs nothing next to a metadata request
        that waits for its timeout, so the app can retry as soon as any broker is back.
        """
        addresses = list(bootstrap_addresses(self.bootstrap))
        addresses += [a for a in self._brokers.values() if not any(same_address(a, b) for b in addresses)]
        for host, port in addresses:
            if tcp_answers(host, port, 0.5):
                return f"{host}:{port}"
        return None

    def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.flush(1.0)
        self._producer = None
        self._admin = None
        self._group_admin = None
