"""``connect-standalone``: Connect's REST answers and errors, a failing task, and kill -9 mid-copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, free_port
from tests.connect.helpers import WorkerProcess, rest
from tests.e2e.helpers import wait_until


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("connect-broker")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def worker(broker: BrokerProcess, tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(
        tmp_path, broker.bootstrap, "standalone", {"offset.storage.file.filename": str(tmp_path / "offsets")}
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def _task_state(port: int, name: str) -> list[str]:
    reply = rest(port, "GET", f"/connectors/{name}/status")
    return [t["state"] for t in reply.body.get("tasks", [])] if reply.status == 200 else []


def test_rest_errors_leave_the_worker_running(worker: WorkerProcess, tmp_path: Path) -> None:
    port = worker.port
    root = rest(port, "GET", "/")
    assert root.status == 200 and set(root.body) == {"version", "commit", "kafka_cluster_id"}

    unknown = rest(
        port, "POST", "/connectors", {"name": "x", "config": {"connector.class": "com.example.Nope"}}
    )
    assert unknown.status == 500  # Kafka's answer for an unknown class (Plugins' ConnectException)
    assert unknown.body["error_code"] == 500
    assert unknown.body["message"].startswith(
        "Failed to find any class that implements Connector and which name matches com.example.Nope, "
        "available connectors are: PluginDesc{klass=class org.apache.kafka.connect.file.FileStreamSinkConnector"
    )

    bad = rest(
        port,
        "POST",
        "/connectors",
        {
            "name": "bad",
            "config": {"connector.class": "FileStreamSource", "value.converter": "com.example.NopeConverter"},
        },
    )
    assert bad.status == 400
    assert bad.body == {
        "error_code": 400,
        "message": "Connector configuration is invalid and contains the following 2 error(s):\n"
        "Invalid value com.example.NopeConverter for configuration value.converter: Class com.example.NopeConverter "
        "could not be found.\n"
        'Missing required configuration "topic" which has no default value.\n'
        "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
    }
    no_topics = rest(
        port, "POST", "/connectors", {"name": "s", "config": {"connector.class": "FileStreamSink"}}
    )
    assert (
        no_topics.status == 400
        and "Must configure one of topics or topics.regex" in no_topics.body["message"]
    )
    mismatch = rest(
        port, "PUT", "/connectors/one/config", {"name": "two", "connector.class": "FileStreamSink"}
    )
    assert mismatch.body == {
        "error_code": 400,
        "message": "Connector name configuration (two) doesn't match connector name in the URL (one)",
    }
    missing = rest(port, "GET", "/connectors/nope")
    assert (missing.status, missing.body) == (404, {"error_code": 404, "message": "Connector nope not found"})
    assert rest(port, "DELETE", "/connectors/nope").status == 404
    not_json = rest(port, "GET", "/no/such/path")
    assert not_json.status == 404 and not_json.body["error_code"] == 404

    config = {"connector.class": "FileStreamSource", "file": str(tmp_path / "in.txt"), "topic": "rest-test"}
    created = rest(port, "POST", "/connectors", {"name": "src", "config": config})
    assert created.status == 201
    again = rest(port, "POST", "/connectors", {"name": "src", "config": config})
    assert (again.status, again.body) == (409, {"error_code": 409, "message": "Connector src already exists"})
    assert rest(port, "GET", "/connectors").body == ["src"]
    tasks = rest(port, "GET", "/connectors/src/tasks").body
    assert [t["id"] for t in tasks] == [{"connector": "src", "task": 0}]
    assert tasks[0]["config"]["file"] == config["file"] and tasks[0]["config"]["topic"] == "rest-test"
    assert rest(port, "PUT", "/connectors/src/pause").status == 202
    assert wait_until(
        lambda: rest(port, "GET", "/connectors/src/status").body["connector"]["state"] == "PAUSED"
    )
    assert wait_until(lambda: _task_state(port, "src") == ["PAUSED"])
    assert rest(port, "PUT", "/connectors/src/resume").status == 202
    assert wait_until(lambda: _task_state(port, "src") == ["RUNNING"])
    assert rest(port, "POST", "/connectors/src/restart").status == 204
    restarted = rest(port, "POST", "/connectors/src/restart?includeTasks=true")
    assert restarted.status == 202 and restarted.body["tasks"][0]["state"] == "RESTARTING"
    assert wait_until(lambda: _task_state(port, "src") == ["RUNNING"])
    plugins = rest(port, "GET", "/connector-plugins").body
    assert {
        "class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "type": "source",
        "version": "3.9.0",
    } in plugins
    validated = rest(
        port,
        "PUT",
        "/connector-plugins/FileStreamSinkConnector/config/validate",
        {"name": "v", "topics": "t"},
    )
    assert validated.status == 200
    assert validated.body["name"] == "org.apache.kafka.connect.file.FileStreamSinkConnector"
    assert validated.body["error_count"] == 0
    assert "Common" in validated.body["groups"]
    assert rest(port, "DELETE", "/connectors/src").status == 204
    assert rest(port, "GET", "/connectors").body == []
    assert worker.proc is not None and worker.proc.poll() is None


def test_a_sink_that_cannot_write_fails_alone(worker: WorkerProcess, tmp_path: Path) -> None:
    port = worker.port
    good_file = tmp_path / "good.txt"
    for name, target in (("bad-sink", tmp_path / "no-such-dir" / "out.txt"), ("good-sink", good_file)):
        reply = rest(
            port,
            "POST",
            "/connectors",
            {
                "name": name,
                "config": {
                    "connector.class": "FileStreamSink",
                    "file": str(target),
                    "topics": "sink-fault-test",
                },
            },
        )
        assert reply.status == 201, reply.body
    assert wait_until(lambda: _task_state(port, "bad-sink") == ["FAILED"], 30)
    task = rest(port, "GET", "/connectors/bad-sink/tasks/0/status").body
    assert task["state"] == "FAILED" and task["worker_id"] == worker.worker_id
    assert task["trace"].startswith(
        f"org.apache.kafka.connect.errors.ConnectException: Couldn't find or create file '{tmp_path / 'no-such-dir' / 'out.txt'}' for FileStreamSinkTask"
    )
    assert wait_until(lambda: _task_state(port, "good-sink") == ["RUNNING"], 30)
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\n")
    reply = rest(
        port,
        "POST",
        "/connectors",
        {
            "name": "fault-src",
            "config": {
                "connector.class": "FileStreamSource",
                "file": str(source),
                "topic": "sink-fault-test",
            },
        },
    )
    assert reply.status == 201
    assert wait_until(lambda: good_file.exists() and good_file.read_text() == "one\ntwo\n", 30)
    assert _task_state(port, "bad-sink") == ["FAILED"]


def test_kill_9_mid_copy_loses_no_line(broker: BrokerProcess, tmp_path: Path) -> None:
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    lines = [f"record {i:06d}" for i in range(20000)]
    source.write_text("".join(line + "\n" for line in lines))
    src_props, sink_props = tmp_path / "src.properties", tmp_path / "sink.properties"
    src_props.write_text(
        f"name=kill-src\nconnector.class=FileStreamSource\nfile={source}\ntopic=kill-test\nbatch.size=100\n"
    )
    sink_props.write_text(f"name=kill-sink\nconnector.class=FileStreamSink\nfile={sink}\ntopics=kill-test\n")
    settings = {
        "offset.storage.file.filename": str(tmp_path / "offsets"),
        "consumer.session.timeout.ms": "6000",
    }
    worker = WorkerProcess(
        tmp_path / "w", broker.bootstrap, "standalone", settings, [src_props, sink_props]
    ).start()
    try:
        assert wait_until(lambda: sink.exists() and len(sink.read_text().splitlines()) >= 2000, 60), (
            worker.text()
        )
        worker.kill()
        worker.start()

        def caught_up() -> bool:
            # Every line, and the replayed duplicates written too: the topic's last record is the
            # file's last line, so the sink has caught up when it has written that line last.
            written = sink.read_text().splitlines()
            return set(written) >= set(lines) and written[-1] == lines[-1]

        assert wait_until(caught_up, 120), worker.text()
        written = sink.read_text().splitlines()
        assert set(written) == set(lines)  # nothing lost, nothing invented; duplicates only from the replay
    finally:
        worker.stop()


def test_worker_started_before_its_broker_waits_for_it(tmp_path: Path) -> None:
    """A lab script may start the worker and the broker together: the worker waits for the
    broker (saying so once), as Java's worker does within default.api.timeout.ms."""
    import threading

    port = free_port()
    worker = WorkerProcess(
        tmp_path / "worker",
        f"127.0.0.1:{port}",
        "standalone",
        {"offset.storage.file.filename": str(tmp_path / "offsets")},
    )
    late = BrokerProcess(tmp_path / "broker", port=port)
    failures: list[BaseException] = []

    def start_broker_once_the_worker_waits() -> None:
        try:
            wait_until(lambda: "Broker may not be available" in worker.text(), timeout_s=60)
            late.start()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    starter = threading.Thread(target=start_broker_once_the_worker_waits, daemon=True)
    starter.start()
    try:
        worker.start(timeout=120)
        starter.join(timeout=60)
        assert not failures, failures
        root = rest(worker.port, "GET", "/")
        assert root.status == 200 and root.body["kafka_cluster_id"]
    finally:
        worker.stop()
        starter.join(timeout=60)
        late.stop()
