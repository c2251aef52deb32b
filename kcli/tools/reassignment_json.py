"""kafka-reassign-partitions' JSON files: the reassignment plan read and written as Kafka's tool does."""

from __future__ import annotations

import json
from typing import Any

from kcli.tools.reassignment_calls import (
    Failed,
)

ANY_LOG_DIR = "any"


def read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise Failed(path) from None  # NoSuchFileException's message is the path
    except OSError as exc:
        raise Failed(f"{path}: {exc.strerror}") from None


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Failed(f"com.fasterxml.jackson.core.JsonParseException: {exc}") from None


def java_list(items: list[Any]) -> str:
    return "[" + ", ".join(map(str, items)) + "]"


def parse_reassignment(
    text: str,
) -> tuple[list[tuple[tuple[str, int], list[int]]], dict[tuple[str, int, int], str]]:
    """The partitions and their target replicas (in file order, duplicates kept for the
    checks), and the log dir of each replica that names one."""
    data = parse_json(text)
    if not isinstance(data, dict):
        raise Failed("The input string is not a valid JSON")
    version = data.get("version", 1)
    if version != 1:
        raise Failed(f"Not supported version field value {version}")
    parts: list[tuple[tuple[str, int], list[int]]] = []
    dirs: dict[tuple[str, int, int], str] = {}
    for entry in data.get("partitions") or []:
        try:
            topic, partition, replicas = (
                str(entry["topic"]),
                int(entry["partition"]),
                [int(r) for r in entry["replicas"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Failed(f"com.fasterxml.jackson.databind.JsonMappingException: {exc}") from None
        log_dirs = entry.get("log_dirs") or [ANY_LOG_DIR] * len(replicas)
        if len(log_dirs) != len(replicas):
            raise Failed(
                f"Size of replicas list {java_list(replicas)} is different from size of log dirs list "
                f"{java_list(log_dirs)} for partition {topic}-{partition}"
            )
        parts.append(((topic, partition), replicas))
        for replica, log_dir in zip(replicas, log_dirs, strict=True):
            if log_dir != ANY_LOG_DIR:
                dirs[(topic, partition, replica)] = str(log_dir)
    return parts, dirs


def format_reassignment_json(assignment: dict[tuple[str, int], list[int]]) -> str:
    """Kafka's formatAsReassignmentJson: compact, partitions sorted by topic then partition."""
    partitions = [
        {
            "topic": t,
            "partition": p,
            "replicas": assignment[(t, p)],
            "log_dirs": [ANY_LOG_DIR] * len(assignment[(t, p)]),
        }
        for t, p in sorted(assignment)
    ]
    return json.dumps({"version": 1, "partitions": partitions}, separators=(",", ":"), ensure_ascii=False)
