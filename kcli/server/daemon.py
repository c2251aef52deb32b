"""Wiring of one broker process: config -> state -> socket server, signals and maintenance.

SIGTERM and SIGINT shut down cleanly: stop accepting, flush and close logs (which writes the
clean-shutdown marker so the next start skips the recovery scan). A SIGKILL loses nothing
acknowledged either, because every acknowledged batch was already written to its segment file.
Log directories the broker cannot use refuse the start with one ERROR line (no traceback), and a
failure while shutting down is reported as the shutdown's, never as a start-up error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from kcli.daemons import PidFile, stop_on_signals
from kcli.server.base.config import BrokerConfig, ConfigError
from kcli.server.network import BrokerServer
from kcli.server.state.broker import Broker
from kcli.server.storage.errors import StorageStartupError

log = logging.getLogger("kafka.server.KafkaServer")


async def _maintenance(broker: Broker) -> None:
    interval = max(broker.config.log_retention_check_interval_ms / 1000, 0.05)
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(broker.maintenance, int(time.time() * 1000))
        except Exception:
            log.exception("Log maintenance failed")


async def _isr_maintenance(broker: Broker) -> None:
    """Leaders drop followers that lag for ``replica.lag.time.max.ms`` (Kafka's default 30 s)."""
    lag_s = int(broker.config.raw.get("replica.lag.time.max.ms", "30000")) / 1000
    while True:
        await asyncio.sleep(max(lag_s / 2, 0.05))
        for partition in list(broker.partitions.values()):
            partition.shrink_lagging(lag_s)


def raise_open_file_limit() -> None:
    """Each partition keeps its active segment's three files open, as Kafka's broker does; like
    Kafka's start scripts' advice, lift the soft descriptor limit to the hard one."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass


def controller_address(config: BrokerConfig) -> tuple[tuple[str, int], str] | None:
    """Where this broker's controller is: ((host, port), chroot), or None when it is its own.

    ZooKeeper mode: the coordination service at ``zookeeper.connect`` hosts it. KRaft: a broker-only
    node uses the voter in ``controller.quorum.voters`` (or ``controller.quorum.bootstrap.servers``).
    """
    if config.zookeeper_connect and not config.kraft:
        from kcli.zookeeper.connect import parse_connect

        connect = parse_connect(config.zookeeper_connect)
        return connect.hosts[0], connect.chroot
    if "broker" in config.process_roles and "controller" not in config.process_roles:
        voters = [v.strip() for v in config.controller_quorum_voters.split(",") if v.strip()]
        if voters:
            _, _, address = voters[0].partition("@")
        else:
            address = config.raw.get("controller.quorum.bootstrap.servers", "").split(",")[0].strip()
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            raise ConfigError(
                "A broker-only node (process.roles=broker) needs controller.quorum.voters "
                "(id@host:port) or controller.quorum.bootstrap.servers (host:port)"
            )
        return (host.strip("[]") or "localhost", int(port)), ""
    return None


def controller_voters(config: BrokerConfig) -> list[tuple[str, int]]:
    """Every controller a broker-only node may find the active one among (the voters, or the
    bootstrap servers), in order."""
    from kcli.server.cluster.raft_voters import parse_voters

    if config.zookeeper_connect and not config.kraft:
        return []
    with contextlib.suppress(ValueError):
        voters = parse_voters(config.controller_quorum_voters)
        if voters:
            return list(voters.values())
    found = []
    for address in config.raw.get("controller.quorum.bootstrap.servers", "").split(","):
        host, _, port = address.strip().rpartition(":")
        if port.isdigit():
            found.append((host.strip("[]") or "localhost", int(port)))
    return found


def check_supported_topology(config: BrokerConfig) -> None:
    """Voters must parse; a controller must be one of them; a combined broker+controller node in
    a quorum of several is not built (controller-only voters are): say so clearly."""
    from kcli.server.cluster.raft_voters import configured_voters, parse_voters

    try:
        voters = parse_voters(config.controller_quorum_voters)
        if "controller" in config.process_roles and config.log_dirs:
            voters = configured_voters(config.controller_quorum_voters, config.log_dirs[0])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if "controller" in config.process_roles and len(voters) > 1:
        if config.node_id not in voters:
            raise ConfigError(
                f"node.id {config.node_id} of a controller is not in controller.quorum.voters "
                f"({config.controller_quorum_voters or 'the voter set its metadata log was formatted with'})"
            )
        if "broker" in config.process_roles:
            others = [f"{v}@{h}:{p}" for v, (h, p) in voters.items() if v != config.node_id]
            raise ConfigError(
                f"controller.quorum.voters lists other controllers ({', '.join(others)}): a combined "
                "broker+controller node in a quorum of several is not supported yet; run "
                "process.roles=controller nodes for the quorum and process.roles=broker nodes"
            )


async def serve(config: BrokerConfig) -> None:
    raise_open_file_limit()
    check_supported_topology(config)
    if config.process_roles == ("controller",):
        from kcli.server.cluster.controller_node import serve_controller

        await serve_controller(config)
        return
    tag = f"[KafkaServer id={config.node_id}]"
    log.info("%s starting", tag)
    for key in config.unknown_keys():
        log.warning("The configuration '%s' was supplied but isn't a known config.", key)
    broker = Broker(config)
    registration = None
    cluster_id = None
    if config.zookeeper_connect and not config.kraft:
        # ZooKeeper mode, as in Confluent's server.properties: the coordination service started by
        # zookeeper-server-start hands out the cluster id and lists the live brokers.
        from kcli.zookeeper.registration import ZooKeeperRegistration, ZooKeeperUnavailable

        registration = ZooKeeperRegistration(config)
        try:
            cluster_id = await registration.connect()
        except ZooKeeperUnavailable as exc:
            log.error("%s", exc)
            raise SystemExit(1) from None
    where = controller_address(config)
    link = None
    if where is not None:
        from kcli.server.cluster.link import ControllerLink, ControllerRefused, ControllerUnavailable
        from kcli.server.cluster.replica_fetcher import ReplicaFetcherManager

        link = ControllerLink(
            where[0], where[1], broker.registration(), broker, voters=controller_voters(config)
        )
        broker.cluster = link
        if cluster_id is None:
            try:
                cluster_id = await link.fetch_cluster_id()
            except ControllerUnavailable as exc:
                log.error("%s", exc)
                raise SystemExit(1) from None
    try:
        broker.load(cluster_id)
    except StorageStartupError as exc:  # damaged or inconsistent log dirs: one line, no traceback
        log.error("%s", exc)
        raise SystemExit(1) from None
    attach_security(broker, cluster=where is not None)
    attach_coordinator(broker)
    if link is not None:
        broker.fetchers = ReplicaFetcherManager(broker)
        from kcli.server.cluster.log_dir_failure import attach_log_dir_failure_handler

        attach_log_dir_failure_handler(broker)  # a failed log dir moves its leaderships elsewhere
        try:
            await link.start()
        except (ControllerUnavailable, ControllerRefused) as exc:
            log.error("%s", exc)
            await broker.fetchers.close()
            broker.close()
            raise SystemExit(1) from None
    else:  # a lone broker: its own controller, in process (set up by load)
        assert broker.cluster is not None
        await broker.cluster.start()
    server = BrokerServer(broker)
    await server.start()
    pid_files = [PidFile(f"kafka-server-{ls.port}") for ls in config.client_listeners]
    for pid_file in pid_files:
        pid_file.write()
    stop = stop_on_signals()
    maintenance = asyncio.create_task(_maintenance(broker))
    isr_task = asyncio.create_task(_isr_maintenance(broker)) if link is not None else None
    failed = False
    try:
        if registration is not None:
            try:
                await registration.register(broker.local_node())
            except Exception as exc:  # e.g. another broker already runs with this broker.id
                log.error("%s", exc)
                failed = True
                return
        log.info(
            "Kafka Server started with cluster id %s, listening on %s",
            broker.cluster_id,
            ", ".join(f"{ls.name}://{ls.bind_host}:{ls.port}" for ls in config.client_listeners),
        )
        log.info("%s started", tag)
        await stop.wait()
    finally:
        log.info("%s shutting down", tag)
        maintenance.cancel()
        if isr_task is not None:
            isr_task.cancel()
        try:
            if registration is not None:
                await registration.close()
            if link is not None:
                await link.close()  # fenced now: leaderships move before the sockets close
            elif broker.cluster is not None:
                await broker.cluster.close()
            if broker.fetchers is not None:
                await broker.fetchers.close()
            await server.close()
            if broker.coordinator is not None and hasattr(broker.coordinator, "close"):
                if getattr(broker.coordinator, "consumer", None) is not None:
                    await broker.coordinator.consumer.close()
                await broker.coordinator.close()
            if broker.transaction_coordinator is not None:
                await broker.transaction_coordinator.close()
                await broker.transaction_verifier.close()
            # Flushing every log can take a while: off the event loop, as any file work.
            await asyncio.to_thread(broker.close)
        except Exception as exc:  # e.g. a full disk: said in one line, and it is the shutdown's
            log.error("%s Fatal error during KafkaServer shutdown: %s", tag, exc)
            failed = True
        for pid_file in pid_files:
            pid_file.remove()
        log.info("%s shut down completed", tag)
        if failed:
            raise SystemExit(1)


def attach_security(broker: Broker, cluster: bool) -> None:
    """Listeners' TLS and SASL, the authorizer with its ACLs, and the SCRAM credentials."""
    from kcli.server.security.manager import SecurityManager
    from kcli.server.security.setup import resolve
    from kcli.server.security.store import SecurityStore

    settings = broker.config.security or resolve(broker.config, cluster=cluster)
    broker.security = security = SecurityManager(settings, SecurityStore.load(broker.config.log_dirs[0]))
    link = broker.cluster
    if link is not None:  # ACLs and SCRAM users are cluster metadata: the controller keeps them
        # (the broker applies them as it replays the metadata log: Broker.on_records)

        async def forward(op: str, fields: dict[str, object]) -> object:
            return await link.call(op, **fields)

        security.forward = forward


def attach_coordinator(broker: Broker) -> None:
    """Attach the group coordinators (classic and KIP-848 consumer groups), then the transaction
    coordinator."""
    from kcli.server.coordinator.group_coordinator import GroupCoordinator

    broker.coordinator = coordinator = GroupCoordinator(broker)
    broker.leadership_listeners.append(coordinator.on_leadership)
    from kcli.server.coordinator.consumer_coordinator import ConsumerGroupCoordinator

    coordinator.consumer = consumer = ConsumerGroupCoordinator(coordinator)  # KIP-848 groups
    broker.leadership_listeners.append(consumer.on_leadership)
    attach_transaction_coordinator(broker)


def attach_transaction_coordinator(broker: Broker) -> None:
    """The transaction coordinator of the ``__transaction_state`` partitions this broker leads."""
    from kcli.server.transaction.coordinator import TransactionCoordinator
    from kcli.server.transaction.verification import TransactionVerifier

    broker.transaction_coordinator = txn = TransactionCoordinator(broker)
    broker.transaction_verifier = TransactionVerifier(broker, txn)
    broker.leadership_listeners.append(txn.on_leadership)
    txn.start()


def run(config: BrokerConfig) -> int:
    asyncio.run(serve(config))
    return 0
