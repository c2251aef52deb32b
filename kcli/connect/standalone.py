"""``connect-standalone worker.properties [connector1.properties connector2.json ...]``.

One worker that runs every connector itself: configs and statuses in memory, source offsets in
``offset.storage.file.filename``. The connector files named on the command line (Kafka's
``.properties`` or a ``.json`` file, either ``{"name": ..., "config": {...}}`` or a flat map) are
created at start-up; a connector that cannot be created stops the worker with its error, as
Kafka's ``ConnectStandalone`` does. The REST API works as in distributed mode.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

from kcli.connect.config_store import ConfigStore
from kcli.connect.errors import ConnectError
from kcli.connect.herder import Herder
from kcli.connect.offsets import FileOffsetStore
from kcli.connect.runtime import cluster_id, run
from kcli.connect.status_store import StatusStore
from kcli.connect.worker_config import WorkerConfig
from kcli.properties import load_properties

log = logging.getLogger("org.apache.kafka.connect.cli.ConnectStandalone")


class StandaloneHerder(Herder):
    """Changes take effect before the REST call returns (Kafka's StandaloneHerder is synchronous too)."""

    def _settle(self) -> None:
        self.reconcile()


def read_connector_file(path: str) -> dict[str, str]:
    try:
        if path.endswith(".json"):
            with open(path, "rb") as handle:
                data: Any = orjson.loads(handle.read())
            if isinstance(data, dict) and isinstance(data.get("config"), dict):
                config = {str(k): str(v) for k, v in data["config"].items()}
                if data.get("name") is not None:
                    config.setdefault("name", str(data["name"]))
                return config
            if isinstance(data, dict):
                return {str(k): str(v) for k, v in data.items()}
            raise ConnectError(f"{path}: a connector JSON file holds an object")
        return load_properties(path)
    except FileNotFoundError:
        raise ConnectError(f"{path} (No such file or directory)") from None
    except orjson.JSONDecodeError as exc:
        raise ConnectError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise ConnectError(f"{path} ({exc.strerror or exc})") from None


def build(config: WorkerConfig, connector_files: list[str]) -> Herder:
    configs = [read_connector_file(path) for path in connector_files]
    offsets = FileOffsetStore(config.props["offset.storage.file.filename"])
    offsets.start()
    herder = StandaloneHerder(config, ConfigStore(), StatusStore(), offsets)
    herder.cluster_id = cluster_id(config)
    herder.pending_connectors = configs  # type: ignore[attr-defined]
    return herder


def create_connectors(herder: Herder) -> None:
    for config in getattr(herder, "pending_connectors", []):
        name = config.get("name")
        if not name:
            raise ConnectError('Connector properties need a "name"')
        herder.put_connector_config(name, config, allow_replace=False)
        log.info("Created connector %s", name)


def main(argv: list[str] | None = None) -> int:
    return run("connect-standalone", argv, False, build, create_connectors)


if __name__ == "__main__":
    sys.exit(main())
