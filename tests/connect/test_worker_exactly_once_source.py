"""Unit tests of the distributed worker's ``exactly.once.source.support`` (KIP-618): Kafka's values
are taken, and anything but ``disabled`` is refused with one line, since kcli's source tasks do
not write in transactions (never at-least-once while exactly-once is asked for)."""

from __future__ import annotations

import pytest

from kcli.connect.errors import ConfigError
from kcli.connect.worker_config import load

DISTRIBUTED = {
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    "group.id": "connect-cluster",
    "config.storage.topic": "connect-configs",
    "offset.storage.topic": "connect-offsets",
    "status.storage.topic": "connect-status",
}


def test_disabled_is_the_default_and_accepted() -> None:
    assert load(dict(DISTRIBUTED), distributed=True).distributed
    assert load({**DISTRIBUTED, "exactly.once.source.support": "DISABLED"}, distributed=True).distributed


@pytest.mark.parametrize("support", ["enabled", "preparing", "Enabled"])
def test_exactly_once_source_support_is_refused(support: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load({**DISTRIBUTED, "exactly.once.source.support": support}, distributed=True)
    assert str(refused.value) == (
        f"exactly.once.source.support={support.lower()} is not supported: kcli's Connect worker does not "
        "write source records in transactions (KIP-618); use exactly.once.source.support=disabled"
    )


def test_an_unknown_value_gets_kafkas_message() -> None:
    with pytest.raises(ConfigError) as refused:
        load({**DISTRIBUTED, "exactly.once.source.support": "always"}, distributed=True)
    assert str(refused.value) == (
        "Invalid value always for configuration exactly.once.source.support: "
        "String must be one of (case insensitive): disabled, preparing, enabled"
    )
