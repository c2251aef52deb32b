"""API handlers, one module per API family; importing this package registers them all."""

import importlib
import pkgutil

from kcli.server.apis.registry import APIS, ApiSpec, RequestContext, api


def load_all() -> dict[int, ApiSpec]:
    """Import every handler module of this package (each registers itself) and return the table."""
    for info in pkgutil.iter_modules(__path__):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return APIS


__all__ = ["APIS", "ApiSpec", "RequestContext", "api", "load_all"]
