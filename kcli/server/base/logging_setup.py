"""Log lines in Kafka's style: ``[2026-01-01 12:00:00,000] INFO [KafkaServer id=0] started (kafka.server.KafkaServer)``.

Students compare our output with the slides and with real Kafka logs, so the shape is Kafka's:
timestamp with milliseconds after a comma, level, message, and the logger name in parentheses.
"""

from __future__ import annotations

import logging
import sys
import time

#: log4j's level names where Python's differ (Kafka logs ``WARN``, never ``WARNING``).
LOG4J_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL"}


class KafkaFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        level = LOG4J_LEVELS.get(record.levelname, record.levelname)
        text = f"[{ts},{int(record.msecs):03d}] {level} {record.getMessage()} ({record.name})"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(stream: object = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)  # type: ignore[arg-type]
    handler.setFormatter(KafkaFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
