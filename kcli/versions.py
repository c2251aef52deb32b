"""The Apache Kafka and Confluent Platform releases kcli matches, and what ``--version`` prints.

Neutral ground for both halves: the tools, Connect and the broker's own start-up commands print
the same version, as every Java tool prints ``AppInfoParser.getVersion()``.
"""

from __future__ import annotations

import os
import sys

#: The Apache Kafka release whose tools and protocol kcli matches, and Confluent Platform's build
#: of it: CP 7.9 ships Kafka 3.9 as ``7.9.0-ccs`` (the version its ``bin/kafka-topics`` prints).
KAFKA_VERSION = "3.9.0"
CONFLUENT_VERSION = "7.9.0-ccs"


def kafka_version() -> str:
    """What ``--version`` prints, as the Java tools do (``AppInfoParser.getVersion()``).

    Under ``$CONFLUENT_HOME`` a tool called by its Confluent name (``kafka-topics``, no ``.sh``) is
    Confluent Platform's and prints ``7.9.0-ccs``; the Apache names (``kafka-topics.sh``) and
    ``python -m`` print Apache Kafka's ``3.9.0``. kcli's own version is ``kcli --version``.
    """
    name = os.path.basename(sys.argv[0] if sys.argv else "")
    confluent = bool(os.environ.get("CONFLUENT_HOME")) and name.startswith(
        ("kafka-", "zookeeper-", "schema-")
    )
    return CONFLUENT_VERSION if confluent and not name.endswith(".sh") else KAFKA_VERSION
