"""Topic sizes on disk through DescribeLogDirs, for client libraries that lack the call.

confluent-kafka's AdminClient has no ``describe_log_dirs`` (up to 2.16 at least), yet "how big is
this topic" is one of the first questions a student asks. On PLAINTEXT listeners this module
sends the one request itself, encoded by ``kio`` (dataclasses generated from Kafka's message
schemas), to every broker. On secured listeners it does nothing and the table shows ``-``:
re-implementing TLS/SASL for one column is not worth the risk.
"""

from __future__ import annotations

from typing import Any

from kcli.protocol.connection import BrokerConnection
from kcli.protocol.errors import error_code

_API_KEY = 35  # DescribeLogDirs
_VERSION = 1  # not flexible: plain request header v1, response header v0


def plaintext(conf: dict[str, Any]) -> bool:
    """True when the client settings speak unencrypted, unauthenticated Kafka."""
    return str(conf.get("security.protocol", "PLAINTEXT")).upper() == "PLAINTEXT"


def topic_sizes(host: str, port: int, timeout_s: float = 5.0) -> dict[str, int]:
    """Bytes on disk per topic on one broker (all its log directories, all partitions)."""
    with BrokerConnection(host, port, timeout_s, "kcli-tui") as conn:
        response = conn.exchange([(_API_KEY, _VERSION, {"topics": None})])[0]
    sizes: dict[str, int] = {}
    for result in response.results:
        if error_code(result.error_code) != 0:
            continue
        for topic in result.topics:
            total = sum(int(p.partition_size) for p in topic.partitions)
            sizes[topic.name] = sizes.get(topic.name, 0) + total
    return sizes
