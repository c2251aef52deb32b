"""Unit tests: the human/json/yaml printing reproduces the Confluent CLI's own expected outputs
(the cases of its ``pkg/output/table_test.go``)."""

from __future__ import annotations

from kcli.confluent.output import Field, render_list, render_table


def row(current: bool, number: int, name: str, description: str) -> list[Field]:
    return [
        Field("Current", "is_current", current),
        Field("ID", "id", number),
        Field("Name", "name", name),
        Field("Description", "description", description, omitempty=True),
    ]


def test_one_object_in_every_format() -> None:
    one = row(True, 1, "lkc-123456", "Example Cluster")
    assert render_table(one) == (
        "+-------------+-----------------+\n"
        "| Current     | true            |\n"
        "| ID          | 1               |\n"
        "| Name        | lkc-123456      |\n"
        "| Description | Example Cluster |\n"
        "+-------------+-----------------+\n"
    )
    assert render_table(one, "json") == (
        '{\n  "is_current": true,\n  "id": 1,\n  "name": "lkc-123456",\n  "description": "Example Cluster"\n}\n'
    )
    assert (
        render_table(one, "yaml")
        == "is_current: true\nid: 1\nname: lkc-123456\ndescription: Example Cluster\n"
    )


def test_omitempty_hides_the_row() -> None:
    assert render_table(row(True, 1, "lkc-123456", "")) == (
        "+---------+------------+\n| Current | true       |\n| ID      | 1          |\n| Name    | lkc-123456 |\n+---------+------------+\n"
    )


def test_list_is_sorted_with_centred_headers() -> None:
    rows = [row(False, 2, "lkc-222222", "Cluster 2"), row(True, 1, "lkc-111111", "Cluster 1")]
    human = [
        [
            Field(f.human, f.serialized, ("*" if f.value else " ") if f.human == "Current" else f.value)
            for f in r
        ]
        for r in rows
    ]
    assert render_list(human) == (
        "  Current | ID |    Name    | Description  \n"
        "----------+----+------------+--------------\n"
        "  *       |  1 | lkc-111111 | Cluster 1    \n"
        "          |  2 | lkc-222222 | Cluster 2    \n"
    )
    assert render_list(rows, "yaml") == (
        "- is_current: true\n  id: 1\n  name: lkc-111111\n  description: Cluster 1\n"
        "- is_current: false\n  id: 2\n  name: lkc-222222\n  description: Cluster 2\n"
    )


def test_empty_list() -> None:
    assert render_list([]) == "None found.\n"
    assert render_list([], "json") == "[]\n"
    assert render_list([], "yaml") == "[]\n"
