"""Unit tests: the broker's packages import only downward, in the order docs/architecture.md draws (issue 17).

``LAYERS`` is the DAG of "The broker's layers", bottom first; a package may import the packages
of the layers before its own. A new package of the broker must be placed in it, and an import
that points up a layer fails here with the files that make it, before it can grow into a cycle.
"""

from __future__ import annotations

from tests.test_import_cycles import ROOT, cycles  # scripts/import_cycles.py, loaded once

#: Bottom first; each entry is one layer (a package imports only the ones before it).
LAYERS = (
    "kcli.server.protocol",
    "kcli.server.storage",
    "kcli.server.base",
    "kcli.server.security",
    "kcli.server.cluster",
    "kcli.zookeeper",
    "kcli.server.state",
    "kcli.server.coordinator",
    "kcli.server.transaction",
    "kcli.server.apis",
    "kcli.server.authorization",
    "kcli.server",
)


def _broker(package: str) -> bool:
    return package.startswith(("kcli.server", "kcli.zookeeper"))


def test_every_broker_package_has_a_layer() -> None:
    marked = {cycles.module_name(p, ROOT) for p in (ROOT / "kcli").rglob("__init__.py")}
    packages = {cycles.package_of(m, marked) for m in cycles.import_graph(ROOT)}  # with namespace ones
    assert sorted(p for p in packages if _broker(p) and p not in LAYERS) == []
    assert sorted(p for p in LAYERS if p not in packages) == []


def test_the_broker_imports_only_downward() -> None:
    graph = cycles.import_graph(ROOT)
    packages = {cycles.module_name(p, ROOT) for p in (ROOT / "kcli").rglob("__init__.py")}
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if (src := cycles.package_of(module, packages)) in rank
        and (dst := cycles.package_of(target, packages)) in rank
        and rank[dst] > rank[src]
    )
    assert upward == [], "imports up the broker's layers (docs/architecture.md): " + "; ".join(upward)


#: Where the client half (and the other processes beside the broker) use broker code, and why;
#: everything else meets the broker only at the Kafka protocol (``kcli/protocol/``).
SHARED_WITH_THE_BROKER = {
    ("kcli.connect.runtime", "kcli.server.base.logging_setup"): "Kafka's log layout, shared by its processes",
    ("kcli.streams.app", "kcli.server.base.logging_setup"): "Kafka's log layout, shared by its processes",
    ("kcli.local.secure", "kcli.server.security.certificates"): "kcli local --secure seeds a broker's files",
    ("kcli.local.secure", "kcli.server.security.scram"): "kcli local --secure seeds a broker's SCRAM users",
    ("kcli.local.secure", "kcli.server.security.store"): "kcli local --secure seeds a broker's SCRAM users",
    (
        "kcli.schema_registry.security",
        "kcli.server.base.config",
    ): "the registry is a server (its ConfigError)",
    (
        "kcli.schema_registry.security",
        "kcli.server.security.jaas",
    ): "the registry's JAAS file, as the broker's",
    (
        "kcli.schema_registry.security",
        "kcli.server.security.tls",
    ): "the registry's HTTPS, as the broker's TLS",
    ("kcli.tools.cli", "kcli.zookeeper.resolve"): "--zookeeper asks the coordination node for the brokers",
    ("kcli.tools.dump_log", "kcli.server.transaction.log_format"): "dump-log decodes __transaction_state",
    (
        "kcli.tools.reassign_partitions",
        "kcli.server.cluster.placement",
    ): "--generate places as the controller",
}


def test_the_client_half_meets_the_broker_at_the_protocol() -> None:
    """Outside the broker, a module imports broker code only where SHARED_WITH_THE_BROKER says why
    (``python -m kcli.server.start``, the launchers' command line, is a process, not an import)."""
    graph = cycles.import_graph(ROOT)
    uses = {
        (module, target)
        for module, targets in graph.items()
        if not _broker(module)
        for target in targets
        if _broker(target) and target != "kcli.server.start"
    }
    assert sorted(uses - SHARED_WITH_THE_BROKER.keys()) == []
    assert sorted(SHARED_WITH_THE_BROKER.keys() - uses) == []  # a use that went away leaves the list
