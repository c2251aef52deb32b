"""Converters by Java class name: what ``key.converter``/``value.converter`` name, with their settings.

A converter has ``configure(configs, is_key)``, ``from_connect_data(topic, schema, value) -> bytes``
and ``to_connect_data(topic, bytes) -> (schema, value)``, as Kafka's ``Converter``. Settings reach
it with the ``key.converter.``/``value.converter.`` prefix removed (``value.converter.schemas.enable``
becomes ``schemas.enable``), as Kafka's worker does. A dotted Python path names a user's converter.
"""

from __future__ import annotations

from typing import Any

from kcli.connect.avro_converter import AvroConverter
from kcli.connect.json_converter import JsonConverter
from kcli.connect.plugin_path import load_python_class
from kcli.connect.simple_converters import (
    BooleanConverter,
    ByteArrayConverter,
    DoubleConverter,
    FloatConverter,
    IntegerConverter,
    LongConverter,
    ShortConverter,
    StringConverter,
)

CONVERTERS: dict[str, type] = {
    "org.apache.kafka.connect.json.JsonConverter": JsonConverter,
    "org.apache.kafka.connect.storage.StringConverter": StringConverter,
    "org.apache.kafka.connect.converters.ByteArrayConverter": ByteArrayConverter,
    "org.apache.kafka.connect.converters.BooleanConverter": BooleanConverter,
    "org.apache.kafka.connect.converters.DoubleConverter": DoubleConverter,
    "org.apache.kafka.connect.converters.FloatConverter": FloatConverter,
    "org.apache.kafka.connect.converters.IntegerConverter": IntegerConverter,
    "org.apache.kafka.connect.converters.LongConverter": LongConverter,
    "org.apache.kafka.connect.converters.ShortConverter": ShortConverter,
    "io.confluent.connect.avro.AvroConverter": AvroConverter,
}

#: Header converters are accepted by name; kcli copies headers as raw bytes (SimpleHeaderConverter's
#: behaviour for byte arrays).
HEADER_CONVERTERS = frozenset(
    {
        "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        "org.apache.kafka.connect.storage.StringConverter",
        "org.apache.kafka.connect.converters.ByteArrayConverter",
        "org.apache.kafka.connect.json.JsonConverter",
    }
)


def converter_class(name: str) -> type | None:
    """The converter class for a Java class name, a simple name, or a Python dotted path."""
    name = name.strip()
    if name in CONVERTERS:
        return CONVERTERS[name]
    for java, cls in CONVERTERS.items():
        if java.rsplit(".", 1)[1] == name:
            return cls
    cls = load_python_class(name)
    if cls is not None and callable(getattr(cls, "from_connect_data", None)):
        return cls
    return None


def sub_configs(config: dict[str, str], prefix: str) -> dict[str, Any]:
    """Settings under ``prefix`` with the prefix removed (``value.converter.`` -> converter settings)."""
    return {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}


def make_converter(name: str, configs: dict[str, Any], is_key: bool) -> Any:
    """A configured converter; raises ConnectError naming the class when it cannot be found."""
    from kcli.connect.errors import ConnectError

    cls = converter_class(name)
    if cls is None:
        raise ConnectError(
            f"Failed to find any class that implements Converter and which name matches {name}, "
            f"available converters are: {', '.join(CONVERTERS)}"
        )
    converter = cls()
    converter.configure(configs, is_key)
    return converter
