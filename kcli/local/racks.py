"""``kcli local start --brokers N --racks a,b,c``: racks for the replication lab.

Each broker gets ``broker.rack`` round robin over the list (broker 0 in the first rack, broker 1
in the second, ..., wrapping around), so the controller spreads every partition's replicas over
the racks as Kafka's rack-aware placement does, and ``replica.selector.class`` is Kafka's
RackAwareReplicaSelector, so a consumer with ``client.rack`` reads from a replica in its own rack
(KIP-392 follower fetching). ``kcli local status`` shows each broker's rack, read back from the
properties file the broker runs with (so a broker restarted with ``--broker N`` keeps it).
"""

from __future__ import annotations

import re
from pathlib import Path

from kcli.properties import load_properties

#: Kafka's selector class, as the broker knows it (kcli.server.base.replica_selector.RACK_AWARE);
#: spelt out here so ``kcli local`` stays a launcher that imports nothing of the broker.
RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

_RACK_NAME = re.compile(r"[A-Za-z0-9._-]+")


def parse_racks(text: str | None, brokers: int) -> list[str] | None:
    """The racks of ``--racks`` (None without it); a ValueError with one line when unusable."""
    if text is None:
        return None
    racks = [r.strip() for r in text.split(",")]
    bad = next((r for r in racks if not _RACK_NAME.fullmatch(r)), None)
    if bad is not None:
        what = "an empty rack name" if not bad else f"rack name {bad!r}"
        raise ValueError(f"--racks {text}: {what} (use letters, digits, '.', '_' or '-', comma-separated)")
    if len(set(racks)) != len(racks):
        raise ValueError(
            f"--racks {text}: each rack is named once (brokers are spread over them round robin)"
        )
    if len(racks) > brokers:
        raise ValueError(
            f"--racks {text}: {len(racks)} racks for {brokers} broker{'s' if brokers > 1 else ''}: "
            "every rack needs at least one broker (start more with --brokers N)"
        )
    return racks


def rack_of_broker(racks: list[str], index: int) -> str:
    """Round robin: broker ``index`` (0-based) is in ``racks[index % len(racks)]``."""
    return racks[index % len(racks)]


def with_rack(properties: str, racks: list[str] | None, index: int) -> str:
    """A broker's properties text with its ``broker.rack`` and the rack-aware replica selector."""
    if not racks:
        return properties
    rack = rack_of_broker(racks, index)
    return properties + f"broker.rack={rack}\nreplica.selector.class={RACK_AWARE}\n"


def rack_in(config: Path) -> str | None:
    """The ``broker.rack`` of a properties file (None: none, or the file is gone)."""
    try:
        return load_properties(config).get("broker.rack") or None
    except OSError:
        return None
