"""``kafka-configs --add-config`` parsing, as Kafka's ConfigCommand splits it."""

from __future__ import annotations

import pytest

from kcli.tools.cli import ToolError
from kcli.tools.configs import split_add_config


def test_pairs_split_on_commas_outside_brackets() -> None:
    assert split_add_config("retention.ms=1000, cleanup.policy=[compact,delete]") == {
        "retention.ms": "1000",
        "cleanup.policy": "compact,delete",
    }


def test_equals_inside_brackets_stays_in_the_value() -> None:
    assert split_add_config("sasl.jaas.config=[a=b]") == {"sasl.jaas.config": "a=b"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("retention.ms", 'all configs to be added must be in the format "key=val"'),
        ("a=b=c", 'all configs to be added must be in the format "key=val"'),
        ("bad key=1", "Invalid character found for config key: bad key"),
    ],
)
def test_malformed_input_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        split_add_config(text)
