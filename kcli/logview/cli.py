"""``kcli log draw TOPIC[-PARTITION]`` and ``kcli log xray TOPIC-PARTITION OFFSET``: the teaching
views in a plain terminal, for a lab script or a slide, against any cluster (read-only).

``draw`` prints each partition as a strip of offset cells with its batches, segments and markers
(see :mod:`kcli.logview.draw`); without a partition it draws every partition of the topic, which
shows where keyed records landed. ``xray`` lays one record's bytes out field by field.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from kcli.cluster_view.kafka import KafkaSource


class LogCommandError(Exception):
    """One line for the user; exit status 1."""


def open_source(bootstrap: str, command_config: str | None) -> KafkaSource:
    from kcli.cluster_view.kafka import KafkaSource
    from kcli.cluster_view.source import KafkaDataError, error_text

    try:
        return KafkaSource(bootstrap, command_config)
    except (KafkaDataError, OSError, ValueError) as exc:
        raise LogCommandError(str(exc)) from None
    except Exception as exc:  # kcli.client's ToolError for a bad config file
        raise LogCommandError(error_text(exc)) from None


def resolve_target(source: KafkaSource, target: str) -> tuple[str, list[int]]:
    """``orders`` -> every partition of orders; ``orders-2`` -> partition 2 (unless a topic is
    named ``orders-2``: an existing topic's full name wins, as it is what the user typed)."""
    from kcli.cluster_view.source import KafkaDataError

    try:
        md = source._metadata()
    except KafkaDataError as exc:
        raise LogCommandError(str(exc)) from None
    if target in md.topics:
        return target, sorted(md.topics[target].partitions)
    name, _, number = target.rpartition("-")
    if name and number.isdigit():
        if name not in md.topics:
            raise LogCommandError(f"Topic '{name}' does not exist (nor does a topic named '{target}')")
        partitions = md.topics[name].partitions
        if int(number) not in partitions:
            raise LogCommandError(f"Topic '{name}' has no partition {number} (it has {len(partitions)})")
        return name, [int(number)]
    raise LogCommandError(f"Topic '{target}' does not exist")


def draw_command(
    target: str,
    bootstrap: str,
    command_config: str | None,
    first: int | None,
    count: int | None,
    keys: bool,
    width: int | None,
    groups: bool,
    console: Console | None = None,
) -> int:
    from kcli.cluster_view.source import KafkaDataError
    from kcli.logview.draw import draw

    console = console or Console(width=width, highlight=False, soft_wrap=False)
    source = open_source(bootstrap, command_config)
    try:
        topic, partitions = resolve_target(source, target)
        columns = width or console.width
        for i, partition in enumerate(partitions):
            cells = count or _default_count(columns, keys, len(partitions))
            try:
                log = source.partition_log(topic, partition, first, cells, with_groups=groups)
            except KafkaDataError as exc:
                raise LogCommandError(str(exc)) from None
            if i:
                console.print()
            for line in draw(log, columns, keys=keys, legend=i == len(partitions) - 1):
                console.print(line, overflow="fold")
    finally:
        source.close()
    return 0


def _default_count(columns: int, keys: bool, partitions: int) -> int:
    """One row of cells per partition for a whole topic, three for a single partition."""
    cell = 6 if keys else 5
    rows = 1 if partitions > 1 else 3
    return max(8, (columns - 2) // cell * rows)


def xray_command(
    target: str,
    offset: int,
    bootstrap: str,
    command_config: str | None,
    registry_url: str | None,
    width: int | None,
    console: Console | None = None,
) -> int:
    from kcli.cluster_view.local_lab import local_registry_url
    from kcli.cluster_view.source import KafkaDataError
    from kcli.logview.xray import xray
    from kcli.logview.xray_render import render
    from kcli.logview.xray_schemas import registry_lookup

    console = console or Console(width=width, highlight=False, soft_wrap=False)
    source = open_source(bootstrap, command_config)
    try:
        topic, partitions = resolve_target(source, target)
        if len(partitions) != 1:
            if len(partitions) > 1:
                raise LogCommandError(
                    f"Name the partition: {topic}-0 .. {topic}-{max(partitions)} (TOPIC-PARTITION)"
                )
            raise LogCommandError(f"Topic '{topic}' has no partitions")
        url = registry_url or source.extra.get("schema.registry.url") or local_registry_url(bootstrap)
        try:
            found = source.record_batch(topic, partitions[0], offset)
        except KafkaDataError as exc:
            raise LogCommandError(str(exc)) from None
        result = xray(topic, partitions[0], offset, found.raw, registry_lookup(url))
        for line in render(result, width or console.width):
            console.print(line, overflow="fold")
    finally:
        source.close()
    return 0


def run(action: object) -> int:
    """Run a command function, turning its one-line errors into stderr and exit status 1."""
    try:
        return int(action())  # type: ignore[operator]
    except LogCommandError as exc:
        print(f"kcli log: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
