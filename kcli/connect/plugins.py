"""Finding connectors by ``connector.class``, as Kafka's ``Plugins`` does, plus Python plug-ins.

Kafka accepts a connector's full class name, its simple name, or the simple name without the
``Connector`` suffix (the quickstart's ``connector.class=FileStreamSource``). The same aliases work
here for the built-in connectors; any other value is tried as a Python dotted path
(``package.module.Class`` or ``package.module:Class``) after the worker's ``plugin.path``
directories were put on the import path. Java jars in ``plugin.path`` (the quickstart appends
``plugin.path=libs/connect-file-<version>.jar``) are accepted and skipped with a log line: the
FileStream connectors they hold are built in.
"""

from __future__ import annotations

import logging

from kcli.connect import KAFKA_VERSION
from kcli.connect.api import Connector, SinkConnector, SourceConnector
from kcli.connect.errors import ConnectError
from kcli.connect.plugin_path import load_python_class

log = logging.getLogger("org.apache.kafka.connect.runtime.isolation.Plugins")


def builtin_connectors() -> dict[str, type[Connector]]:
    from kcli.connect.file_stream import FileStreamSinkConnector, FileStreamSourceConnector

    return {
        "org.apache.kafka.connect.file.FileStreamSinkConnector": FileStreamSinkConnector,
        "org.apache.kafka.connect.file.FileStreamSourceConnector": FileStreamSourceConnector,
    }


def plugin_desc(name: str, cls: type[Connector]) -> str:
    """Kafka's ``PluginDesc.toString`` for the "available connectors are" message."""
    kind = "sink" if issubclass(cls, SinkConnector) else "source"
    return (
        f"PluginDesc{{klass=class {name}, name='{name}', version='{KAFKA_VERSION}', "
        f"encodedVersion={KAFKA_VERSION}, type={kind}, typeName='{kind}', location='classpath'}}"
    )


def connector_class(name: str) -> type[Connector]:
    """The class ``connector.class`` names; ConnectError with Kafka's message when none matches."""
    name = name.strip()
    builtins = builtin_connectors()
    if name in builtins:
        return builtins[name]
    matches = [cls for full, cls in builtins.items() if full.rsplit(".", 1)[1] in (name, name + "Connector")]
    if len(matches) == 1:
        return matches[0]
    cls = load_python_class(name)
    if isinstance(cls, type) and issubclass(cls, (SourceConnector, SinkConnector)):
        return cls
    available = ", ".join(plugin_desc(n, c) for n, c in sorted(builtins.items()))
    raise ConnectError(
        f"Failed to find any class that implements Connector and which name matches {name}, "
        f"available connectors are: {available}"
    )


def class_name(name: str) -> str:
    """The full class name Kafka reports for ``connector.class`` (aliases resolved)."""
    cls = connector_class(name)
    for full, builtin in builtin_connectors().items():
        if builtin is cls:
            return full
    return name


def connector_type(name: str) -> str:
    return "sink" if issubclass(connector_class(name), SinkConnector) else "source"


def plugin_list(connectors_only: bool = True) -> list[dict[str, str]]:
    """``GET /connector-plugins``: ``[{"class": ..., "type": ..., "version": ...}]``."""
    out = [
        {
            "class": name,
            "type": "sink" if issubclass(cls, SinkConnector) else "source",
            "version": KAFKA_VERSION,
        }
        for name, cls in sorted(builtin_connectors().items())
    ]
    if not connectors_only:
        from kcli.connect.converters import CONVERTERS, HEADER_CONVERTERS

        out += [{"class": name, "type": "converter", "version": KAFKA_VERSION} for name in sorted(CONVERTERS)]
        out += [
            {"class": name, "type": "header_converter", "version": KAFKA_VERSION}
            for name in sorted(HEADER_CONVERTERS)
        ]
    return out
