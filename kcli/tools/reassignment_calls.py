"""kafka-reassign-partitions' calls to the cluster: List/AlterPartitionReassignments, configs, assignments.

The calls confluent-kafka lacks are sent with kio over PLAINTEXT (:mod:`kcli.tools.cluster_wire`);
errors are reported as Kafka's tool reports them (the Java exception's name and message).
"""

from __future__ import annotations

from typing import Any

TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4  # ConfigResource types


class Failed(Exception):
    """Kafka's tool prints these on stdout (``Error: `` prefixed unless terse) and exits 1."""

    def __init__(self, message: str, terse: bool = False):
        super().__init__(message)
        self.text = message if terse else f"Error: {message}"


EXCEPTIONS = {
    3: "UnknownTopicOrPartitionException",
    7: "TimeoutException",
    31: "ClusterAuthorizationException",
    39: "InvalidReplicaAssignmentException",
    40: "InvalidConfigurationException",
    41: "NotControllerException",
    85: "NoReassignmentInProgressException",
}


def exception_text(code: int, message: str | None) -> str:
    name = EXCEPTIONS.get(code, "ApiException")
    return f"org.apache.kafka.common.errors.{name}: {message or 'error code ' + str(code)}"


def tp_text(tp: tuple[str, int]) -> str:
    return f"{tp[0]}-{tp[1]}"


def list_reassignments(
    view: Any, partitions: list[tuple[str, int]] | None = None
) -> dict[tuple[str, int], Any]:
    topics = None
    if partitions is not None:
        by_topic: dict[str, list[int]] = {}
        for t, p in partitions:
            by_topic.setdefault(t, []).append(p)
        topics = [{"name": t, "partition_indexes": ps} for t, ps in by_topic.items()]
    response = view.request(46, 0, {"timeout": 30000, "topics": topics})
    if int(response.error_code):
        raise Failed(exception_text(int(response.error_code), response.error_message))
    return {(t.name, int(p.partition_index)): p for t in response.topics for p in t.partitions}


def alter_reassignments(
    view: Any, targets: dict[tuple[str, int], list[int] | None]
) -> dict[tuple[str, int], str]:
    """AlterPartitionReassignments; the failed partitions with their exception text."""
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (t, p), replicas in targets.items():
        by_topic.setdefault(t, []).append({"partition_index": p, "replicas": replicas})
    body = {"timeout": 30000, "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()]}
    response = view.request(45, 0, body)
    if int(response.error_code):
        text = exception_text(int(response.error_code), response.error_message)
        return {tp: text for tp in targets}
    errors = {}
    for t in response.responses:
        for p in t.partitions:
            if int(p.error_code):
                errors[(t.name, int(p.partition_index))] = p.error_message or exception_text(
                    int(p.error_code), None
                )
    return errors


def alter_configs(view: Any, resources: list[tuple[int, str, list[tuple[str, str | None, int]]]]) -> None:
    """IncrementalAlterConfigs; a broker's resource goes to that broker, as the Java admin sends it."""
    for rtype, name, ops in resources:
        body = {
            "resources": [
                {
                    "resource_type": rtype,
                    "resource_name": name,
                    "configs": [{"name": k, "config_operation": op, "value": v} for k, v, op in ops],
                }
            ],
            "validate_only": False,
        }
        node = int(name) if rtype == BROKER_RESOURCE else None
        response = view.request(44, 0, body, node_id=node)
        for r in response.responses:
            if int(r.error_code):
                raise Failed(exception_text(int(r.error_code), r.error_message))


def assignment_of(view: Any, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], list[int]]:
    topics = sorted({t for t, _ in wanted})
    view.load(topics)
    for t in topics:
        if t in view.topic_errors:
            raise Failed(
                f"org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic {t} not found."
            )
    found = {(t, p): view.topics[t][p] for t, p in wanted if p in view.topics.get(t, {})}
    missing = [tp for tp in wanted if tp not in found]
    if missing:
        raise Failed(
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Unable to find partition: "
            + ", ".join(tp_text(tp) for tp in missing)
        )
    return found
