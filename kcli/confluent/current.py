"""``CONFLUENT_CURRENT``: the run directory of ``confluent local services``.

As in Confluent Platform, each service gets ``<current>/<service>/`` with its data, its
generated properties file, its pid file and its output (``<service>.stdout``). The directory is
``$CONFLUENT_CURRENT/confluent.<6 digits>`` (``$CONFLUENT_CURRENT`` defaults to the system's
temporary directory) and is remembered in ``$KCLI_HOME/confluent.current`` so later commands
(``status``, ``stop``, ``current``, ``destroy``) find the same run.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from kcli.paths import kcli_home


def _pointer() -> Path:
    return kcli_home() / "confluent.current"


def existing() -> Path | None:
    """The current run directory, if one was created and still exists."""
    try:
        path = Path(_pointer().read_text().strip())
    except OSError:
        return None
    return path if path.is_dir() else None


def get(create: bool = True) -> Path:
    """The current run directory, created (and remembered) on first use."""
    found = existing()
    if found is not None or not create:
        return found or Path()
    parent = Path(os.environ.get("CONFLUENT_CURRENT") or tempfile.gettempdir()).expanduser()
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        path = parent / f"confluent.{random.randint(100000, 999999)}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    pointer = _pointer()
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(f"{path}\n")
    return path


def forget() -> None:
    _pointer().unlink(missing_ok=True)


def service_dir(service: str) -> Path:
    path = get() / service
    path.mkdir(parents=True, exist_ok=True)
    return path
