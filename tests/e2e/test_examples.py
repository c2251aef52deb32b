"""``examples/avg_age.py`` computes what the lecture's Spark job computes (Spark SQL semantics)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("avg_age", ROOT / "examples" / "avg_age.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lecture_records() -> None:
    records = [
        b'{"id": 1, "firstname": "James", "lastname": "Bond", "age": 35}',
        b'{"id": 2, "firstname": "Harry", "lastname": "Potter", "age": 16}',
        b'{"id": 3, "firstname": "Bobin", "lastname": "Hook", "age": 37}',
    ]
    result = load_example().aggregate(records)
    # Spark's to_json(struct(avg_age, count)) for these three records.
    assert json.dumps(result, separators=(",", ":")) == '{"avg_age":29.333333333333332,"count":3}'


def test_bad_records_count_but_have_no_age() -> None:
    """count(*) counts every row; avg ignores the nulls from_json gives unparsable values."""
    result = load_example().aggregate([b'{"age": 20}', b"not json", None, b'{"age": "x"}'])
    assert result == {"avg_age": 20.0, "count": 4}
    # No age at all: Spark's avg is null and to_json leaves the field out.
    assert load_example().aggregate([b"{}"]) == {"count": 1}
