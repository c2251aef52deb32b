"""``kcli local start|status|stop|restart|destroy``: the whole stack in the background with one command.

Like ``confluent local services start``: a single-node KRaft broker (and optionally the schema
registry) with data and logs under ``$KCLI_HOME/local``; ``--brokers N`` starts a KRaft cluster
instead, one controller node and N broker nodes on consecutive ports, replicating by default. What runs is recorded in
``$KCLI_HOME/run/local.json`` (service -> pid, port, config, log), so ``status``/``stop`` need no
guessing and a pid file left behind by a crash is recognised as stale rather than trusted.

``start|stop|restart --broker N`` acts on broker N alone (its ``node.id``), for the replication lab
(``--controllers 3`` lays out a Raft quorum of controllers 100, 101, 102, and ``--broker 101``
stops or starts one of them - kill the active controller and watch another take over):
``kill -9`` the leader, watch the ISR shrink, then ``kcli local start --broker 2`` brings it back
with the same configuration and data. Status stays true to the processes: a broker restarted by
hand (``kafka-server-start $KCLI_HOME/local/etc/server-2.properties``) is found through the pid
file every broker writes for its port, shown UP with its new pid, and stopped by ``kcli local
stop`` like the others, so nothing is left behind.

The package: :mod:`kcli.local.services` (processes and their record), :mod:`kcli.local.configs`
(the properties files), :mod:`kcli.local.lifecycle` (start, stop, one node), :mod:`kcli.local.snapshots`
(snapshot, restore, reset), :mod:`kcli.local.racks` (``--racks``), :mod:`kcli.local.secure` (``--secure``).
This module names what ``kcli local`` offers its callers (``kcli.cli.main``, ``kcli confluent local``, the TUI).
"""

from __future__ import annotations

from kcli.local.lifecycle import (
    destroy,
    kill_broker,
    restart,
    start,
    start_broker,
    status,
    stop,
    stop_broker,
)
from kcli.local.services import LocalError, Service, load_state
from kcli.local.snapshots import reset, restore, snapshot

__all__ = [
    "LocalError",
    "Service",
    "destroy",
    "kill_broker",
    "load_state",
    "reset",
    "restart",
    "restore",
    "snapshot",
    "start",
    "start_broker",
    "status",
    "stop",
    "stop_broker",
]
