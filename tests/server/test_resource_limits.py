"""Running out of file descriptors while creating a topic is an error code, not a dropped connection."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess


def test_create_topic_beyond_the_fd_limit_answers_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_popen = subprocess.Popen

    def limited_popen(*args, **kwargs):
        kwargs["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", limited_popen)
    broker = BrokerProcess(tmp_path).start()
    monkeypatch.setattr(subprocess, "Popen", real_popen)
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        with pytest.raises(KafkaException) as exc:
            admin.create_topics([NewTopic("too-many", num_partitions=200, replication_factor=1)])[
                "too-many"
            ].result(30)
        assert "Could not create the logs of topic 'too-many'" in str(exc.value)
        # The broker still serves, and the failed topic left nothing behind.
        admin.create_topics([NewTopic("fits", num_partitions=2, replication_factor=1)])["fits"].result(30)
        topics = admin.list_topics(timeout=10).topics
        assert "fits" in topics and "too-many" not in topics
        assert not any(p.name.startswith("too-many-") for p in broker.log_dirs.iterdir())
    finally:
        broker.kill()
