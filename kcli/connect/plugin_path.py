"""Python plug-ins on ``plugin.path``: the directories put on the import path, a class loaded by name.

Kept apart from :mod:`kcli.connect.plugins` (connectors) because converters load user classes the
same way, and the connector registry lists the converters: both import this module, not each other.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("org.apache.kafka.connect.runtime.isolation.Plugins")


def add_plugin_path(value: str | None) -> None:
    """Put ``plugin.path`` directories on ``sys.path``; jars are noted and skipped."""
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        path = Path(item).expanduser()
        if item.endswith((".jar", ".zip")) or not path.is_dir():
            log.info(
                "Skipping plugin path entry %s: kcli runs Python connectors; the FileStream connectors are built in",
                item,
            )
            continue
        resolved = str(path.resolve())
        if resolved not in sys.path:
            sys.path.insert(0, resolved)
            log.info("Loading plugins from %s", resolved)


def load_python_class(name: str) -> Any | None:
    """``package.module.Class`` or ``package.module:Class``; None when it cannot be imported."""
    module_name, sep, attr = name.partition(":")
    if not sep:
        module_name, _, attr = name.rpartition(".")
    if not module_name or not attr or not all(part.isidentifier() for part in module_name.split(".")):
        return None
    try:
        module = importlib.import_module(module_name)
    except Exception:  # an import error inside a user's plug-in is reported as "not found" below
        log.debug("Could not import %s", module_name, exc_info=True)
        return None
    return getattr(module, attr, None)
