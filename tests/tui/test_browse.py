"""The message browser against a real broker (and a real schema registry for Avro): decoded values
in the list, a filter that sees decoded values and headers, paging both ways, jumping to an offset
or a time, a live tail that stops following when the user moves, tombstones marked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from textual.widgets import DataTable, Input

from kcli.cluster_view.decode import registry_avro_decoder
from kcli.cluster_view.kafka import KafkaSource
from kcli.schema_registry import avro_schema
from kcli.schema_registry.client import SchemaRegistryClient
from kcli.schema_registry.serde import encode
from kcli.tui.app import KcliApp
from kcli.tui.screens.messages import MessagesScreen
from tests.broker_process import BrokerProcess
from tests.schema_registry.helpers import RegistryProcess
from tests.tui.helpers import column, rows, sync, wait_for

SIZE = (160, 45)
BASE_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def topic(bootstrap: str, prefix: str, partitions: int = 1) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)
    return name


def make_app(bootstrap: str, **kwargs: object) -> KcliApp:
    return KcliApp(KafkaSource(bootstrap, timeout_s=5.0), refresh_scale=0.2, **kwargs)  # type: ignore[arg-type]


async def open_browser(pilot, app: KcliApp, name: str) -> MessagesScreen:
    app.open_messages(name)
    await wait_for(pilot, lambda: isinstance(app.screen, MessagesScreen), what="messages screen")
    screen = app.screen
    await wait_for(pilot, lambda: screen.loads > 0, what="first page")
    return screen


@pytest.fixture
def registry(shared_broker: BrokerProcess, tmp_path: Path) -> Iterator[RegistryProcess]:
    proc = RegistryProcess(
        tmp_path, shared_broker.bootstrap, topic=f"_schemas_{uuid.uuid4().hex[:8]}"
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


@sync
async def test_avro_values_decoded_in_the_list_and_filtered_with_headers(
    shared_broker: BrokerProcess, registry: RegistryProcess
) -> None:
    bootstrap = shared_broker.bootstrap
    name = topic(bootstrap, "avro")
    schema_text = (
        '{"type": "record", "name": "Customer", "fields": '
        '[{"name": "id", "type": "int"}, {"name": "name", "type": "string"}]}'
    )
    schema_id = SchemaRegistryClient(registry.url).register(f"{name}-value", schema_text)
    schema = avro_schema.parse(schema_text)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i, person in enumerate(("Ann", "Bob", "Eve")):
        headers = [("trace", f"tracking-{40 + i}".encode())]
        producer.produce(
            name, key=f"c{i}", value=encode(schema_id, schema, {"id": i, "name": person}), headers=headers
        )
    producer.produce(name, key=b"plain", value=b'{"kind": "json", "n": 1}')
    assert producer.flush(15) == 0
    app = make_app(bootstrap, avro_decoder=registry_avro_decoder(registry.url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, app, name)
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 4, what="4 records")
        values = column(pilot, "#messages", 4)
        assert values[:3] == ['{"id":0,"name":"Ann"}', '{"id":1,"name":"Bob"}', '{"id":2,"name":"Eve"}'], (
            values
        )
        assert values[3] == '{"kind": "json", "n": 1}'
        # The filter matches a decoded Avro field and a header value, case-insensitively.
        screen.query_one("#filter", Input).value = "bob"
        await wait_for(pilot, lambda: column(pilot, "#messages", 3) == ["c1"], what="Bob by its Avro field")
        screen.query_one("#filter", Input).value = "TRACKING-42"
        await wait_for(pilot, lambda: column(pilot, "#messages", 3) == ["c2"], what="Eve by her header")


@sync
async def test_paging_both_ways_and_jumping_to_an_offset_or_a_time(shared_broker: BrokerProcess) -> None:
    bootstrap = shared_broker.bootstrap
    name = topic(bootstrap, "paged")
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(450):
        producer.produce(name, value=f"record-{i}".encode(), timestamp=BASE_TS + i * 1000)
    assert producer.flush(15) == 0
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, app, name)
        offsets = lambda: [int(o) for o in column(pilot, "#messages", 1)]  # noqa: E731
        await wait_for(pilot, lambda: offsets() == list(range(200)), what="first page 0-199")
        assert "at log start" in str(screen.query_one("#messages-summary").content)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: offsets() == list(range(400)), what="next page: 0-399")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: offsets() == list(range(450)), what="last page: 0-449")
        assert "at log end" in str(screen.query_one("#messages-summary").content)

        # The newest records, then pages back towards the log start.
        screen.query_one("#start").value = "end"
        await wait_for(pilot, lambda: offsets() == list(range(250, 450)), what="last records 250-449")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: offsets() == list(range(50, 450)), what="a page back: 50-449")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: offsets() == list(range(450)), what="back to the log start")

        # g jumps: a number is an offset, a date a time.
        await pilot.press("g")
        assert screen.focused is screen.query_one("#position", Input)
        screen.query_one("#position", Input).value = "300"
        await pilot.press("enter")
        await wait_for(pilot, lambda: offsets() == list(range(300, 450)), what="from offset 300")
        await pilot.press("g")
        screen.query_one("#position", Input).value = "2026-01-01T00:01:40Z"  # record 100's timestamp
        await pilot.press("enter")
        await wait_for(pilot, lambda: offsets()[:1] == [100] and len(offsets()) == 200, what="from 00:01:40")


@sync
async def test_live_tail_stops_following_when_the_user_moves(shared_broker: BrokerProcess) -> None:
    bootstrap = shared_broker.bootstrap
    name = topic(bootstrap, "tailed")
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})

    def produce(prefix: str, count: int) -> None:
        for i in range(count):
            producer.produce(name, value=f"{prefix}-{i}".encode())
        assert producer.flush(15) == 0

    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, app, name)
        table = screen.query_one("#messages", DataTable)
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.tail_ready, what="tail positioned")
        produce("first", 5)
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 5, what="5 tailed")
        assert table.cursor_row == 4  # following: on the newest

        await pilot.press("up", "up")  # the user reads record first-2
        assert table.cursor_row == 2
        produce("second", 5)
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 10, what="5 more tailed")
        assert table.cursor_row == 2 and "first-2" in screen.detail_text
        assert "paused" in str(screen.query_one("#messages-summary").content)

        await pilot.press("F")  # follow again
        produce("third", 2)
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 12, what="2 more tailed")
        await wait_for(pilot, lambda: table.cursor_row == 11, what="following the newest again")
        assert "following" in str(screen.query_one("#messages-summary").content)


@sync
async def test_tombstones_are_marked(shared_broker: BrokerProcess) -> None:
    bootstrap = shared_broker.bootstrap
    name = topic(bootstrap, "compacted")
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(name, key=b"user-1", value=b"alive")
    producer.produce(name, key=b"user-1", value=None)
    assert producer.flush(15) == 0
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, app, name)
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 2, what="2 records")
        assert column(pilot, "#messages", 4) == ["alive", "⊘ tombstone"]
        await pilot.press("down")
        await wait_for(
            pilot, lambda: "tombstone: a null value for a key" in screen.detail_text, what="detail"
        )
