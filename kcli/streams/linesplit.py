"""The Kafka Streams tutorial's ``myapps.LineSplit``: each line of ``streams-plaintext-input`` split
on ``\\W+`` (Java's ``split``, case kept) into one record per word on ``streams-linesplit-output``
(application id ``streams-linesplit``, String serdes)."""

from __future__ import annotations

import re
import sys
from typing import Any

from kcli.streams.app import application, java_split, run_demo

DEFAULTS = {"application.id": "streams-linesplit", "auto.offset.reset": "earliest"}
_NON_WORD = re.compile(r"\W+", re.ASCII)


def build(props: dict[str, str]) -> Any:
    app = application(props)
    source = app.topic("streams-plaintext-input", key_deserializer="str", value_deserializer="str")
    output = app.topic("streams-linesplit-output", key_serializer="str", value_serializer="str")
    app.dataframe(source).apply(lambda line: java_split(line or "", _NON_WORD), expand=True).to_topic(output)
    return app


def main(argv: list[str] | None = None) -> int:
    return run_demo("LineSplit", argv, DEFAULTS, build)


if __name__ == "__main__":
    sys.exit(main())
