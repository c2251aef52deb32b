"""Count which tests start real server processes and which are unit tests (for the README).

Collects the suite (nothing runs) and classifies each test by reading source: a test starts real
processes when its own body, one of its fixtures (the whole fixture closure pytest computes), or
a function of its module or of a ``tests`` helper it calls by name refers to one of the helpers
that start a broker or a service around it (``BrokerProcess``, ``Cluster``, ``SecureBroker``,
the e2e ``Server``, the fault suite's template, ``kafka-server-start``, ``kcli local start``,
Connect, the REST Proxy...). Everything else is a unit test of pure logic (the TUI's tests with a
stand-in data source, codecs, storage classes on a temporary directory, the controller's
state machine...). Reading source one call deep is a heuristic: ``--list`` prints the
classification per module so it can be checked by eye.

Usage: ``python scripts/test_census.py [--list]``.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTS = re.compile(
    r"BrokerProcess|ServiceProcess|ZooKeeperProcess|\bCluster\(|SecureBroker|start_secure_broker"
    r"|\bServer\(|make_template|start_and_wait|kcli\.server\.start|kafka-server-start"
    r"|zookeeper-server-start|kcli\.zookeeper\.start|\"local\", \"start\"|kcli local start"
    r"|connect-standalone|connect-distributed|kafka-rest-start|schema-registry-start"
)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _starts(func: Any, depth: int = 1) -> bool:
    """Does ``func`` (or, ``depth`` calls deep, a function it names) start a server process?"""
    if STARTS.search(_source(func)):
        return True
    if depth == 0:
        return False
    code = getattr(func, "__code__", None)
    module_globals = getattr(func, "__globals__", {})
    for name in code.co_names if code is not None else ():
        target = module_globals.get(name)
        from_tests = callable(target) and getattr(target, "__module__", "").startswith("tests")
        if from_tests and _starts(target, depth - 1):
            return True
    return False


class Census:
    def __init__(self) -> None:
        self.by_module: dict[str, Counter[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            func = getattr(item, "function", None)
            real = func is not None and _starts(func)
            info = getattr(item, "_fixtureinfo", None)
            for name in getattr(item, "fixturenames", ()):
                if real:
                    break
                for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
                    if _starts(fixturedef.func):
                        real = True
                        break
            module = item.nodeid.split("::", 1)[0]
            self.by_module.setdefault(module, Counter())["real" if real else "unit"] += 1


def main(argv: list[str]) -> int:
    census = Census()
    code = pytest.main(
        ["--collect-only", "-q", "-p", "no:cacheprovider", str(ROOT / "tests")], plugins=[census]
    )
    if code not in (0, 5):
        return int(code)
    modules = census.by_module
    real_modules = [m for m, c in modules.items() if c["real"]]
    unit_modules = [m for m, c in modules.items() if not c["real"]]
    tests_real = sum(c["real"] for c in modules.values())
    tests_unit = sum(c["unit"] for c in modules.values())
    if "--list" in argv:
        for module in sorted(modules):
            c = modules[module]
            print(f"{module}: {c['real']} starting processes, {c['unit']} unit")
    print(
        f"{len(modules)} test modules: {len(real_modules)} start real processes, {len(unit_modules)} are unit "
        f"tests only; {tests_real + tests_unit} tests: {tests_real} start real processes, {tests_unit} are unit tests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
