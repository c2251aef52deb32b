"""``org.apache.kafka.streams.examples.pipe.PipeDemo`` (and ``myapps.Pipe``): every record of
``streams-plaintext-input`` copied, key and value bytes unchanged, to ``streams-pipe-output``
(application id ``streams-pipe``)."""

from __future__ import annotations

import sys
from typing import Any

from kcli.streams.app import application, run_demo

DEFAULTS = {"application.id": "streams-pipe", "auto.offset.reset": "earliest"}


def build(props: dict[str, str]) -> Any:
    app = application(props)
    source = app.topic("streams-plaintext-input", key_deserializer="bytes", value_deserializer="bytes")
    output = app.topic("streams-pipe-output", key_serializer="bytes", value_serializer="bytes")
    app.dataframe(source).to_topic(output)
    return app


def main(argv: list[str] | None = None) -> int:
    return run_demo("PipeDemo", argv, DEFAULTS, build)


if __name__ == "__main__":
    sys.exit(main())
