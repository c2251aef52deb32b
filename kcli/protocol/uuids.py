"""Kafka's ``Uuid`` as both halves use it: random ids and their text form (cluster, topic and
directory ids).
"""

from __future__ import annotations

import base64
import uuid


def encode_cluster_id(value: uuid.UUID) -> str:
    """Kafka's cluster ids are a UUID in URL-safe base64 without padding (22 characters)."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def random_uuid() -> uuid.UUID:
    """A random id as Kafka's ``Uuid.randomUuid`` makes them: never one whose text form starts
    with ``-`` (it would read as an option in ``--topic-id ID`` or ``-t ID``)."""
    while True:
        value = uuid.uuid4()
        if not encode_cluster_id(value).startswith("-"):
            return value
